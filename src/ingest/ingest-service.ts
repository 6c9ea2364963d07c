import { envelopeEncoder, readingEventType, type ReadingOrigin } from '../domain/cloud-event';
import { BackendError, TelemetryError } from '../domain/errors';
import { uuidv7 } from '../domain/ids';
import type { Reading, ReadingInput } from '../domain/reading';
import { checkReading, type Rejection, type RejectionCode, type ValidationRules } from '../domain/validation';
import type { Caller } from '../domain/caller';
import { PartialProduceError, type ProduceRecord, type RecordPosition, type Stream } from '../stream/stream';
import type { DeviceDirectory } from '../devices/device-directory';
import { contextFromHeaders, inSpan, SpanKind, startSend, type TraceHeaders } from '../tracing/tracing';

export interface AcceptedReading {
  /** Position of the item in the request. */
  readonly index: number;
  readonly eventId: string;
  readonly deviceId: string;
  readonly partition: number;
  readonly offset: number;
}

export interface RejectedReading {
  readonly index: number;
  readonly code: RejectionCode;
  readonly message: string;
}

export interface IngestOutcome {
  readonly accepted: AcceptedReading[];
  readonly rejected: RejectedReading[];
}

/** The transport a batch came through (a bounded metrics label). */
export type IngestPath = 'graphql' | 'http' | 'mqtt' | 'mqtt-bridge' | 'import';

/** Told about every ingest call that got as far as validating its items (metrics). */
export interface IngestObserver {
  /**
   * Per call, never per reading: one code per refused item, its RejectionCode, or UNAVAILABLE
   * for each when the stream refused the whole call (a bounded vocabulary either way).
   */
  ingested(path: IngestPath, batchSize: number, accepted: number, rejectedCodes: readonly (RejectionCode | 'UNAVAILABLE')[]): void;
  /** How long the stream took to accept the call's records. */
  produced(seconds: number): void;
}

/** Where a call came from, and what its transport refused before the service saw it. */
export interface IngestVia {
  /** @default 'graphql' */
  readonly path?: IngestPath;
  /** The request's item count, when the transport dropped some items before (HTTP envelopes). @default inputs.length */
  readonly batchSize?: number;
  /** Codes of the items the transport could not read (counted with the call's own rejections). */
  readonly refusedBefore?: readonly RejectionCode[];
  /**
   * How old a timestamp may be in this call, replacing the configured maximum age: an admin's
   * history import (ingest/history-import.ts) loads what normal ingest refuses.
   */
  readonly maxAgeMs?: number;
  /** The request's headers, for a W3C `traceparent` (the ingest span continues the client's trace). */
  readonly traceHeaders?: TraceHeaders;
}

export interface IngestServiceOptions {
  readonly stream: Stream;
  readonly devices: DeviceDirectory;
  readonly rules: ValidationRules;
  /** Most readings in one call. */
  readonly maxBatchSize: number;
  /** CloudEvents type prefix: events are typed `<prefix>.reading.v1`. */
  readonly eventTypePrefix: string;
  /**
   * How long the caller's tenant keeps raw readings, ms: older readings are refused
   * (TIMESTAMP_TOO_OLD), even on a history import, since retention would remove them and a
   * second copy would then be counted again. Unset: only `rules.maxAgeMs` applies.
   */
  readonly rawRetentionMs?: (tenantId: string) => Promise<number>;
  /** Called after readings were durably appended (e.g. to wake the consumer). */
  readonly onProduced?: () => void;
  readonly observer?: IngestObserver;
  readonly now?: () => number;
}

/**
 * validate -> CloudEvents envelope -> stream. A call answers only once the stream has
 * durably accepted the valid items; invalid items are reported per index and never written.
 * If the stream takes none, the whole call fails with a retryable UNAVAILABLE; if it takes
 * some (OCI Streaming), the others are rejected with STREAM_UNAVAILABLE, to be sent again.
 */
export class IngestService {
  /** The CloudEvents type of the readings it writes, and the only one HTTP ingest accepts. */
  readonly eventType: string;

  private readonly encode: ReturnType<typeof envelopeEncoder>;

  constructor(private readonly options: IngestServiceOptions) {
    this.eventType = readingEventType(options.eventTypePrefix);
    this.encode = envelopeEncoder(options.eventTypePrefix);
  }

  ingest(caller: Caller, inputs: readonly ReadingInput[], via: IngestVia = {}): Promise<IngestOutcome> {
    const { path = 'graphql', batchSize = inputs.length, refusedBefore = [], maxAgeMs } = via;
    const attributes = { 'telemetry.ingest.path': path, 'telemetry.tenant': caller.tenantId, 'messaging.batch.message_count': batchSize };
    return inSpan(
      'ingest readings',
      { kind: SpanKind.SERVER, attributes },
      async (span) => {
        let outcome: IngestOutcome;
        try {
          const retained = (await this.options.rawRetentionMs?.(caller.tenantId)) ?? Infinity;
          const oldest = Math.min(maxAgeMs ?? this.options.rules.maxAgeMs, retained);
          const rules = oldest === this.options.rules.maxAgeMs ? this.options.rules : { ...this.options.rules, maxAgeMs: oldest };
          outcome = await this.validateAndProduce(caller, inputs, batchSize, rules, path === 'import' ? 'import' : undefined);
        } catch (error) {
          // The whole call failed with UNAVAILABLE: the client sees every item refused, and so do the metrics.
          if (error instanceof TelemetryError && error.code === 'UNAVAILABLE')
            this.options.observer?.ingested(path, batchSize, 0, Array<'UNAVAILABLE'>(batchSize).fill('UNAVAILABLE'));
          throw error;
        }
        span.setAttributes({
          'telemetry.ingest.accepted': outcome.accepted.length,
          'telemetry.ingest.rejected': outcome.rejected.length + refusedBefore.length,
        });
        this.options.observer?.ingested(path, batchSize, outcome.accepted.length, [...refusedBefore, ...outcome.rejected.map((item) => item.code)]);
        return outcome;
      },
      contextFromHeaders(via.traceHeaders),
    );
  }

