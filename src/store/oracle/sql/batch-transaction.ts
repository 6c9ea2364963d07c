import type { Anomaly, DeviceStatus } from '../../../domain/anomalies/anomaly';
import type { DetectorState } from '../../../domain/anomalies/detector';
import type { AnomalyRule } from '../../../domain/anomalies/rules';
import type { BatchTransaction, DeviceLiveness } from '../../batch-transaction';
import { ORA_UNIQUE_VIOLATION } from '../errors';
import type { BindDef, Session } from '../session';
import { deviceTags, openOfSeries, readState, rulesOfTenant, storeAnomaly, writeState } from './anomalies';
import { SQL as DEVICE_SQL } from './devices';

/**
 * The BatchTransaction primitives on Oracle, inside the one transaction the store commits
 * (the steps themselves are consumers/pipeline/apply-batch.ts). Event ids and metric rows go
 * in with executeMany and batchErrors: a unique violation marks that row a duplicate instead
 * of failing the batch. Latest values, rollups and watermarks are MERGEd in bulk.
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
  // The batch's devices travel as one JSON array of [tenant, device] pairs: one statement each,
  // whatever the batch holds. The lock comes first (deleteDevice locks the device row too).
  lockBatchDevices: `SELECT d.id FROM devices d
                     WHERE (d.tenant_id, d.id) IN (SELECT j.tenant_id, j.device_id FROM JSON_TABLE(:devices, '$[*]'
                             COLUMNS (tenant_id VARCHAR2(64) PATH '$[0]', device_id VARCHAR2(128) PATH '$[1]')) j)
                     FOR UPDATE`,
  deletedDevices: `SELECT x.tenant_id, x.device_id FROM deleted_devices x
                   WHERE (x.tenant_id, x.device_id) IN (SELECT j.tenant_id, j.device_id FROM JSON_TABLE(:devices, '$[*]'
                           COLUMNS (tenant_id VARCHAR2(64) PATH '$[0]', device_id VARCHAR2(128) PATH '$[1]')) j)`,
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
    tenant_id: S(64),
    device_id: S(128),
    metric: S(64),
    resolution_ms: N,
    bucket_start: N,
    cnt: N,
    sum_value: D,
    sum_sq: D,
    min_value: D,
    max_value: D,
    min_ts: N,
    max_ts: N,
    first_ts: N,
    first_value: D,
    last_ts: N,
    last_value: D,
  },
  insertDeadLetter: { tenant_id: S(64), topic: S(32), stream_partition: N, stream_offset: N, reason: S(4000), payload: { type: 'clob' }, created_at: N },
  mergeWatermark: { source: S(64), stream_partition: N, applied_offset: N, updated_at: N },
} as const satisfies Record<string, Record<string, BindDef>>;

/** Offsets (indexes into the rows) that failed with a unique violation; any other error is thrown. */
function duplicates(errors: readonly { errorNum?: number; offset: number; message: string }[] | undefined): Set<number> {
  const rejected = new Set<number>();
  for (const error of errors ?? []) {
    if (error.errorNum !== ORA_UNIQUE_VIOLATION) throw Object.assign(new Error(error.message), { errorNum: error.errorNum });
    rejected.add(error.offset);
  }
  return rejected;
}

/** Per row of a bulk insert with batchErrors: true when it went in. */
const inserted = (count: number, errors: Parameters<typeof duplicates>[0]): boolean[] => {
  const repeated = duplicates(errors);
  return Array.from({ length: count }, (_, index) => !repeated.has(index));
};

