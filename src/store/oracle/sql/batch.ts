import type { Anomaly } from '../../../domain/anomalies/anomaly';
import { detectBatch, groupSeries, type DetectedValue } from '../../../domain/anomalies/batch-detection';
import type { DetectorState } from '../../../domain/anomalies/detector';
import { resolveDetection, type AnomalyRule } from '../../../domain/anomalies/rules';
import type { PersistedReading } from '../../../domain/reading';
import { rollupDeltas } from '../../../domain/timeseries/rollup-deltas';
import type { AppliedBatch, ConsumerBatch } from '../../store';
import { ORA_UNIQUE_VIOLATION } from '../errors';
import { beyondWatermark } from '../../../consumers/pipeline/watermark-filter';
import { compareBySeries, type CandidateRow } from '../../../consumers/pipeline/batch-order';
import type { BindDef, Session } from '../session';
import { deviceTags, insertAnomaly, readState, rulesOfTenant, writeState } from './anomalies';
import { markDevicesSeen } from './devices';

/**
 * Store.applyBatch for Oracle, inside one transaction the caller commits: the same steps as
 * the embedded store (store/sqlite/apply-batch.ts), with bulk statements. Event ids and metric
 * rows go in with executeMany and batchErrors: a unique violation marks a duplicate instead of
 * failing the batch. Latest values, rollups and watermarks are MERGEd.
 */

const S = (maxSize: number): BindDef => ({ type: 'string', maxSize });
const N: BindDef = { type: 'number' };
const D: BindDef = { type: 'double' };

export const SQL = {
  lockWatermark: 'SELECT applied_offset FROM stream_watermarks WHERE source = :source AND stream_partition = :stream_partition FOR UPDATE',
  insertEvent: `INSERT INTO reading_events (tenant_id, event_id, device_id, stream_partition, stream_offset, ts, metrics)
                VALUES (:tenant_id, :event_id, :device_id, :stream_partition, :stream_offset, :ts, :metrics)`,
  insertReading: 'INSERT INTO readings (tenant_id, device_id, metric, ts, value) VALUES (:tenant_id, :device_id, :metric, :ts, :value)',
  rewriteEventMetrics: 'UPDATE reading_events SET metrics = :metrics WHERE tenant_id = :tenant_id AND event_id = :event_id',
  mergeLatest: `MERGE INTO latest_readings l
                USING (SELECT :tenant_id AS tenant_id, :device_id AS device_id, :metric AS metric, :ts AS ts, :value AS value FROM dual) s
                ON (l.tenant_id = s.tenant_id AND l.device_id = s.device_id AND l.metric = s.metric)
                WHEN MATCHED THEN UPDATE SET l.ts = s.ts, l.value = s.value WHERE s.ts >= l.ts
                WHEN NOT MATCHED THEN INSERT (tenant_id, device_id, metric, ts, value) VALUES (s.tenant_id, s.device_id, s.metric, s.ts, s.value)`,
  mergeRollup: `MERGE INTO rollups r
                USING (SELECT :tenant_id AS tenant_id, :device_id AS device_id, :metric AS metric, :resolution_ms AS resolution_ms, :bucket_start AS bucket_start,
                              :cnt AS cnt, :sum_value AS sum_value, :sum_sq AS sum_sq, :min_value AS min_value, :max_value AS max_value,
                              :min_ts AS min_ts, :max_ts AS max_ts, :first_ts AS first_ts, :first_value AS first_value, :last_ts AS last_ts, :last_value AS last_value FROM dual) s
                ON (r.tenant_id = s.tenant_id AND r.device_id = s.device_id AND r.metric = s.metric AND r.resolution_ms = s.resolution_ms AND r.bucket_start = s.bucket_start)
                WHEN MATCHED THEN UPDATE SET
                  r.cnt = r.cnt + s.cnt, r.sum_value = r.sum_value + s.sum_value, r.sum_sq = r.sum_sq + s.sum_sq,
                  r.min_ts = CASE WHEN s.min_value < r.min_value THEN s.min_ts WHEN s.min_value = r.min_value THEN LEAST(r.min_ts, s.min_ts) ELSE r.min_ts END,
                  r.max_ts = CASE WHEN s.max_value > r.max_value THEN s.max_ts WHEN s.max_value = r.max_value THEN LEAST(r.max_ts, s.max_ts) ELSE r.max_ts END,
                  r.min_value = LEAST(r.min_value, s.min_value), r.max_value = GREATEST(r.max_value, s.max_value),
                  r.first_value = CASE WHEN s.first_ts < r.first_ts THEN s.first_value ELSE r.first_value END,
                  r.first_ts = LEAST(r.first_ts, s.first_ts),
                  r.last_value = CASE WHEN s.last_ts > r.last_ts THEN s.last_value ELSE r.last_value END,
                  r.last_ts = GREATEST(r.last_ts, s.last_ts)
                WHEN NOT MATCHED THEN INSERT (tenant_id, device_id, metric, resolution_ms, bucket_start, cnt, sum_value, sum_sq, min_value, max_value, min_ts, max_ts, first_ts, first_value, last_ts, last_value)
                  VALUES (s.tenant_id, s.device_id, s.metric, s.resolution_ms, s.bucket_start, s.cnt, s.sum_value, s.sum_sq, s.min_value, s.max_value, s.min_ts, s.max_ts, s.first_ts, s.first_value, s.last_ts, s.last_value)`,
  insertDeadLetter: `INSERT INTO dead_letters (tenant_id, topic, stream_partition, stream_offset, reason, payload, created_at)
                     VALUES (:tenant_id, :topic, :stream_partition, :stream_offset, :reason, :payload, :created_at)`,
  mergeWatermark: `MERGE INTO stream_watermarks w
                   USING (SELECT :source AS source, :stream_partition AS stream_partition, :applied_offset AS applied_offset, :updated_at AS updated_at FROM dual) s
                   ON (w.source = s.source AND w.stream_partition = s.stream_partition)
                   WHEN MATCHED THEN UPDATE SET w.applied_offset = s.applied_offset, w.updated_at = s.updated_at
                   WHEN NOT MATCHED THEN INSERT (source, stream_partition, applied_offset, updated_at) VALUES (s.source, s.stream_partition, s.applied_offset, s.updated_at)`,
} as const;

