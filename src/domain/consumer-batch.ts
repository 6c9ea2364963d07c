import type { Anomaly, DeviceStatusChange } from './anomalies/anomaly';
import type { NewDeadLetter } from './dead-letter';
import type { PersistedReading, Reading } from './reading';

/** One partition's slice of a consumer batch: its readings, its poison, and its new watermark. */
export interface PartitionBatch {
  readonly partition: number;
  /** Offset of the last message in the slice: the partition's watermark after commit. */
  readonly lastOffset: number;
  /**
   * `receivedAt`: when the stream accepted the message (device liveness); defaults to the
   * reading's timestamp. `payload`: the message as the stream holds it, kept if the reading
   * becomes a dead letter in the transaction (its device was deleted); else its JSON.
   * `unknownDevice`: its device was not found when the message was decoded; the transaction
   * makes it a dead letter, DEVICE_DELETED when the device was deleted, else UNKNOWN_DEVICE.
   * `imported`: history an admin loaded; stored like any reading, but not its device being seen.
   */
  readonly readings: readonly (Reading & {
    readonly offset: number;
    readonly receivedAt?: number;
    readonly payload?: string;
    readonly unknownDevice?: true;
    readonly imported?: true;
  })[];
  readonly deadLetters: readonly NewDeadLetter[];
}

export interface ConsumerBatch {
  /** Which stream the watermarks belong to (topic name). */
  readonly source: string;
  readonly partitions: readonly PartitionBatch[];
}

export interface AppliedBatch {
  /** Readings that became visible, with only their newly stored metrics, in offset order. */
  readonly persisted: PersistedReading[];
  /** Messages skipped because they were at or below the watermark (a replay). */
  readonly skippedAsReplayed: number;
  /** Readings skipped because their event id was already stored. */
  readonly duplicateEvents: number;
  /** Dead letters the batch stored: the slices' own and the readings it refused. */
  readonly deadLetters: number;
  /** Anomalies the batch raised, in seq order. */
  readonly anomalies: Anomaly[];
  /** Devices the batch brought online (from never seen or offline). */
  readonly statusChanges: DeviceStatusChange[];
}
