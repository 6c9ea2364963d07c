import { readingEventType, toEnvelope } from '../domain/cloud-event';
import { BackendError, TelemetryError } from '../domain/errors';
import { uuidv7 } from '../domain/ids';
import type { Reading, ReadingInput } from '../domain/reading';
import { checkReading, type Rejection, type RejectionCode, type ValidationRules } from '../domain/validation';
import type { Caller } from '../domain/caller';
import { PartialProduceError, type ProduceRecord, type RecordPosition, type Stream } from '../stream/stream';
import type { DeviceDirectory } from '../devices/device-directory';

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

export interface IngestServiceOptions {
  readonly stream: Stream;
  readonly devices: DeviceDirectory;
  readonly rules: ValidationRules;
  /** Most readings in one call. */
  readonly maxBatchSize: number;
  /** CloudEvents type prefix: events are typed `<prefix>.reading.v1`. */
  readonly eventTypePrefix: string;
  /** Called after readings were durably appended (e.g. to wake the consumer). */
  readonly onProduced?: () => void;
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

  constructor(private readonly options: IngestServiceOptions) {
    this.eventType = readingEventType(options.eventTypePrefix);
  }

  /** `batchSize` is the request's item count when some items were dropped before (HTTP envelopes). */
  async ingest(caller: Caller, inputs: readonly ReadingInput[], batchSize: number = inputs.length): Promise<IngestOutcome> {
    const { rules, maxBatchSize, devices } = this.options;
    if (batchSize > maxBatchSize) {
      throw new TelemetryError('PAYLOAD_TOO_LARGE', `a batch holds at most ${maxBatchSize} readings; this one has ${batchSize}`, {
        details: { limit: maxBatchSize, size: batchSize },
      });
    }
    if (batchSize === 0) throw new TelemetryError('BAD_USER_INPUT', 'the batch is empty');
    const now = (this.options.now ?? Date.now)();
    const rejected: RejectedReading[] = [];
    const candidates: { index: number; input: ReadingInput }[] = [];
    for (let index = 0; index < inputs.length; index++) {
      const input = inputs[index]!;
      const rejection = checkReading(input, rules, now) ?? checkDeviceScope(caller, input.deviceId);
      if (rejection) rejected.push({ index, code: rejection.code, message: rejection.message });
      else candidates.push({ index, input });
    }

    const known = await devices.existing(
      caller.tenantId,
      candidates.map((c) => c.input.deviceId),
    );
    const clientEventIds = new Set<string>();
    // Positions are filled in once the stream has assigned them.
    const accepted: { -readonly [K in keyof AcceptedReading]: AcceptedReading[K] }[] = [];
    const records: ProduceRecord[] = [];
    for (const { index, input } of candidates) {
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
      // Copy only the known fields: HTTP clients may send extra ones, which must not reach the stream.
      const metrics = input.metrics.map(({ name, value }) => ({ name, value }));
      const reading: Reading = { tenantId: caller.tenantId, deviceId: input.deviceId, eventId, timestamp: input.timestamp, metrics };
      records.push({ key: `${reading.tenantId}/${reading.deviceId}`, value: JSON.stringify(toEnvelope(reading, this.options.eventTypePrefix)) });
      accepted.push({ index, eventId, deviceId: input.deviceId, partition: -1, offset: -1 });
    }
    if (rejected.length > 1) rejected.sort((a, b) => a.index - b.index);
    if (records.length === 0) return { accepted: [], rejected };

    let positions: readonly (RecordPosition | undefined)[];
    try {
      positions = await this.options.stream.produce('readings', records);
    } catch (error) {
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
    accepted.forEach((item, i) => {
      const position = positions[i];
      if (position) stored.push({ ...item, partition: position.partition, offset: position.offset });
      else
        rejected.push({
          index: item.index,
          code: 'STREAM_UNAVAILABLE',
          message: 'the stream did not accept this reading (others of the batch were stored); send it again',
        });
    });
    if (stored.length < accepted.length) rejected.sort((a, b) => a.index - b.index);
    return { accepted: stored, rejected };
  }
}

/** A device key may ingest only for its own device; any other id looks unknown (no existence leak). */
function checkDeviceScope(caller: Caller, deviceId: string): Rejection | undefined {
  if (caller.role === 'device' && caller.deviceId !== deviceId) {
    return { code: 'UNKNOWN_DEVICE', message: `no device "${deviceId}" is registered` };
  }
  return undefined;
}
