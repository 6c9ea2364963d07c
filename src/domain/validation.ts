import type { Metric, ReadingInput } from './reading';
import { defineVocabulary, type ValueOf } from './vocabulary';

/** Why one item of an ingest call was rejected. One value per rule, so clients can act on it. */
export const REJECTION_CODES = defineVocabulary({
  INVALID_DEVICE_ID: 'deviceId is empty, too long, or has characters outside [A-Za-z0-9._:-].',
  UNKNOWN_DEVICE: "No device with this id is registered in the caller's tenant; or a device key named another device than its own.",
  INVALID_METRIC_COUNT: 'The reading has no metrics, or more than the configured maximum.',
  INVALID_METRIC_NAME: 'A metric name does not match the metric-name pattern.',
  DUPLICATE_METRIC: 'The same metric name appears twice in one reading.',
  INVALID_VALUE: 'A metric value is NaN, Infinity, or not a number.',
  INVALID_TIMESTAMP: 'The timestamp is missing or unparseable.',
  TIMESTAMP_IN_FUTURE: 'The timestamp is further in the future than the allowed clock skew.',
  TIMESTAMP_TOO_OLD: 'The timestamp is older than the allowed maximum age.',
  INVALID_EVENT_ID: 'The client event id is empty, too long or has forbidden characters.',
  DUPLICATE_EVENT_ID: 'The same client event id appears twice in one batch.',
  INVALID_ENVELOPE: '(HTTP ingest) the item is not a JSON object, a CloudEvent of another specversion than 1.0, or its data is not a JSON object.',
  MISSING_ATTRIBUTE: '(HTTP ingest) a required CloudEvents attribute (specversion, id, source, type) is absent; in binary mode, its ce- header.',
  INVALID_ATTRIBUTE: '(HTTP ingest) a CloudEvents attribute breaks its rule: empty id, source not a URI-reference, empty subject, ...',
  UNSUPPORTED_EVENT_TYPE: "(HTTP ingest) the CloudEvent's type is not the reading type this service accepts (`<prefix>.reading.v1`).",
  UNSUPPORTED_DATA_CONTENT_TYPE: "(HTTP ingest) the CloudEvent's data is not JSON: datacontenttype (binary mode: Content-Type) not JSON, or data_base64.",
  STREAM_UNAVAILABLE: 'The stream accepted other items of the batch but not this one (OCI Streaming); send it again.',
});
export type RejectionCode = ValueOf<typeof REJECTION_CODES>;

export interface Rejection {
  readonly code: RejectionCode;
  readonly message: string;
}

export interface ValidationRules {
  /** Most metrics one reading may carry. */
  readonly maxMetricsPerReading: number;
  /** How far ahead of the server clock a timestamp may be, in ms. */
  readonly maxFutureSkewMs: number;
  /** How far behind the server clock a timestamp may be, in ms. */
  readonly maxAgeMs: number;
}

export const DEVICE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
export const METRIC_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.]{0,63}$/;
export const EVENT_ID_PATTERN = /^[\x21-\x7e]{1,128}$/;

const reject = (code: RejectionCode, message: string): Rejection => ({ code, message });

/**
 * Checks one reading against every rule that needs no I/O (device existence is checked by
 * the caller). Returns the first broken rule, or undefined when the reading is valid.
 */
export function checkReading(input: ReadingInput, rules: ValidationRules, now: number): Rejection | undefined {
  if (typeof input.deviceId !== 'string' || !DEVICE_ID_PATTERN.test(input.deviceId)) {
    return reject('INVALID_DEVICE_ID', 'deviceId must be 1-128 characters of [A-Za-z0-9._:-], starting with a letter or digit');
  }
  const timestampRejection = checkTimestamp(input.timestamp, rules, now);
  if (timestampRejection) return timestampRejection;
  if (input.eventId !== undefined && input.eventId !== null && (typeof input.eventId !== 'string' || !EVENT_ID_PATTERN.test(input.eventId))) {
    return reject('INVALID_EVENT_ID', 'eventId must be 1-128 printable ASCII characters without spaces');
  }
  return checkMetrics(input.metrics, rules);
}

/** A limit as people say it: "365 days", "5 minutes", "1500 ms" (the largest unit it is a whole number of). */
export function readableDuration(ms: number): string {
  for (const [unit, size] of [
    ['day', 86_400_000],
    ['hour', 3_600_000],
    ['minute', 60_000],
    ['second', 1000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${unit}${ms === size ? '' : 's'}`;
  }
  return `${ms} ms`;
}

function checkTimestamp(timestamp: number, rules: ValidationRules, now: number): Rejection | undefined {
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp)) {
    return reject('INVALID_TIMESTAMP', 'timestamp must be an RFC 3339 date-time or epoch milliseconds');
  }
  if (timestamp > now + rules.maxFutureSkewMs) {
    return reject('TIMESTAMP_IN_FUTURE', `timestamp is more than ${readableDuration(rules.maxFutureSkewMs)} ahead of the server clock`);
  }
  if (timestamp < now - rules.maxAgeMs) {
    return reject('TIMESTAMP_TOO_OLD', `timestamp is more than ${readableDuration(rules.maxAgeMs)} in the past`);
  }
  return undefined;
}

/** `metrics` as the client sent it: its type is what this check establishes. */
function checkMetrics(input: unknown, rules: ValidationRules): Rejection | undefined {
  if (!Array.isArray(input) || input.length === 0 || input.length > rules.maxMetricsPerReading) {
    return reject('INVALID_METRIC_COUNT', `a reading carries 1 to ${rules.maxMetricsPerReading} metrics`);
  }
  const metrics: readonly unknown[] = input;
  // Small sets: a linear scan beats allocating a Set for the typical 1-5 metrics.
  for (let i = 0; i < metrics.length; i++) {
    const metric = metrics[i];
    if (typeof metric !== 'object' || metric === null || !('name' in metric) || typeof metric.name !== 'string' || !METRIC_NAME_PATTERN.test(metric.name)) {
      return reject('INVALID_METRIC_NAME', `metrics[${i}].name must match ${METRIC_NAME_PATTERN.source}`);
    }
    if (!('value' in metric) || typeof metric.value !== 'number' || !Number.isFinite(metric.value)) {
      return reject('INVALID_VALUE', `metrics[${i}].value must be a finite number`);
    }
    for (let j = 0; j < i; j++) {
      // Every metric before this one passed the checks above.
      if ((metrics[j] as Metric).name === metric.name) {
        return reject('DUPLICATE_METRIC', `metric "${metric.name}" appears more than once`);
      }
    }
  }
  return undefined;
}