  /** `origin`: marks history an admin imports, which stores like any reading but is not its device being seen. */
  private async validateAndProduce(
    caller: Caller,
    inputs: readonly ReadingInput[],
    batchSize: number,
    rules: ValidationRules,
    origin: ReadingOrigin | undefined,
  ): Promise<IngestOutcome> {
    const { maxBatchSize, devices } = this.options;
    if (batchSize > maxBatchSize) {
      throw new TelemetryError('PAYLOAD_TOO_LARGE', `a batch holds at most ${maxBatchSize} readings; this one has ${batchSize}`, {
        details: { limit: maxBatchSize, size: batchSize },
      });
    }
    if (batchSize === 0) throw new TelemetryError('BAD_USER_INPUT', 'the batch is empty');
    const now = (this.options.now ?? Date.now)();
    const rejected: RejectedReading[] = [];
    // Indexes of the items that passed the checks, and their device ids.
    const candidates: number[] = [];
    const deviceIds: string[] = [];
    for (let index = 0; index < inputs.length; index++) {
      const input = inputs[index]!;
      const rejection = checkReading(input, rules, now) ?? checkDeviceScope(caller, input.deviceId);
      if (rejection) rejected.push({ index, code: rejection.code, message: rejection.message });
      else {
        candidates.push(index);
        deviceIds.push(input.deviceId);
      }
    }

    const tenantId = caller.tenantId;
    const known = await devices.existing(tenantId, deviceIds);
    const keyPrefix = `${tenantId}/`;
    const clientEventIds = new Set<string>();
    // Every message of the call carries the send span's context (the same text for all).
    const send = startSend('readings', candidates.length);
    // What will be accepted once the stream has assigned positions: item i of each array
    // belongs to records[i]. Parallel arrays: no object per reading until then.
    const acceptedIndexes: number[] = [];
    const eventIds: string[] = [];
    const records: ProduceRecord[] = [];
    for (const index of candidates) {
      const input = inputs[index]!;
      if (!known.has(input.deviceId)) {
        rejected.push({ index, code: 'UNKNOWN_DEVICE', message: `no device "${input.deviceId}" is registered` });
        continue;
      }
      let eventId: string;
      if (input.eventId === undefined || input.eventId === null) {
        eventId = uuidv7(now); // unique by construction: no duplicate check needed
      } else if (clientEventIds.has(input.eventId)) {
        rejected.push({ index, code: 'DUPLICATE_EVENT_ID', message: `eventId "${input.eventId}" appears more than once in this batch` });
        continue;
      } else {
        eventId = input.eventId;
        clientEventIds.add(eventId);
      }
      // The encoder writes only the fields a reading and its metrics have: extra ones an HTTP
      // client sent never reach the stream, so the metrics need no copy.
      const reading: Reading = { tenantId, deviceId: input.deviceId, eventId, timestamp: input.timestamp, metrics: input.metrics };
      records.push({ key: keyPrefix + input.deviceId, value: this.encode(reading, send.carrier, origin) });
      acceptedIndexes.push(index);
      eventIds.push(eventId);
    }
    if (rejected.length > 1) rejected.sort((a, b) => a.index - b.index);
    if (records.length === 0) {
      send.end();
      return { accepted: [], rejected };
    }

    let positions: readonly (RecordPosition | undefined)[];
    const producing = performance.now();
    try {
      positions = await this.options.stream.produce('readings', records);
      this.options.observer?.produced((performance.now() - producing) / 1000);
      send.end();
    } catch (error) {
      send.end(error);
      if (!(error instanceof PartialProduceError)) {
        throw new TelemetryError('UNAVAILABLE', 'the stream did not accept the readings; none was stored, retry later', {
          retryable: error instanceof BackendError ? error.retryable : true,
          cause: error,
        });
      }
      // Some were appended: report each item, so the client re-sends only the others (a
      // whole-batch retry would store the appended ones twice under new server event ids).
      positions = error.positions;
    }
    this.options.onProduced?.();
    const stored: AcceptedReading[] = [];
    for (let i = 0; i < records.length; i++) {
      const position = positions[i];
      const index = acceptedIndexes[i]!;
      if (position) stored.push({ index, eventId: eventIds[i]!, deviceId: inputs[index]!.deviceId, partition: position.partition, offset: position.offset });
      else
        rejected.push({
          index,
          code: 'STREAM_UNAVAILABLE',
          message: 'the stream did not accept this reading (others of the batch were stored); send it again',
        });
    }
    if (stored.length < records.length) rejected.sort((a, b) => a.index - b.index);
    return { accepted: stored, rejected };
  }
}

/**
 * A device key (or the MQTT bridge, sending as the device of a topic) may ingest only for its
 * own device. Any other id is UNKNOWN_DEVICE with the same message whether that device exists
 * or not (no existence leak), and a true one: it names the caller's device instead of claiming
 * the other is not registered.
 */
function checkDeviceScope(caller: Caller, deviceId: string): Rejection | undefined {
  if (caller.role === 'device' && caller.deviceId !== deviceId) {
    return { code: 'UNKNOWN_DEVICE', message: `readings sent as device "${caller.deviceId}" may name only that device, not "${deviceId}"` };
  }
  return undefined;
}