export function oracleBatchTransaction(session: Session): BatchTransaction {
  return {
    async lockWatermarks(source, partitions) {
      const offsets: number[] = [];
      for (const partition of partitions) {
        const [row] = (await session.execute<{ APPLIED_OFFSET: number }>(SQL.lockWatermark, { source, stream_partition: partition })).rows ?? [];
        offsets.push(row?.APPLIED_OFFSET ?? -1);
      }
      return offsets;
    },
    async writeWatermarks(source, rows, at) {
      await session.executeMany(
        SQL.mergeWatermark,
        rows.map((row) => ({ source, stream_partition: row.partition, applied_offset: row.offset, updated_at: at })),
        { bindDefs: BIND_DEFS.mergeWatermark },
      );
    },
    async insertEvents(events) {
      const rows = events.map((e) => ({
        tenant_id: e.tenantId,
        event_id: e.eventId,
        device_id: e.deviceId,
        stream_partition: e.partition,
        stream_offset: e.offset,
        ts: e.timestamp,
        metrics: JSON.stringify(e.metrics),
      }));
      const result = await session.executeMany(SQL.insertEvent, rows, { bindDefs: BIND_DEFS.insertEvent, batchErrors: true });
      return inserted(rows.length, result.batchErrors);
    },
    async rewriteEventMetrics(rows) {
      await session.executeMany(
        SQL.rewriteEventMetrics,
        rows.map((row) => ({ metrics: JSON.stringify(row.metrics), tenant_id: row.tenantId, event_id: row.eventId })),
        { bindDefs: BIND_DEFS.rewriteEventMetrics },
      );
    },
    async insertReadings(values) {
      const rows = values.map((v) => ({ tenant_id: v.tenantId, device_id: v.deviceId, metric: v.metric, ts: v.timestamp, value: v.value }));
      const result = await session.executeMany(SQL.insertReading, rows, { bindDefs: BIND_DEFS.insertReading, batchErrors: true });
      return inserted(rows.length, result.batchErrors);
    },
    async upsertLatest(values) {
      await session.executeMany(
        SQL.mergeLatest,
        values.map((v) => ({ tenant_id: v.tenantId, device_id: v.deviceId, metric: v.metric, ts: v.timestamp, value: v.value })),
        { bindDefs: BIND_DEFS.mergeLatest },
      );
    },
    async mergeRollups(deltas) {
      await session.executeMany(
        SQL.mergeRollup,
        deltas.map(({ tenantId, deviceId, metric, resolutionMs, bucketStart, partial: p }) => ({
          tenant_id: tenantId,
          device_id: deviceId,
          metric,
          resolution_ms: resolutionMs,
          bucket_start: bucketStart,
          cnt: p.count,
          sum_value: p.sum,
          sum_sq: p.sumSq,
          min_value: p.min,
          max_value: p.max,
          min_ts: p.minTs,
          max_ts: p.maxTs,
          first_ts: p.firstTs,
          first_value: p.firstValue,
          last_ts: p.lastTs,
          last_value: p.lastValue,
        })),
        { bindDefs: BIND_DEFS.mergeRollup },
      );
    },
    async anomalyRules(tenantIds) {
      const rules: AnomalyRule[][] = [];
      for (const tenantId of tenantIds) rules.push(await rulesOfTenant(session, tenantId));
      return rules;
    },
    async deviceTags(devices) {
      const tags: string[][] = [];
      for (const { tenantId, deviceId } of devices) tags.push([...(await deviceTags(session, tenantId, deviceId))]);
      return tags;
    },
    async detectorStates(series) {
      const states: (DetectorState | undefined)[] = [];
      for (const { tenantId, deviceId, metric } of series) {
        const state = await readState(session, tenantId, deviceId, metric);
        states.push(state === undefined ? undefined : (JSON.parse(state) as DetectorState));
      }
      return states;
    },
    async saveDetectorStates(rows) {
      for (const { series, state } of rows) await writeState(session, series.tenantId, series.deviceId, series.metric, JSON.stringify(state));
    },
    async openAnomalies(series) {
      const open: Anomaly[][] = [];
      for (const { tenantId, deviceId, metric } of series) open.push(await openOfSeries(session, tenantId, deviceId, metric));
      return open;
    },
    async storeAnomalies(rows, at) {
      const stored: Anomaly[] = [];
      for (const { record, escalated } of rows) stored.push(await storeAnomaly(session, record, at, escalated));
      return stored;
    },
    async deletedDevices(devices) {
      const pairs = JSON.stringify(devices.map(({ tenantId, deviceId }) => [tenantId, deviceId]));
      // Locked first: a delete either committed before (its tombstone is read below) or waits
      // for this batch and then removes what it stored.
      await session.execute(SQL.lockBatchDevices, { devices: pairs });
      const rows = (await session.execute<{ TENANT_ID: string; DEVICE_ID: string }>(SQL.deletedDevices, { devices: pairs })).rows ?? [];
      const deleted = new Set(rows.map((row) => `${row.TENANT_ID}\u0000${row.DEVICE_ID}`));
      return devices.map(({ tenantId, deviceId }) => deleted.has(`${tenantId}\u0000${deviceId}`));
    },
    async deviceLiveness(devices) {
      const rows: (DeviceLiveness | undefined)[] = [];
      for (const { tenantId, deviceId } of devices) {
        const [row] =
          (await session.execute<{ STATUS: DeviceStatus; LAST_SEEN_AT: number | null }>(DEVICE_SQL.lockDevice, { tenant_id: tenantId, id: deviceId })).rows ??
          [];
        rows.push(row && { status: row.STATUS, lastSeenAt: row.LAST_SEEN_AT });
      }
      return rows;
    },
    async markDevicesSeen(devices) {
      for (const d of devices) await session.execute(DEVICE_SQL.markSeen, { status: d.status, seen_at: d.seenAt, tenant_id: d.tenantId, id: d.deviceId });
    },
    async resolveSilence(devices) {
      for (const d of devices) await session.execute(DEVICE_SQL.resolveSilence, { at: d.at, tenant_id: d.tenantId, device_id: d.deviceId });
    },
    async insertDeadLetters(letters, at) {
      await session.executeMany(
        SQL.insertDeadLetter,
        letters.map((l) => ({
          tenant_id: l.tenantId,
          topic: l.topic,
          stream_partition: l.partition,
          stream_offset: l.offset,
          reason: l.reason.slice(0, 4000),
          payload: l.payload,
          created_at: at,
        })),
        { bindDefs: BIND_DEFS.insertDeadLetter },
      );
    },
  };
}