export const BIND_DEFS = {
  insertEvent: { tenant_id: S(64), event_id: S(128), device_id: S(128), stream_partition: N, stream_offset: N, ts: N, metrics: { type: 'clob' } },
  insertReading: { tenant_id: S(64), device_id: S(128), metric: S(64), ts: N, value: D },
  rewriteEventMetrics: { metrics: { type: 'clob' }, tenant_id: S(64), event_id: S(128) },
  mergeLatest: { tenant_id: S(64), device_id: S(128), metric: S(64), ts: N, value: D },
  mergeRollup: {
    tenant_id: S(64), device_id: S(128), metric: S(64), resolution_ms: N, bucket_start: N, cnt: N, sum_value: D, sum_sq: D,
    min_value: D, max_value: D, min_ts: N, max_ts: N, first_ts: N, first_value: D, last_ts: N, last_value: D,
  },
  insertDeadLetter: { tenant_id: S(64), topic: S(32), stream_partition: N, stream_offset: N, reason: S(4000), payload: { type: 'clob' }, created_at: N },
  mergeWatermark: { source: S(64), stream_partition: N, applied_offset: N, updated_at: N },
} as const satisfies Record<string, Record<string, BindDef>>;


const key = (row: { tenantId: string; deviceId: string }) => `${row.tenantId}\u0000${row.deviceId}`;
/** Offsets (indexes into `rows`) that failed with a unique violation; any other error is thrown. */
function duplicates(errors: readonly { errorNum?: number; offset: number; message: string }[] | undefined): Set<number> {
  const rejected = new Set<number>();
  for (const error of errors ?? []) {
    if (error.errorNum !== ORA_UNIQUE_VIOLATION) throw Object.assign(new Error(error.message), { errorNum: error.errorNum });
    rejected.add(error.offset);
  }
  return rejected;
}

