import type { Anomaly } from './anomaly';
import { anomalyDetails } from './anomaly-details';

/** A message for a notification topic: a readable title and body (email subject and text, SMS, chat). */
export interface NotificationMessage {
  readonly title: string;
  readonly body: string;
}

/** OCI Notifications refuses a message (title and body) over 64 KB. */
export const ONS_MAX_MESSAGE_BYTES = 64 * 1024;
/** Titles become email subjects and chat headlines: kept to one short line. */
export const MAX_TITLE_CHARS = 120;

const DETAILS_MARKER = '--- details (JSON) ---';

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

/**
 * The message announcing an anomaly: a title that says what and where, a body that a person
 * reads on a phone, then the JSON details (the same fields as a webhook's `anomaly`) after a
 * marker line, for subscribers that parse it (a function, a chat bot). Fits `maxBytes`: when
 * ids and names are so long that it would not, the details are left out first, then the
 * readable text is cut.
 */
export function anomalyNotification(anomaly: Anomaly, maxBytes: number = ONS_MAX_MESSAGE_BYTES): NotificationMessage {
  const what = anomaly.metric === null ? `${anomaly.kind} on device ${anomaly.deviceId}` : `${anomaly.kind} on ${anomaly.deviceId} / ${anomaly.metric}`;
  const fullTitle = `[${anomaly.severity}] ${what}`;
  const title = fullTitle.length > MAX_TITLE_CHARS ? `${fullTitle.slice(0, MAX_TITLE_CHARS - 1)}…` : fullTitle;
  const lines = [
    `${anomaly.severity} anomaly (${anomaly.kind}) in tenant ${anomaly.tenantId}`,
    `Device: ${anomaly.deviceId}`,
    ...(anomaly.metric === null ? [] : [`Metric: ${anomaly.metric}`]),
    ...(anomaly.value === null ? [] : [`Value: ${anomaly.value}`]),
    ...(anomaly.expectedMin === null && anomaly.expectedMax === null ? [] : [`Expected: ${anomaly.expectedMin ?? '-∞'} to ${anomaly.expectedMax ?? '+∞'}`]),
    `At: ${new Date(anomaly.timestamp).toISOString()}`,
    `Status: ${anomaly.status}${anomaly.occurrences > 1 ? ` (${anomaly.occurrences} occurrences)` : ''}`,
  ];
  const readable = lines.join('\n');
  const withDetails = `${readable}\n\n${DETAILS_MARKER}\n${JSON.stringify({ tenantId: anomaly.tenantId, anomaly: anomalyDetails(anomaly) })}`;
  const room = maxBytes - bytes(title);
  if (bytes(withDetails) <= room) return { title, body: withDetails };
  if (bytes(readable) <= room) return { title, body: readable };
  // Cut on a character boundary: the body stays valid UTF-8.
  let cut = readable;
  while (bytes(cut) > room) cut = cut.slice(0, Math.max(0, cut.length - Math.max(1, bytes(cut) - room)));
  return { title, body: cut };
}
