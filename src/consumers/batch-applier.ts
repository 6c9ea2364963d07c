import { fromEnvelope, type TraceCarrier } from '../domain/cloud-event';
import type { Anomaly, DeviceStatusChange } from '../domain/anomalies/anomaly';
import type { AppliedBatch, PartitionBatch } from '../domain/consumer-batch';
import type { NewDeadLetter } from '../domain/dead-letter';
import { BackendError } from '../domain/errors';
import type { PersistedReading, Reading } from '../domain/reading';
import { DEFAULT_RETRY_POLICY, retry, type RetryPolicy } from '../domain/retry';
import type { DeviceDirectory } from '../devices/device-directory';
import type { Logger } from '../logger';
import type { BatchStore } from '../store/ports/batch-store';
import type { StreamMessage } from '../stream/stream';
import { applyBatch } from './pipeline/apply-batch';
import type { DetectionOptions } from './pipeline/detection';

/** The anomalies and device status changes a batch committed, published after the commit. */
export interface DetectionEvents {
  readonly anomalies: Anomaly[];
  readonly statusChanges: DeviceStatusChange[];
}

/** What one applied round made visible. */
export interface AppliedRound {
  /** Readings that became visible (only their newly stored metrics), in offset order. */
  readonly persisted: PersistedReading[];
  readonly events: DetectionEvents;
  /** Readings skipped because their event id was stored already. */
  readonly duplicates: number;
  /** Messages set aside as dead letters as they were decoded (malformed, unknown device). */
  readonly deadLetters: number;
}

export interface BatchApplierOptions {
  readonly store: BatchStore;
  readonly devices: DeviceDirectory;
  readonly logger: Logger;
  readonly eventTypePrefix: string;
  /** What detection takes from the configuration. @default DEFAULT_DETECTION_OPTIONS */
  readonly detection?: DetectionOptions;
  readonly retryPolicy?: RetryPolicy;
  /**
   * Stops retrying an unavailable database (the last error is thrown): the long-running
   * consumer stops when it is shut down, a function when its invocation has no time left.
   * @default never
   */
  readonly shouldStopRetrying?: () => boolean;
  /** Called before each retry of a batch the database could not take (stats, health). */
  readonly onRetry?: (error: unknown) => void;
}

/** The readings topic: the source of the watermarks the consumers keep. */
export const READINGS_SOURCE = 'readings';

/**
 * Stream messages -> one committed batch, the same for every consumer (the long-running
 * persister and the OCI Function): decodes each partition's messages (poison and unknown
 * devices become dead letters), applies them in ONE transaction with the partitions'
 * watermarks (applyBatch), retries an unavailable database with backoff and jitter, and
 * isolates a message the database refuses for good by applying the batch message by message.
 */
export class BatchApplier {
  constructor(private readonly options: BatchApplierOptions) {}

  /** One partition's messages (in offset order) as a consumer batch slice. */
  /** `carriers` collects the trace context each message carries (for the batch span's links). */
  async decode(partition: number, messages: readonly StreamMessage[], carriers?: TraceCarrier[]): Promise<PartitionBatch> {
    const decoded: { reading: Reading; message: StreamMessage; imported: boolean }[] = [];
    const deadLetters: NewDeadLetter[] = [];
    const poison = (offset: number, payload: string, reason: string, tenantId: string | null) =>
      deadLetters.push({ tenantId, topic: 'readings', partition, offset, reason, payload });

    for (const message of messages) {
      const result = fromEnvelope(message.value, this.options.eventTypePrefix);
      if (result.ok && result.trace) carriers?.push(result.trace);
      if (result.ok) decoded.push({ reading: result.reading, message, imported: result.origin === 'import' });
      else poison(message.offset, message.value, `MALFORMED: ${result.reason}`, result.tenantId ?? null);
    }
    const byTenant = new Map<string, Set<string>>();
    for (const { reading } of decoded) byTenant.set(reading.tenantId, (byTenant.get(reading.tenantId) ?? new Set()).add(reading.deviceId));
    const known = new Map<string, Set<string>>();
    for (const [tenantId, ids] of byTenant) known.set(tenantId, await this.options.devices.existing(tenantId, ids));

    // A device not found may have been deleted: the transaction tells (DEVICE_DELETED, whose
    // reason says how to get the reading back) from never registered (UNKNOWN_DEVICE).
    // One object per reading, written out field by field: spreading the decoded reading into
    // copies (offset, then payload) was most of this function's cost, and their garbage.
    const readings: PartitionBatch['readings'][number][] = [];
    for (const { reading, message, imported } of decoded) {
      const { tenantId, deviceId, eventId, timestamp, metrics } = reading;
      const unknownDevice = known.get(tenantId)?.has(deviceId) !== true;
      const { offset, timestamp: receivedAt, value: payload } = message;
      if (!unknownDevice && !imported) readings.push({ tenantId, deviceId, eventId, timestamp, metrics, offset, receivedAt, payload });
      else
        readings.push({
          tenantId,
          deviceId,
          eventId,
          timestamp,
          metrics,
          offset,
          receivedAt,
          payload,
          ...(unknownDevice && { unknownDevice }),
          ...(imported && { imported }),
        });
    }
    return { partition, lastOffset: messages[messages.length - 1]!.offset, readings, deadLetters };
  }

