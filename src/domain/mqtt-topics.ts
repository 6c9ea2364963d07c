/**
 * The MQTT topics of one device, and what a device may do with them. Device ids are
 * `[A-Za-z0-9._:-]` (validation.ts): never `/`, `+` or `#`, so a topic splits unambiguously.
 *
 *  - `devices/{id}/readings`: the device publishes readings (any POST /ingest JSON payload);
 *  - `devices/{id}/errors`: the service tells the device why a message was refused;
 *  - `devices/{id}/commands/{name}`: commands to the device (sent by the service only).
 */

export const readingsTopic = (deviceId: string): string => `devices/${deviceId}/readings`;
export const errorsTopic = (deviceId: string): string => `devices/${deviceId}/errors`;

/** Why a device may not publish to or subscribe to a topic; undefined when it may. */
export type TopicRefusal = string | undefined;

/** A device publishes only its own readings. */
export function checkDevicePublish(deviceId: string, topic: string): TopicRefusal {
  if (topic === readingsTopic(deviceId)) return undefined;
  return `a device publishes only to ${readingsTopic(deviceId)}`;
}

/**
 * A device subscribes only under its own `devices/{id}/` prefix; wildcards may stand for the
 * levels below it (`devices/{id}/#`, `devices/{id}/commands/+`), never for the device id or the
 * prefix (`#`, `devices/+/errors`), nor shared (`$share/…`) or system (`$SYS/…`) topics.
 */
export function checkDeviceSubscribe(deviceId: string, filter: string): TopicRefusal {
  const prefix = `devices/${deviceId}/`;
  const refusal = `a device subscribes only to topics under ${prefix} (e.g. ${prefix}#)`;
  if (!filter.startsWith(prefix) || filter.length === prefix.length) return refusal;
  const levels = filter.slice(prefix.length).split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level === '#' && i !== levels.length - 1) return refusal;
    if (level !== '#' && level !== '+' && (level.includes('#') || level.includes('+'))) return refusal;
  }
  return undefined;
}

/** Whether a topic matches a subscription filter (`+` one level, `#` the rest). */
export function topicMatches(filter: string, topic: string): boolean {
  const filterLevels = filter.split('/');
  const topicLevels = topic.split('/');
  for (let i = 0; i < filterLevels.length; i++) {
    const level = filterLevels[i]!;
    if (level === '#') return true;
    if (i >= topicLevels.length) return false;
    if (level !== '+' && level !== topicLevels[i]) return false;
  }
  return filterLevels.length === topicLevels.length;
}
