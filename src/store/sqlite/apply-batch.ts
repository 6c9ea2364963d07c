import type Database from 'better-sqlite3';
import type { PersistedReading } from '../../domain/reading';
import { rollupDeltas, type StoredValue } from '../../domain/timeseries/rollup-deltas';
import type { AppliedBatch, ConsumerBatch } from '../store';
import { upsertRollups } from './rollups';
import { beyondWatermark } from '../watermark-filter';
import { compareBySeries, type CandidateRow } from '../batch-order';
import { detectInTransaction, type DetectedValue } from './detection';
import { markDevicesSeen } from './liveness';


/**
 * The body of Store.applyBatch for SQLite; the caller wraps it in one IMMEDIATE transaction.
 *
 * Order of work: (1) drop messages at or below the watermark, (2) record each event id (a
 * conflict means the event was applied before), (3) insert metric rows sorted by primary key
 * (several times faster than arrival order; ties keep offset order so the first wins),
 * (4) latest values, rollups and anomaly detection over the rows actually stored, device
 * liveness, dead letters and the new watermark.
 */
export function applyBatchInTransaction(db: Database.Database, batch: ConsumerBatch): AppliedBatch {
  const insertEvent = db.prepare(
    `INSERT INTO reading_events (tenant_id, event_id, device_id, stream_partition, stream_offset, ts, metrics)
     VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  );
  const insertReading = db.prepare('INSERT INTO readings (tenant_id, device_id, metric, ts, value) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING');
  const rewriteEventMetrics = db.prepare('UPDATE reading_events SET metrics = ? WHERE tenant_id = ? AND event_id = ?');
  const readWatermark = db.prepare('SELECT applied_offset FROM stream_watermarks WHERE source = ? AND stream_partition = ?');
  const writeWatermark = db.prepare(
    `INSERT INTO stream_watermarks (source, stream_partition, applied_offset, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (source, stream_partition) DO UPDATE SET applied_offset = excluded.applied_offset, updated_at = excluded.updated_at`,
  );
  const insertDeadLetter = db.prepare(
    'INSERT INTO dead_letters (tenant_id, topic, stream_partition, stream_offset, reason, payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const upsertLatest = db.prepare(
    `INSERT INTO latest_readings (tenant_id, device_id, metric, ts, value) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (tenant_id, device_id, metric) DO UPDATE SET ts = excluded.ts, value = excluded.value WHERE excluded.ts >= latest_readings.ts`,
  );

  const now = Date.now();
  const persisted: PersistedReading[] = [];
  const candidates: CandidateRow[] = [];
  const seen = new Map<string, number>();
  let skippedAsReplayed = 0;
  let duplicateEvents = 0;

  for (const slice of batch.partitions) {
    const watermark = (readWatermark.get(batch.source, slice.partition) as { applied_offset: number } | undefined)?.applied_offset ?? -1;
    const fresh = beyondWatermark(slice, watermark);
    skippedAsReplayed += fresh.skipped;
    if (slice.lastOffset <= watermark) continue;
    for (const reading of fresh.readings) {
      const deviceKey = `${reading.tenantId}\u0000${reading.deviceId}`;
      seen.set(deviceKey, Math.max(seen.get(deviceKey) ?? 0, reading.receivedAt ?? reading.timestamp));
      const metricsJson = JSON.stringify(reading.metrics);
      const inserted = insertEvent.run(reading.tenantId, reading.eventId, reading.deviceId, slice.partition, reading.offset, reading.timestamp, metricsJson).changes;
      if (inserted === 0) {
        duplicateEvents++;
        continue;
      }
      const event = persisted.length;
      persisted.push({ ...reading, partition: slice.partition, metrics: reading.metrics });
      for (const metric of reading.metrics) {
        candidates.push({ tenantId: reading.tenantId, deviceId: reading.deviceId, metric, timestamp: reading.timestamp, event, offset: reading.offset });
      }
    }
    for (const letter of fresh.deadLetters) {
      insertDeadLetter.run(letter.tenantId, letter.topic, letter.partition, letter.offset, letter.reason, letter.payload, now);
    }
    writeWatermark.run(batch.source, slice.partition, slice.lastOffset, now);
  }

  candidates.sort(compareBySeries);
  const rejectedMetrics = new Map<number, Set<string>>();
  const latest = new Map<string, CandidateRow>();
  const storedValues: (StoredValue & DetectedValue)[] = [];
  for (const row of candidates) {
    const inserted = insertReading.run(row.tenantId, row.deviceId, row.metric.name, row.timestamp, row.metric.value).changes;
    if (inserted === 0) {
      const names = rejectedMetrics.get(row.event) ?? new Set<string>();
      names.add(row.metric.name);
      rejectedMetrics.set(row.event, names);
      continue;
    }
    storedValues.push({ tenantId: row.tenantId, deviceId: row.deviceId, metric: row.metric.name, timestamp: row.timestamp, value: row.metric.value, offset: row.offset });
    // Sorted by timestamp within (tenant, device, metric): the last row seen is the newest.
    latest.set(`${row.tenantId}\u0000${row.deviceId}\u0000${row.metric.name}`, row);
  }
  for (const row of latest.values()) upsertLatest.run(row.tenantId, row.deviceId, row.metric.name, row.timestamp, row.metric.value);
  upsertRollups(db, rollupDeltas(storedValues));
  const anomalies = detectInTransaction(db, storedValues, now);
  const statusChanges = markDevicesSeen(db, seen);

  // An event whose values were all stored before (same device, metric and timestamp) keeps
  // its row for event-id deduplication but publishes nothing.
  for (const [event, names] of rejectedMetrics) {
    const reading = persisted[event]!;
    const kept = reading.metrics.filter((metric) => !names.has(metric.name));
    rewriteEventMetrics.run(JSON.stringify(kept), reading.tenantId, reading.eventId);
    persisted[event] = { ...reading, metrics: kept };
  }
  return { persisted: persisted.filter((reading) => reading.metrics.length > 0), skippedAsReplayed, duplicateEvents, anomalies, statusChanges };
}