  /** Applies the slices in one transaction (or message by message when the database refuses the batch). */
  async apply(slices: readonly PartitionBatch[]): Promise<AppliedRound> {
    const round = { persisted: [] as PersistedReading[], events: { anomalies: [], statusChanges: [] } as DetectionEvents, duplicates: 0, deadLetters: 0 };
    const account = (result: AppliedBatch) => {
      round.deadLetters += result.deadLetters;
      round.events.anomalies.push(...result.anomalies);
      round.events.statusChanges.push(...result.statusChanges);
      round.duplicates += result.duplicateEvents;
      round.persisted.push(...result.persisted);
    };
    try {
      account(await this.applyWithRetry(slices));
    } catch (error) {
      if (!(error instanceof BackendError) || error.retryable) throw error;
      // A batch the database refuses for good: isolate the culprit message by message.
      this.options.logger.warn({ err: error }, 'batch rejected by the database; applying message by message');
      for (const slice of slices) await this.applyOneByOne(slice, account);
    }
    return round;
  }

  private applyWithRetry(batch: readonly PartitionBatch[]): Promise<AppliedBatch> {
    return retry(() => applyBatch(this.options.store, { source: READINGS_SOURCE, partitions: batch }, Date.now(), this.options.detection), {
      policy: this.options.retryPolicy ?? DEFAULT_RETRY_POLICY,
      isRetryable: (error) => error instanceof BackendError && error.retryable,
      shouldStop: this.options.shouldStopRetrying,
      onRetry: (error, attempt, delayMs) => {
        this.options.onRetry?.(error);
        this.options.logger.warn({ err: error, attempt, delayMs }, 'database unavailable; retrying batch');
      },
    });
  }

  private async applyOneByOne(slice: PartitionBatch, account: (result: AppliedBatch) => void): Promise<void> {
    const items = [
      ...slice.readings.map((reading) => ({ offset: reading.offset, readings: [reading], deadLetters: [] as NewDeadLetter[] })),
      ...slice.deadLetters.map((letter) => ({ offset: letter.offset, readings: [], deadLetters: [letter] })),
    ].sort((a, b) => a.offset - b.offset);
    for (const item of items) {
      const single: PartitionBatch = { partition: slice.partition, lastOffset: item.offset, readings: item.readings, deadLetters: item.deadLetters };
      try {
        account(await this.applyWithRetry([single]));
      } catch (error) {
        if (!(error instanceof BackendError) || error.retryable) throw error;
        const reading = item.readings[0]!;
        const letter: NewDeadLetter = {
          tenantId: reading.tenantId,
          topic: 'readings',
          partition: slice.partition,
          offset: item.offset,
          reason: `REJECTED_BY_DATABASE: ${error.message}`,
          payload: JSON.stringify(reading),
        };
        account(await this.applyWithRetry([{ partition: slice.partition, lastOffset: item.offset, readings: [], deadLetters: [letter] }]));
      }
    }
  }
}