export async function applyBatch(session: Session, batch: ConsumerBatch, now: number): Promise<AppliedBatch> {
  const persisted: PersistedReading[] = [];
  const seen = new Map<string, number>();
  const eventRows: Record<string, unknown>[] = [];
  const eventReadings: PersistedReading[] = [];
  const deadLetterRows: Record<string, unknown>[] = [];
  const watermarkRows: Record<string, unknown>[] = [];
  let skippedAsReplayed = 0;

  for (const slice of batch.partitions) {
    const [row] = (await session.execute<{ APPLIED_OFFSET: number }>(SQL.lockWatermark, { source: batch.source, stream_partition: slice.partition })).rows ?? [];
    const watermark = row?.APPLIED_OFFSET ?? -1;
    const fresh = beyondWatermark(slice, watermark);
    skippedAsReplayed += fresh.skipped;
    if (slice.lastOffset <= watermark) continue;
    for (const reading of fresh.readings) {
      seen.set(key(reading), Math.max(seen.get(key(reading)) ?? 0, reading.receivedAt ?? reading.timestamp));
      eventRows.push({
        tenant_id: reading.tenantId,
        event_id: reading.eventId,
        device_id: reading.deviceId,
        stream_partition: slice.partition,
        stream_offset: reading.offset,
        ts: reading.timestamp,
        metrics: JSON.stringify(reading.metrics),
      });
      eventReadings.push({ ...reading, partition: slice.partition });
    }
    for (const letter of fresh.deadLetters) {
      deadLetterRows.push({ tenant_id: letter.tenantId, topic: letter.topic, stream_partition: letter.partition, stream_offset: letter.offset, reason: letter.reason.slice(0, 4000), payload: letter.payload, created_at: now });
    }
    watermarkRows.push({ source: batch.source, stream_partition: slice.partition, applied_offset: slice.lastOffset, updated_at: now });
  }

  // (1) Event ids: a unique violation means the event was applied before.
  let duplicateEvents = 0;
  const candidates: CandidateRow[] = [];
  if (eventRows.length > 0) {
    const result = await session.executeMany(SQL.insertEvent, eventRows, { bindDefs: BIND_DEFS.insertEvent, batchErrors: true });
    const repeated = duplicates(result.batchErrors);
    duplicateEvents = repeated.size;
    eventReadings.forEach((reading, index) => {
      if (repeated.has(index)) return;
      const event = persisted.length;
      persisted.push(reading);
      for (const metric of reading.metrics) candidates.push({ tenantId: reading.tenantId, deviceId: reading.deviceId, metric, timestamp: reading.timestamp, event, offset: reading.offset });
    });
  }

  // (2) Metric rows, sorted by primary key; a unique violation means that value is stored already.
  candidates.sort(compareBySeries);
  const stored: CandidateRow[] = [];
  const rejectedMetrics = new Map<number, Set<string>>();
  if (candidates.length > 0) {
    const result = await session.executeMany(
      SQL.insertReading,
      candidates.map((c) => ({ tenant_id: c.tenantId, device_id: c.deviceId, metric: c.metric.name, ts: c.timestamp, value: c.metric.value })),
      { bindDefs: BIND_DEFS.insertReading, batchErrors: true },
    );
    const repeated = duplicates(result.batchErrors);
    candidates.forEach((candidate, index) => {
      if (!repeated.has(index)) return void stored.push(candidate);
      rejectedMetrics.set(candidate.event, (rejectedMetrics.get(candidate.event) ?? new Set()).add(candidate.metric.name));
    });
  }

  // (3) Latest values (the last stored row of each series is its newest) and rollups.
  const latest = new Map<string, CandidateRow>();
  for (const row of stored) latest.set(`${key(row)}\u0000${row.metric.name}`, row);
  if (latest.size > 0) {
    await session.executeMany(SQL.mergeLatest, [...latest.values()].map((c) => ({ tenant_id: c.tenantId, device_id: c.deviceId, metric: c.metric.name, ts: c.timestamp, value: c.metric.value })), { bindDefs: BIND_DEFS.mergeLatest });
  }
  const values: DetectedValue[] = stored.map((c) => ({ tenantId: c.tenantId, deviceId: c.deviceId, metric: c.metric.name, timestamp: c.timestamp, value: c.metric.value, offset: c.offset }));
  const deltas = rollupDeltas(values);
  if (deltas.length > 0) {
    await session.executeMany(
      SQL.mergeRollup,
      deltas.map(({ tenantId, deviceId, metric, resolutionMs, bucketStart, partial: p }) => ({
        tenant_id: tenantId, device_id: deviceId, metric, resolution_ms: resolutionMs, bucket_start: bucketStart, cnt: p.count, sum_value: p.sum, sum_sq: p.sumSq,
        min_value: p.min, max_value: p.max, min_ts: p.minTs, max_ts: p.maxTs, first_ts: p.firstTs, first_value: p.firstValue, last_ts: p.lastTs, last_value: p.lastValue,
      })),
      { bindDefs: BIND_DEFS.mergeRollup },
    );
  }

  // (4) Detection, liveness, dead letters, watermarks.
  const anomalies = await detect(session, values, now);
  const statusChanges = await markDevicesSeen(session, seen);
  if (deadLetterRows.length > 0) await session.executeMany(SQL.insertDeadLetter, deadLetterRows, { bindDefs: BIND_DEFS.insertDeadLetter });
  if (watermarkRows.length > 0) await session.executeMany(SQL.mergeWatermark, watermarkRows, { bindDefs: BIND_DEFS.mergeWatermark });

  // An event whose values were all stored before keeps its id row but publishes nothing.
  const rewrites: Record<string, unknown>[] = [];
  for (const [event, names] of rejectedMetrics) {
    const reading = persisted[event]!;
    const kept = reading.metrics.filter((metric) => !names.has(metric.name));
    rewrites.push({ metrics: JSON.stringify(kept), tenant_id: reading.tenantId, event_id: reading.eventId });
    persisted[event] = { ...reading, metrics: kept };
  }
  if (rewrites.length > 0) await session.executeMany(SQL.rewriteEventMetrics, rewrites, { bindDefs: BIND_DEFS.rewriteEventMetrics });
  return { persisted: persisted.filter((reading) => reading.metrics.length > 0), skippedAsReplayed, duplicateEvents, anomalies, statusChanges };
}

