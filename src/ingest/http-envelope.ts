import type { IncomingHttpHeaders } from 'node:http';
import { TelemetryError } from '../domain/errors';
import { checkContextAttributes, type ContextAttributes } from '../domain/cloud-event-input';
import type { Metric, ReadingInput } from '../domain/reading';
import { readTimestamp } from '../domain/timestamp';
import type { Rejection } from '../domain/validation';
import { binaryAttributeName, binaryAttributes, type ContentType } from './http-binding';

/** One item of a POST /ingest body: a reading to validate, or why it could not even be read. */
export type ParsedItem = { readonly ok: true; readonly input: ReadingInput } | ({ readonly ok: false } & Rejection);

const invalidEnvelope = (message: string): ParsedItem => ({ ok: false, code: 'INVALID_ENVELOPE', message });

/**
 * A JSON body or message that is one item or an array of them, item by item (an empty array
 * is refused as a whole: there is nothing to answer per item).
 */
export function parseJsonItems(body: unknown, acceptedType: string, cloudEventsOnly: boolean): ParsedItem[] {
  const items: unknown[] = Array.isArray(body) ? body : [body];
  if (items.length === 0) throw new TelemetryError('BAD_USER_INPUT', 'the batch is empty');
  return items.map((item) => parseIngestItem(item, acceptedType, cloudEventsOnly));
}

/**
 * Turns one JSON item of POST /ingest into a ReadingInput. Accepted shapes:
 *  - a CloudEvent 1.0 (structured mode, or an item of a batch) whose attributes follow the
 *    specification (src/domain/cloud-event-input.ts) and whose type is `acceptedType`;
 *  - when `cloudEventsOnly` is false (`application/json`), an item without `specversion` is a
 *    plain reading: `{ deviceId, timestamp, metrics, eventId? }`.
 * In an event: `id` -> eventId, `data.deviceId` or `subject` or `source: /devices/<id>` ->
 * deviceId, `data.timestamp` or `time` -> timestamp, `data.metrics`. `metrics` is an array of
 * `{ name, value }` or an object `{ "temperature": 21.4 }`. Field values of the reading are
 * not judged here: the shared validation rules report them per item; only a timestamp is
 * refused here, with the reason its text was refused (`INVALID_TIMESTAMP`).
 */
export function parseIngestItem(item: unknown, acceptedType: string, cloudEventsOnly: boolean): ParsedItem {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return invalidEnvelope('each item must be a JSON object');
  const record = item as Record<string, unknown>;
  if (cloudEventsOnly || 'specversion' in record) {
    const checked = checkContextAttributes(record, acceptedType);
    return checked.ok ? readingFromEvent(checked.attributes, record['data'], 'data') : checked;
  }
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

/**
 * One event in binary content mode: attributes from the `ce-*` headers, data from the body.
 * `readData` is called only once the attributes are valid, the data's content type included,
 * since a body of another type must not be parsed as JSON.
 */
export function parseBinaryEvent(headers: IncomingHttpHeaders, contentType: ContentType, acceptedType: string, readData: () => unknown): ParsedItem {
  const read = binaryAttributes(headers, contentType);
  if (!read.ok) return read;
  const checked = checkContextAttributes(read.attributes, acceptedType, binaryAttributeName);
  return checked.ok ? readingFromEvent(checked.attributes, readData(), 'the body (the event data)') : checked;
}

function readingFromEvent(attributes: ContextAttributes, data: unknown, dataName: string): ParsedItem {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return invalidEnvelope(`${dataName} must be a JSON object holding the reading`);
  const body = data as Record<string, unknown>;
  const source = /^\/devices\/([^/]+)$/.exec(attributes.source)?.[1];
  const deviceId = body['deviceId'] ?? attributes.subject ?? source;
  let timestamp: number;
  if (body['timestamp'] !== undefined && body['timestamp'] !== null) {
    const parsed = readTimestamp(body['timestamp']);
    if (!parsed.ok) return { ok: false, code: 'INVALID_TIMESTAMP', message: `data.timestamp: ${parsed.reason}` };
    timestamp = parsed.ms;
  } else if (attributes.time !== undefined) {
    timestamp = attributes.time;
  } else {
    return { ok: false, code: 'INVALID_TIMESTAMP', message: 'timestamp is missing: give the time attribute or data.timestamp' };
  }
  return {
    ok: true,
    input: { deviceId: deviceId as string, timestamp, metrics: toMetrics(body['metrics']), eventId: attributes.id },
  };
}

function toMetrics(raw: unknown): Metric[] {
  if (Array.isArray(raw)) return raw as Metric[];
  if (typeof raw === 'object' && raw !== null) return Object.entries(raw).map(([name, value]) => ({ name, value: value as number }));
  return [];
}

const optionalString = (value: unknown): string | undefined => (value === undefined || value === null ? undefined : (value as string));
