import type { Anomaly, AnomalyRecord, DeviceStatus } from '../domain/anomalies/anomaly';
import type { DetectorState } from '../domain/anomalies/detector';
import type { AnomalyRule } from '../domain/anomalies/rules';
import type { Metric, PersistedReading } from '../domain/reading';
import type { RollupDelta, StoredValue } from '../domain/timeseries/rollup-deltas';
import type { NewDeadLetter } from '../domain/dead-letter';

/**
 * The BatchTransaction port: the primitive statements the consumer's batch pipeline
 * (consumers/pipeline/apply-batch.ts) runs inside ONE database transaction. A backend
 * implements only these; the steps, their order and every exactly-once rule live in the
 * pipeline, once.
 *
 * Rules every implementation keeps:
 *  - Everything happens in the transaction the backend opened around the pipeline: nothing is
 *    committed by a primitive, and a failure of any primitive rolls the whole batch back.
 *  - Primitives take whole arrays (one prepared statement run per row, or one bulk statement),
 *    apply the rows in the order given, and answer per row in that same order.
 *  - The pipeline never passes an empty array.
 *  - A primitive answers with a value (a synchronous driver: better-sqlite3) or a promise of
 *    it (an asynchronous one: oracledb); the pipeline accepts both (store/batch-steps.ts).
 */

/** A primitive's answer: the value itself, or a promise of it. */
export type Step<T> = T | Promise<T>;

/** A device of a tenant. */
export interface DeviceKey {
  readonly tenantId: string;
  readonly deviceId: string;
}

/** A series: one metric of one device. */
export interface SeriesKey extends DeviceKey {
  readonly metric: string;
}

/** What liveness needs of a stored device. */
export interface DeviceLiveness {
  readonly status: DeviceStatus;
  /** UTC ms, or null when never seen. */
  readonly lastSeenAt: number | null;
}

/** A device seen in the batch: its new status, and when the stream last accepted one of its readings. */
export interface DeviceSeen extends DeviceKey {
  readonly status: DeviceStatus;
  readonly seenAt: number;
}

/** An anomaly for storeAnomalies: new (no id) or changed, and whether its severity rose. */
export interface StoredAnomaly {
  readonly record: AnomalyRecord;
  readonly escalated: boolean;
}

/** A partition's new applied offset. */
export interface WatermarkRow {
  readonly partition: number;
  readonly offset: number;
}

export interface BatchTransaction {
  /**
   * The applied offset of each partition of `source` (-1 when nothing was applied), in the
   * order given; each stays locked against other writers until the transaction ends.
   */
  lockWatermarks(source: string, partitions: readonly number[]): Step<number[]>;
  /** Per partition, the new applied offset (inserted or replaced), stamped `at`. */
  writeWatermarks(source: string, rows: readonly WatermarkRow[], at: number): Step<void>;

  /**
   * Records each reading's (tenant, event id) with its position and metrics. Per row: true
   * when new, false when that event id was stored already (before, or by an earlier row).
   */
  insertEvents(events: readonly PersistedReading[]): Step<boolean[]>;
  /** Replaces the metrics stored with these events (those whose values were stored before). */
  rewriteEventMetrics(rows: readonly { readonly tenantId: string; readonly eventId: string; readonly metrics: readonly Metric[] }[]): Step<void>;
  /**
   * Inserts metric values keyed (tenant, device, metric, timestamp). Per row: true when
   * stored, false when that key was stored already (before, or by an earlier row).
   */
  insertReadings(values: readonly StoredValue[]): Step<boolean[]>;
  /** Each value becomes its series' latest, unless the stored latest is newer. */
  upsertLatest(values: readonly StoredValue[]): Step<void>;
  /** Merges partial aggregates into the stored rollup buckets (inserted when new). */
  mergeRollups(deltas: readonly RollupDelta[]): Step<void>;

  /** The anomaly rules of each tenant. */
  anomalyRules(tenantIds: readonly string[]): Step<AnomalyRule[][]>;
  /** The tags of each device (none for a device not registered). */
  deviceTags(devices: readonly DeviceKey[]): Step<string[][]>;
  /** The stored detector state of each series, undefined when it has none yet. */
  detectorStates(series: readonly SeriesKey[]): Step<(DetectorState | undefined)[]>;
  /** Stores (inserts or replaces) each series' detector state. */
  saveDetectorStates(rows: readonly { readonly series: SeriesKey; readonly state: DetectorState }[]): Step<void>;
  /** Each series' anomalies (not SILENCE) that are OPEN or ACKNOWLEDGED: at most one per kind. */
  openAnomalies(series: readonly SeriesKey[]): Step<Anomaly[][]>;
  /**
   * Stores the anomalies in the order given, each under a new seq (increasing in that order),
   * and returns them as stored. One without an id is new: its id is its seq, and a delivery is
   * queued for every webhook of its tenant whose minimum severity it reaches. One with an id
   * replaces the row of that id (its old seq is gone: subscribers resuming from before see it
   * once, as it is now); when `escalated`, a delivery is queued for every webhook whose
   * minimum it now reaches and that had none for it (a webhook hears of an anomaly once).
   * Deliveries are due at `at`.
   */
  storeAnomalies(rows: readonly StoredAnomaly[], at: number): Step<Anomaly[]>;

  /**
   * Per device: true when it was deleted (and its id not registered again). Serialised with
   * deleteDevice (a backend that does not serialise writers locks the device first), so no
   * reading of a deleted device is stored after its data was removed.
   */
  deletedDevices(devices: readonly DeviceKey[]): Step<boolean[]>;
  /** Each device's liveness (undefined: not registered), locked until the transaction ends. */
  deviceLiveness(devices: readonly DeviceKey[]): Step<(DeviceLiveness | undefined)[]>;
  /** Sets each device's status and raises its last-seen time to `seenAt` (never lowers it). */
  markDevicesSeen(devices: readonly DeviceSeen[]): Step<void>;
  /** Resolves (by 'system', at `at`) every open SILENCE anomaly of each device. */
  resolveSilence(devices: readonly (DeviceKey & { readonly at: number })[]): Step<void>;

  /** Stores the messages that can never be applied, stamped `at`. */
  insertDeadLetters(letters: readonly NewDeadLetter[], at: number): Step<void>;
}
