import type { Metric, ReadingInput } from '../domain/reading';
import { readTimestamp } from '../domain/timestamp';
import type { Rejection } from '../domain/validation';

/** One item of a POST /ingest body: a reading to validate, or why it could not even be read. */
export type ParsedItem = { readonly ok: true; readonly input: ReadingInput } | ({ readonly ok: false } & Rejection);

const invalidEnvelope = (message: string): ParsedItem => ({ ok: false, code: 'INVALID_ENVELOPE', message });

/**
 * Turns one JSON item of POST /ingest into a ReadingInput. Accepted shapes:
 *  - a CloudEvent 1.0 (structured mode): `id` -> eventId, `subject` or `source: /devices/<id>`
 *    or `data.deviceId` -> deviceId, `data.timestamp` or `time` -> timestamp, `data.metrics`;
 *  - a plain reading: `{ deviceId, timestamp, metrics, eventId? }`.
 * `metrics` is an array of `{ name, value }` or an object `{ "temperature": 21.4 }`.
 * Field values are not judged here: the shared validation rules report them per item; only a
 * timestamp is refused here, with the reason its text was refused (`INVALID_TIMESTAMP`).
 */
export function parseIngestItem(item: unknown): ParsedItem {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return invalidEnvelope('each item must be a JSON object');
  const record = item as Record<string, unknown>;
  if ('specversion' in record) return parseCloudEvent(record);
  const timestamp = readTimestamp(record['timestamp']);
  if (!timestamp.ok) return { ok: false, code: 'INVALID_TIMESTAMP', message: timestamp.reason };
  return {
    ok: true,
    input: {
      deviceId: record['deviceId'] as string,
      timestamp: timestamp.ms,
      metrics: toMetrics(record['metrics']),
      eventId: optionalString(record['eventId']),
    },
  };
}

function parseCloudEvent(event: Record<string, unknown>): ParsedItem {
  if (event['specversion'] !== '1.0') return invalidEnvelope('specversion must be "1.0"');
  const data = event['data'];
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return invalidEnvelope('data must be a JSON object (structured mode with datacontenttype application/json)');
  }
  const body = data as Record<string, unknown>;
  const source = typeof event['source'] === 'string' ? /^\/devices\/([^/]+)$/.exec(event['source'])?.[1] : undefined;
  const deviceId = body['deviceId'] ?? event['subject'] ?? source;
  const timestamp = readTimestamp(body['timestamp'] ?? event['time']);
  if (!timestamp.ok) return { ok: false, code: 'INVALID_TIMESTAMP', message: timestamp.reason };
  return {
    ok: true,
    input: {
      deviceId: deviceId as string,
      timestamp: timestamp.ms,
      metrics: toMetrics(body['metrics']),
      eventId: optionalString(event['id']),
    },
  };
}

function toMetrics(raw: unknown): Metric[] {
  if (Array.isArray(raw)) return raw as Metric[];
  if (typeof raw === 'object' && raw !== null) return Object.entries(raw).map(([name, value]) => ({ name, value: value as number }));
  return [];
}

const optionalString = (value: unknown): string | undefined => (value === undefined || value === null ? undefined : (value as string));
