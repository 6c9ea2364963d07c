import type Database from 'better-sqlite3';
import type { Anomaly, DeviceStatus } from '../../../domain/anomalies/anomaly';
import type { DetectorState } from '../../../domain/anomalies/detector';
import type { AnomalyRule } from '../../../domain/anomalies/rules';
import type { BatchTransaction } from '../../batch-transaction';
import { ANOMALY_COLUMNS, storeAnomaly, RULE_COLUMNS, toAnomaly, toRule, type AnomalyRow, type RuleRow } from './anomaly-rows';
import { rollupUpserter } from './rollups';
import type { SeriesIds } from '../series-ids';
import { encodeMetrics, eventKey } from './event-rows';

/**
 * The BatchTransaction primitives on SQLite: prepared statements run row by row (in the order
 * the pipeline sorted them), every answer synchronous, so the pipeline runs in one call inside
 * the store's `db.transaction(...).immediate()` (store/batch-steps.ts says why).
 * Duplicates are told by ON CONFLICT DO NOTHING changing no row. The statements are prepared
 * once per connection. Raw values are stored under their series id (`seriesIds`, whose new ids
 * the store commits or forgets with the transaction).
 */
export function sqliteBatchTransaction(db: Database.Database, seriesIds: SeriesIds): BatchTransaction {
  const readWatermark = db.prepare('SELECT applied_offset FROM stream_watermarks WHERE source = ? AND stream_partition = ?').pluck();
  const writeWatermark = db.prepare(
    `INSERT INTO stream_watermarks (source, stream_partition, applied_offset, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (source, stream_partition) DO UPDATE SET applied_offset = excluded.applied_offset, updated_at = excluded.updated_at`,
  );
  const insertEvent = db.prepare(
    `INSERT INTO reading_events (tenant_id, event_id, device_id, stream_partition, stream_offset, ts, metrics)
     VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  );
  const rewriteEventMetrics = db.prepare('UPDATE reading_events SET metrics = ? WHERE tenant_id = ? AND event_id = ?');
  const insertSample = db.prepare('INSERT INTO samples (series_id, ts, value) VALUES (?, ?, ?) ON CONFLICT DO NOTHING');
  const upsertLatest = db.prepare(
    `INSERT INTO latest_readings (tenant_id, device_id, metric, ts, value) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (tenant_id, device_id, metric) DO UPDATE SET ts = excluded.ts, value = excluded.value WHERE excluded.ts >= latest_readings.ts`,
  );
  const rulesOfTenant = db.prepare(`SELECT ${RULE_COLUMNS} FROM anomaly_rules WHERE tenant_id = ?`);
  const tagsOfDevice = db.prepare('SELECT tags FROM devices WHERE tenant_id = ? AND id = ?').pluck();
  const readState = db.prepare('SELECT state FROM detector_state WHERE tenant_id = ? AND device_id = ? AND metric = ?').pluck();
  const writeState = db.prepare(
    'INSERT INTO detector_state (tenant_id, device_id, metric, state) VALUES (?, ?, ?, ?) ON CONFLICT (tenant_id, device_id, metric) DO UPDATE SET state = excluded.state',
  );
  const openOfSeries = db.prepare(
    `SELECT ${ANOMALY_COLUMNS} FROM anomalies INDEXED BY anomalies_open_by_series
     WHERE tenant_id = ? AND device_id = ? AND metric = ? AND status <> 'RESOLVED' ORDER BY seq`,
  );
  const isDeleted = db.prepare('SELECT 1 FROM deleted_devices WHERE tenant_id = ? AND device_id = ?').pluck();
  const readLiveness = db.prepare('SELECT status, last_seen_at FROM devices WHERE tenant_id = ? AND id = ?');
  const markSeen = db.prepare('UPDATE devices SET status = ?, last_seen_at = max(coalesce(last_seen_at, 0), ?) WHERE tenant_id = ? AND id = ?');
  const resolveSilence = db.prepare(
    `UPDATE anomalies SET status = 'RESOLVED', resolved_by = 'system', resolved_at = ?
     WHERE tenant_id = ? AND device_id = ? AND kind = 'SILENCE' AND status <> 'RESOLVED'`,
  );
  const insertDeadLetter = db.prepare(
    'INSERT INTO dead_letters (tenant_id, topic, stream_partition, stream_offset, reason, payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );

  return {
    // The IMMEDIATE transaction holds the database's write lock: no other writer can move a watermark.
    lockWatermarks: (source, partitions) => partitions.map((partition) => (readWatermark.get(source, partition) as number | undefined) ?? -1),
    writeWatermarks(source, rows, at) {
      for (const row of rows) writeWatermark.run(source, row.partition, row.offset, at);
    },
    insertEvents: (events) =>
      events.map((e) => insertEvent.run(e.tenantId, eventKey(e.eventId), e.deviceId, e.partition, e.offset, e.timestamp, encodeMetrics(e.metrics)).changes > 0),
    rewriteEventMetrics(rows) {
      for (const row of rows) rewriteEventMetrics.run(encodeMetrics(row.metrics), row.tenantId, eventKey(row.eventId));
    },
    insertReadings: (values) => values.map((v) => insertSample.run(seriesIds.idOf(v.tenantId, v.deviceId, v.metric), v.timestamp, v.value).changes > 0),
    upsertLatest(values) {
      for (const v of values) upsertLatest.run(v.tenantId, v.deviceId, v.metric, v.timestamp, v.value);
    },
    mergeRollups: rollupUpserter(db, seriesIds),
    anomalyRules: (tenantIds) => tenantIds.map((tenantId): AnomalyRule[] => (rulesOfTenant.all(tenantId) as RuleRow[]).map(toRule)),
    deviceTags: (devices) =>
      devices.map(({ tenantId, deviceId }) => {
        const tags = tagsOfDevice.get(tenantId, deviceId) as string | undefined;
        return tags === undefined ? [] : (JSON.parse(tags) as string[]);
      }),
    detectorStates: (series) =>
      series.map(({ tenantId, deviceId, metric }) => {
        const state = readState.get(tenantId, deviceId, metric) as string | undefined;
        return state === undefined ? undefined : (JSON.parse(state) as DetectorState);
      }),
    saveDetectorStates(rows) {
      for (const { series, state } of rows) writeState.run(series.tenantId, series.deviceId, series.metric, JSON.stringify(state));
    },
    openAnomalies: (series) => series.map(({ tenantId, deviceId, metric }) => (openOfSeries.all(tenantId, deviceId, metric) as AnomalyRow[]).map(toAnomaly)),
    storeAnomalies: (rows, at): Anomaly[] => rows.map(({ record, escalated }) => storeAnomaly(db, record, at, escalated)),
    // The IMMEDIATE transaction holds the write lock: no delete can commit meanwhile.
    deletedDevices: (devices) => devices.map(({ tenantId, deviceId }) => isDeleted.get(tenantId, deviceId) !== undefined),
    deviceLiveness: (devices) =>
      devices.map(({ tenantId, deviceId }) => {
        const row = readLiveness.get(tenantId, deviceId) as { status: DeviceStatus; last_seen_at: number | null } | undefined;
        return row && { status: row.status, lastSeenAt: row.last_seen_at };
      }),
    markDevicesSeen(devices) {
      for (const d of devices) markSeen.run(d.status, d.seenAt, d.tenantId, d.deviceId);
    },
    resolveSilence(devices) {
      for (const d of devices) resolveSilence.run(d.at, d.tenantId, d.deviceId);
    },
    insertDeadLetters(letters, at) {
      for (const l of letters) insertDeadLetter.run(l.tenantId, l.topic, l.partition, l.offset, l.reason, l.payload, at);
    },
  };
}
