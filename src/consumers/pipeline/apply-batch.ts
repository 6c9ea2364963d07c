import type { PersistedReading } from '../../domain/reading';
import { sameSeries, type DetectedValue } from '../../domain/anomalies/batch-detection';
import { rollupDeltas } from '../../domain/timeseries/rollup-deltas';
import type { BatchTransaction, DeviceKey, WatermarkRow } from '../../store/batch-transaction';
import type { AppliedBatch, ConsumerBatch, PartitionBatch } from '../../domain/consumer-batch';
import type { NewDeadLetter } from '../../domain/dead-letter';
import type { BatchStore } from '../../store/ports/batch-store';
import { compareBySeries, type CandidateRow } from './batch-order';
import { DEFAULT_DETECTION_OPTIONS, detect, type DetectionOptions } from './detection';
import { markDevicesSeen, noteSeen, type SeenDevices } from './liveness';
import { step, type Steps } from '../../store/batch-steps';
import { beyondWatermark } from './watermark-filter';

/**
 * The body of Store.applyBatch, for every backend: the steps run once, here, over the narrow
 * BatchTransaction primitives, inside the ONE transaction the backend opened (and commits when
 * this returns, or rolls back when it throws). A backend runs it with runSync or runAsync
 * (./steps.ts).
 *
 * Exactly-once effect, step by step:
 *  1. Watermark filter: each partition's applied offset is read (and locked); messages at or
 *     below it were applied before (a replay) and are skipped. Readings of a deleted device
 *     become dead letters (DEVICE_DELETED), and so do those of a device never registered
 *     (UNKNOWN_DEVICE: decoding found no such device).
 *  2. Event-id dedup: each fresh reading's event id is recorded; one stored already (an
 *     earlier batch, or an earlier copy in this one) is a duplicate and goes no further.
 *  3. Sorted inserts: the new events' metric rows, in primary-key order (several times faster
 *     than arrival order; ties keep stream order so the first copy wins). A row whose
 *     (tenant, device, metric, timestamp) is stored already is a natural-key duplicate.
 *  4. Latest values, from the rows actually stored (the last of each series is its newest).
 *  5. Rollups, from the rows actually stored: nothing is counted twice.
 *  6. Detection over the rows actually stored, its state saved with the batch; the alarm
 *     lifecycle (a trigger updates the open anomaly of its series and kind; a normal stretch
 *     clears it) from the anomalies stored, in the same transaction.
 *  7. Liveness of every device with a fresh reading (imported history does not count).
 *  8. Dead letters and each applied partition's new watermark.
 *  9. An event whose metrics were all stored before keeps its id row (for event-id dedup) but
 *     publishes nothing; one with some stored before publishes only the new ones.
 */