async function detect(session: Session, values: DetectedValue[], detectedAt: number): Promise<Anomaly[]> {
  if (values.length === 0) return [];
  const series = groupSeries(values);
  const rules = new Map<string, AnomalyRule[]>();
  const tags = new Map<string, Set<string>>();
  const states = new Map<string, DetectorState | undefined>();
  const seriesKey = (s: { tenantId: string; deviceId: string; metric: string }) => `${s.tenantId}\u0000${s.deviceId}\u0000${s.metric}`;
  for (const one of series) {
    if (!rules.has(one.tenantId)) rules.set(one.tenantId, await rulesOfTenant(session, one.tenantId));
    if (rules.get(one.tenantId)!.some((rule) => rule.scope.kind === 'tag') && !tags.has(key(one))) tags.set(key(one), await deviceTags(session, one.tenantId, one.deviceId));
    const state = await readState(session, one.tenantId, one.deviceId, one.metric);
    states.set(seriesKey(one), state === undefined ? undefined : (JSON.parse(state) as DetectorState));
  }
  const result = detectBatch(
    series,
    (one) => resolveDetection(rules.get(one.tenantId)!, one.deviceId, tags.get(key(one)) ?? new Set(), one.metric),
    (one) => states.get(seriesKey(one)),
  );
  for (const { series: one, state } of result.states) await writeState(session, one.tenantId, one.deviceId, one.metric, JSON.stringify(state));
  const anomalies: Anomaly[] = [];
  for (const { finding, point } of result.findings) {
    anomalies.push(await insertAnomaly(session, { ...finding, tenantId: point.tenantId, deviceId: point.deviceId, metric: point.metric, timestamp: point.timestamp, detectedAt }));
  }
  return anomalies;
}
