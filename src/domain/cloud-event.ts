import type { Metric, Reading } from './reading';
import { jsonNumber, jsonString } from './json-text';
import { utcText } from './utc-text';
import { DEVICE_ID_PATTERN } from './validation';

/** CloudEvents 1.0 structured-mode envelope of a reading, as it is stored in the stream. */
export interface ReadingEnvelope {
  readonly specversion: '1.0';
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly time: string;
  readonly subject: string;
  readonly datacontenttype: 'application/json';
  /** Extension attribute: the tenant that owns the device. */
  readonly tenantid: string;
  /** CloudEvents distributed-tracing extension: the W3C trace context of the request that produced it (absent when tracing is off). */
  readonly traceparent?: string;
  readonly tracestate?: string;
  /**
   * Extension attribute: "import" on history an admin loaded (POST /import), which stores like
   * any reading but is not the device being seen (liveness). Absent on live readings.
   */
  readonly telemetryorigin?: ReadingOrigin;
  readonly data: { readonly deviceId: string; readonly timestamp: number; readonly metrics: readonly Metric[] };
}

/** Where a reading came from, when not from its device live. */
export type ReadingOrigin = 'import';

/**
 * The W3C trace context a message carries (CloudEvents distributed-tracing extension), as
 * plain text: the domain knows nothing of tracing, it only keeps the two fields intact.
 */
export interface TraceCarrier {
  readonly traceparent: string;
  readonly tracestate?: string;
}

export function readingEventType(prefix: string): string {
  return `${prefix}.reading.v1`;
}

export function toEnvelope(reading: Reading, typePrefix: string, trace?: TraceCarrier, origin?: ReadingOrigin): ReadingEnvelope {
  return {
    specversion: '1.0',
    id: reading.eventId,
    source: `/devices/${reading.deviceId}`,
    type: readingEventType(typePrefix),
    time: utcText(reading.timestamp),
    subject: reading.deviceId,
    datacontenttype: 'application/json',
    tenantid: reading.tenantId,
    ...(trace && { traceparent: trace.traceparent, ...(trace.tracestate !== undefined && { tracestate: trace.tracestate }) }),
    ...(origin && { telemetryorigin: origin }),
    data: { deviceId: reading.deviceId, timestamp: reading.timestamp, metrics: reading.metrics },
  };
}

/**
 * The stream message of a reading: exactly the text of `JSON.stringify(toEnvelope(reading,
 * typePrefix, trace))`, written out directly. Building the envelope object, then serialising it,
 * cost the ingest path several times more per reading, on the thread that serves requests.
 */
export function envelopeEncoder(typePrefix: string): (reading: Reading, trace?: TraceCarrier, origin?: ReadingOrigin) => string {
  const type = JSON.stringify(readingEventType(typePrefix));
  return (reading, trace, origin) => {
    const device = jsonString(reading.deviceId);
    let metrics = '';
    for (const { name, value } of reading.metrics) {
      metrics += `${metrics === '' ? '' : ','}{"name":${jsonString(name)},"value":${jsonNumber(value)}}`;
    }
    return (
      `{"specversion":"1.0","id":${jsonString(reading.eventId)},"source":${jsonString(`/devices/${reading.deviceId}`)},"type":${type},` +
      `"time":"${utcText(reading.timestamp)}","subject":${device},"datacontenttype":"application/json","tenantid":${jsonString(reading.tenantId)},` +
      (trace ? traceFields(trace) : '') +
      (origin ? `"telemetryorigin":${JSON.stringify(origin)},` : '') +
      `"data":{"deviceId":${device},"timestamp":${jsonNumber(reading.timestamp)},"metrics":[${metrics}]}}`
    );
  };
}

function traceFields(trace: TraceCarrier): string {
  return `"traceparent":${jsonString(trace.traceparent)},` + (trace.tracestate === undefined ? '' : `"tracestate":${jsonString(trace.tracestate)},`);
}

/** Result of decoding a stream message: a reading, or the reason it can never be applied. */
export type DecodedEnvelope =
  | {
      readonly ok: true;
      readonly reading: Reading;
      /** Present only when the message carries a traceparent. */
      readonly trace?: TraceCarrier;
      /** Present only on imported history (telemetryorigin "import"). */
      readonly origin?: ReadingOrigin;
    }
  | { readonly ok: false; readonly reason: string; readonly tenantId?: string };

/**
 * Decodes and re-checks a stream message. The stream may hold messages from other
 * producers or older versions, so nothing is trusted: anything off becomes a dead letter.
 */
export function fromEnvelope(text: string, typePrefix: string): DecodedEnvelope {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'message is not valid JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null) return { ok: false, reason: 'message is not a JSON object' };
  const event = parsed as Partial<Record<keyof ReadingEnvelope, unknown>>;
  const tenantId = typeof event.tenantid === 'string' ? event.tenantid : undefined;
  const fail = (reason: string): DecodedEnvelope => (tenantId === undefined ? { ok: false, reason } : { ok: false, reason, tenantId });
  if (event.specversion !== '1.0') return fail('specversion is not 1.0');
  if (event.type !== readingEventType(typePrefix)) return fail(`unexpected event type ${JSON.stringify(event.type)}`);
  if (typeof event.id !== 'string' || event.id.length === 0) return fail('event id is missing');
  if (tenantId === undefined || tenantId.length === 0) return fail('tenantid extension attribute is missing');
  const data = event.data as Partial<ReadingEnvelope['data']> | null | undefined;
  if (typeof data !== 'object' || data === null) return fail('data is missing');
  if (typeof data.deviceId !== 'string' || !DEVICE_ID_PATTERN.test(data.deviceId)) return fail('data.deviceId is invalid');
  if (typeof data.timestamp !== 'number' || !Number.isFinite(data.timestamp)) return fail('data.timestamp is invalid');
  if (!Array.isArray(data.metrics) || data.metrics.length === 0) return fail('data.metrics is empty');
  for (const metric of data.metrics as unknown[]) {
    const m = metric as Partial<Metric> | null;
    if (typeof m !== 'object' || m === null || typeof m.name !== 'string' || typeof m.value !== 'number' || !Number.isFinite(m.value)) {
      return fail('data.metrics holds an invalid metric');
    }
  }
  const reading: Reading = { tenantId, deviceId: data.deviceId, eventId: event.id, timestamp: data.timestamp, metrics: data.metrics as Metric[] };
  // Extensions: a message without them (older, tracing off, live) or with an unknown value is
  // still a reading; the tracer ignores a traceparent it cannot parse.
  const origin = event.telemetryorigin === 'import' ? { origin: 'import' as const } : {};
  if (typeof event.traceparent !== 'string') return { ok: true, reading, ...origin };
  const trace: TraceCarrier =
    typeof event.tracestate === 'string' ? { traceparent: event.traceparent, tracestate: event.tracestate } : { traceparent: event.traceparent };
  return { ok: true, reading, trace, ...origin };
}