export function* applyBatchSteps(
  tx: BatchTransaction,
  batch: ConsumerBatch,
  now: number,
  detection: DetectionOptions = DEFAULT_DETECTION_OPTIONS,
): Steps<AppliedBatch> {
  // (1) Watermark filter.
  const watermarks =
    batch.partitions.length > 0
      ? yield* step(
          tx.lockWatermarks(
            batch.source,
            batch.partitions.map((slice) => slice.partition),
          ),
        )
      : [];
  const fresh: PersistedReading[] = [];
  const deadLetters: NewDeadLetter[] = [];
  const applied: WatermarkRow[] = [];
  const seen: SeenDevices = new Map();
  let skippedAsReplayed = 0;
  const beyondAll: { readonly reading: PartitionBatch['readings'][number]; readonly partition: number }[] = [];
  batch.partitions.forEach((slice, index) => {
    const watermark = watermarks[index]!;
    const beyond = beyondWatermark(slice, watermark);
    skippedAsReplayed += beyond.skipped;
    if (slice.lastOffset <= watermark) return;
    for (const reading of beyond.readings) beyondAll.push({ reading, partition: slice.partition });
    for (const letter of beyond.deadLetters) deadLetters.push(letter);
    applied.push({ partition: slice.partition, offset: slice.lastOffset });
  });

  // (1b) Readings of a deleted device (still in the stream when it was deleted) become dead
  // letters: asked inside the transaction, so a delete cannot slip between check and insert.
  // So do readings of a device not found when they were decoded, and never deleted.
  const deleted = yield* deletedDevicesOf(
    tx,
    beyondAll.map(({ reading }) => reading),
  );
  for (const { reading: decoded, partition } of beyondAll) {
    // Written out field by field: copying with a rest pattern (all but payload and the flags)
    // took V8's slow path, per reading.
    const { tenantId, deviceId, eventId, timestamp, metrics, offset, payload, unknownDevice, imported } = decoded;
    const reading: PersistedReading = { tenantId, deviceId, eventId, timestamp, metrics, partition, offset };
    const reason = deleted.has(deviceKeyOf(reading))
      ? `DEVICE_DELETED: device "${reading.deviceId}" of tenant "${reading.tenantId}" was deleted; register it again, then replay this dead letter to apply it`
      : unknownDevice
        ? `UNKNOWN_DEVICE: no device "${reading.deviceId}" in tenant "${reading.tenantId}"`
        : undefined;
    if (reason !== undefined) {
      deadLetters.push({
        tenantId: reading.tenantId,
        topic: batch.source,
        partition,
        offset,
        reason,
        payload: payload ?? JSON.stringify(reading),
      });
      continue;
    }
    // Imported history is stored, but says nothing of whether its device is there now.
    if (!imported) noteSeen(seen, decoded);
    fresh.push(reading);
  }

  // (2) Event ids.
  const persisted: PersistedReading[] = [];
  const candidates: CandidateRow[] = [];
  let duplicateEvents = 0;
  const newEvents = fresh.length > 0 ? yield* step(tx.insertEvents(fresh)) : [];
  fresh.forEach((reading, index) => {
    if (!newEvents[index]) {
      duplicateEvents++;
      return;
    }
    const event = persisted.length;
    persisted.push(reading);
    for (const metric of reading.metrics)
      candidates.push({
        tenantId: reading.tenantId,
        deviceId: reading.deviceId,
        metric: metric.name,
        timestamp: reading.timestamp,
        value: metric.value,
        offset: reading.offset,
        event,
      });
  });

  // (3) Metric rows, sorted by primary key.
  candidates.sort(compareBySeries);
  const newRows = candidates.length > 0 ? yield* step(tx.insertReadings(candidates)) : [];
  const stored: DetectedValue[] = [];
  const rejectedMetrics = new Map<number, Set<string>>();
  candidates.forEach((row, index) => {
    if (newRows[index]) return void stored.push(row);
    rejectedMetrics.set(row.event, (rejectedMetrics.get(row.event) ?? new Set()).add(row.metric));
  });

  // (4) Latest values: sorted by timestamp within each series, the last row stored is the newest.
  const latest = stored.filter((row, index) => index === stored.length - 1 || !sameSeries(row, stored[index + 1]!));
  if (latest.length > 0) yield* step(tx.upsertLatest(latest));

  // (5) Rollups.
  const deltas = rollupDeltas(stored);
  if (deltas.length > 0) yield* step(tx.mergeRollups(deltas));

  // (6) Detection, (7) liveness.
  const anomalies = yield* detect(tx, stored, now, detection);
  const statusChanges = yield* markDevicesSeen(tx, seen);

  // (8) Dead letters and watermarks.
  if (deadLetters.length > 0) yield* step(tx.insertDeadLetters(deadLetters, now));
  if (applied.length > 0) yield* step(tx.writeWatermarks(batch.source, applied, now));

  // (9) Events some of whose values were stored before publish only their new ones.
  const rewrites: { tenantId: string; eventId: string; metrics: PersistedReading['metrics'] }[] = [];
  for (const [event, names] of rejectedMetrics) {
    const reading = persisted[event]!;
    const kept = reading.metrics.filter((metric) => !names.has(metric.name));
    rewrites.push({ tenantId: reading.tenantId, eventId: reading.eventId, metrics: kept });
    persisted[event] = { ...reading, metrics: kept };
  }
  if (rewrites.length > 0) yield* step(tx.rewriteEventMetrics(rewrites));

  return {
    persisted: persisted.filter((reading) => reading.metrics.length > 0),
    skippedAsReplayed,
    duplicateEvents,
    deadLetters: deadLetters.length,
    anomalies,
    statusChanges,
  };
}

const deviceKeyOf = (reading: { readonly tenantId: string; readonly deviceId: string }) => `${reading.tenantId}\u0000${reading.deviceId}`;

/** The devices of these readings that were deleted, by deviceKeyOf. */
function* deletedDevicesOf(tx: BatchTransaction, readings: readonly { readonly tenantId: string; readonly deviceId: string }[]): Steps<Set<string>> {
  if (readings.length === 0) return new Set();
  const devices = new Map<string, DeviceKey>();
  for (const { tenantId, deviceId } of readings) devices.set(deviceKeyOf({ tenantId, deviceId }), { tenantId, deviceId });
  const keys = [...devices.keys()];
  const deleted = yield* step(tx.deletedDevices([...devices.values()]));
  return new Set(keys.filter((_, index) => deleted[index]));
}

/**
 * Applies a consumer batch in ONE transaction of `store`: readings (deduplicated by event id and
 * by (tenant, device, metric, timestamp)), latest values, rollups, detection, liveness, dead
 * letters and each partition's watermark; messages at or below a partition's stored watermark
 * are skipped. The steps above, over the store's primitives: the same on every backend.
 */
export function applyBatch(
  store: BatchStore,
  batch: ConsumerBatch,
  now: number = Date.now(),
  detection: DetectionOptions = DEFAULT_DETECTION_OPTIONS,
): Promise<AppliedBatch> {
  return store.transact((tx) => applyBatchSteps(tx, batch, now, detection));
}
