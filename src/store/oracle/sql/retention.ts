import { RETENTION_KINDS, resolutionOf, type RetentionKind, type RetentionOverrides } from '../../../domain/retention';
import { highestPerSeries } from '../../../domain/cursor-expiry';
import type { ExpiredRows } from '../../ports/retention-store';
import type { BindDef, ExecuteResult, Session } from '../session';

/**
 * Retention settings and the removal of what they let go. Raw readings are partitioned by day
 * of reading time: whole days every tenant lets go are dropped as partitions (no undo, no row
 * by row work); the rest of each kind goes by ranged deletes of at most `limit_rows` rows, each
 * its own short transaction.
 */

export const SQL = {
  settingsOf: 'SELECT kind, retention_ms FROM tenant_retention WHERE tenant_id = :tenant_id',
  clearSettings: 'DELETE FROM tenant_retention WHERE tenant_id = :tenant_id',
  insertSetting: 'INSERT INTO tenant_retention (tenant_id, kind, retention_ms, updated_at) VALUES (:tenant_id, :kind, :retention_ms, :updated_at)',
  allTenants: 'SELECT id FROM tenants ORDER BY id',
  allSettings: 'SELECT tenant_id, kind, retention_ms FROM tenant_retention',
  deleteReadings: 'DELETE FROM readings WHERE tenant_id = :tenant_id AND ts < :cutoff AND ROWNUM <= :limit_rows',
  deleteRollups:
    'DELETE FROM rollups WHERE tenant_id = :tenant_id AND resolution_ms = :resolution_ms AND bucket_start <= :cutoff - :resolution_ms AND ROWNUM <= :limit_rows',
  // Events and anomalies are what subscriptions resume from: their deletes return the positions
  // removed (one array element per row), recorded in the same transaction (expired cursors).
  deleteEventIds: `DELETE FROM reading_events WHERE tenant_id = :tenant_id AND ts < :cutoff AND ROWNUM <= :limit_rows
                   RETURNING device_id, stream_partition, stream_offset INTO :removed_devices, :removed_partitions, :removed_offsets`,
  deleteResolvedAnomalies: `DELETE FROM anomalies WHERE tenant_id = :tenant_id AND status = 'RESOLVED' AND resolved_at < :cutoff AND ROWNUM <= :limit_rows
                            RETURNING seq INTO :removed_seqs`,
  mergePrunedEvent: `MERGE INTO pruned_reading_events p
                     USING (SELECT :tenant_id AS tenant_id, :device_id AS device_id, :stream_partition AS stream_partition, :max_offset AS max_offset FROM dual) s
                     ON (p.tenant_id = s.tenant_id AND p.device_id = s.device_id AND p.stream_partition = s.stream_partition)
                     WHEN MATCHED THEN UPDATE SET p.max_offset = GREATEST(p.max_offset, s.max_offset)
                     WHEN NOT MATCHED THEN INSERT (tenant_id, device_id, stream_partition, max_offset) VALUES (s.tenant_id, s.device_id, s.stream_partition, s.max_offset)`,
  mergePrunedAnomaly: `MERGE INTO pruned_anomalies p
                       USING (SELECT :tenant_id AS tenant_id, :max_seq AS max_seq FROM dual) s
                       ON (p.tenant_id = s.tenant_id)
                       WHEN MATCHED THEN UPDATE SET p.max_seq = GREATEST(p.max_seq, s.max_seq)
                       WHEN NOT MATCHED THEN INSERT (tenant_id, max_seq) VALUES (s.tenant_id, s.max_seq)`,
  prunedEvents: `SELECT stream_partition, MAX(max_offset) AS max_offset FROM pruned_reading_events
                 WHERE tenant_id = :tenant_id AND device_id IN (SELECT j.id FROM JSON_TABLE(:ids, '$[*]' COLUMNS (id VARCHAR2(128) PATH '$')) j)
                 GROUP BY stream_partition`,
  prunedAnomalySeq: 'SELECT max_seq FROM pruned_anomalies WHERE tenant_id = :tenant_id',
  deleteDeadLetters: 'DELETE FROM dead_letters WHERE tenant_id = :tenant_id AND created_at < :cutoff AND ROWNUM <= :limit_rows',
  deleteTenantlessDeadLetters: 'DELETE FROM dead_letters WHERE tenant_id IS NULL AND created_at < :cutoff AND ROWNUM <= :limit_rows',
  deleteDeliveries: "DELETE FROM webhook_deliveries WHERE tenant_id = :tenant_id AND status <> 'PENDING' AND created_at < :cutoff AND ROWNUM <= :limit_rows",
  /**
   * Drops every day partition of readings that ends at or before :cutoff. HIGH_VALUE is a LONG
   * (only PL/SQL can read it as text); the first partition (before 1970) is the range section's
   * last and cannot be dropped. The partition name comes from the dictionary, never from input.
   */
  dropPartitions: `DECLARE
  high VARCHAR2(4000);
  dropped NUMBER := 0;
BEGIN
  FOR p IN (SELECT partition_name, high_value FROM user_tab_partitions WHERE table_name = 'READINGS' AND partition_position > 1 ORDER BY partition_position) LOOP
    high := p.high_value;
    EXIT WHEN TO_NUMBER(high) > :cutoff;
    EXECUTE IMMEDIATE 'ALTER TABLE readings DROP PARTITION ' || DBMS_ASSERT.SIMPLE_SQL_NAME(p.partition_name) || ' UPDATE INDEXES';
    dropped := dropped + 1;
  END LOOP;
  :dropped := dropped;
END;`,
} as const;

const isKind = (kind: string): kind is RetentionKind => (RETENTION_KINDS.values as readonly string[]).includes(kind);

const overridesOf = (rows: readonly { KIND: string; RETENTION_MS: number }[]): RetentionOverrides =>
  Object.fromEntries(rows.filter((row) => isKind(row.KIND)).map((row) => [row.KIND, row.RETENTION_MS]));

export async function retentionOverrides(session: Session, tenantId: string): Promise<RetentionOverrides> {
  return overridesOf((await session.execute<{ KIND: string; RETENTION_MS: number }>(SQL.settingsOf, { tenant_id: tenantId })).rows ?? []);
}

export async function setRetentionOverrides(session: Session, tenantId: string, overrides: RetentionOverrides, at: number): Promise<void> {
  await session.execute(SQL.clearSettings, { tenant_id: tenantId });
  for (const [kind, ms] of Object.entries(overrides)) {
    await session.execute(SQL.insertSetting, { tenant_id: tenantId, kind, retention_ms: ms, updated_at: at });
  }
}

export async function tenantsRetention(session: Session): Promise<Map<string, RetentionOverrides>> {
  const tenants = (await session.execute<{ ID: string }>(SQL.allTenants)).rows ?? [];
  const settings = (await session.execute<{ TENANT_ID: string; KIND: string; RETENTION_MS: number }>(SQL.allSettings)).rows ?? [];
  return new Map(tenants.map(({ ID }) => [ID, overridesOf(settings.filter((row) => row.TENANT_ID === ID))]));
}

export async function deleteExpired(session: Session, { kind, tenantId, cutoff, limit }: ExpiredRows): Promise<number> {
  const limits = { cutoff, limit_rows: limit };
  if (tenantId === null) {
    // Only dead letters can lack a tenant (a message that could not be decoded).
    return kind === 'DEAD_LETTERS' ? ((await session.execute(SQL.deleteTenantlessDeadLetters, limits)).rowsAffected ?? 0) : 0;
  }
  const binds = { tenant_id: tenantId, ...limits };
  switch (kind) {
    case 'RAW_READINGS':
      return (await session.execute(SQL.deleteReadings, binds)).rowsAffected ?? 0;
    case 'MINUTE_ROLLUPS':
    case 'HOUR_ROLLUPS':
    case 'DAY_ROLLUPS':
      return (await session.execute(SQL.deleteRollups, { ...binds, resolution_ms: resolutionOf(kind) })).rowsAffected ?? 0;
    case 'EVENT_IDS':
      return deleteEvents(session, binds);
    case 'RESOLVED_ANOMALIES':
      return deleteResolvedAnomalies(session, binds);
    case 'DEAD_LETTERS':
      return (await session.execute(SQL.deleteDeadLetters, binds)).rowsAffected ?? 0;
    case 'WEBHOOK_DELIVERIES':
      return (await session.execute(SQL.deleteDeliveries, binds)).rowsAffected ?? 0;
  }
}

const BIND_DEFS = {
  mergePrunedEvent: {
    tenant_id: { type: 'string', maxSize: 64 },
    device_id: { type: 'string', maxSize: 128 },
    stream_partition: { type: 'number' },
    max_offset: { type: 'number' },
  },
} as const satisfies Record<string, Record<string, BindDef>>;

/** A DML RETURNING INTO out bind: one array element per row the statement touched. */
const returned = (result: ExecuteResult<unknown>, name: string): unknown[] => {
  const values = result.outBinds?.[name];
  return Array.isArray(values) ? values : [];
};

/** Deletes a batch of expired event ids and records, per device and partition, the highest offset removed. */
async function deleteEvents(session: Session, binds: { tenant_id: string; cutoff: number; limit_rows: number }): Promise<number> {
  const result = await session.execute(SQL.deleteEventIds, {
    ...binds,
    removed_devices: { dir: 'out', type: 'string', maxSize: 128 },
    removed_partitions: { dir: 'out', type: 'number' },
    removed_offsets: { dir: 'out', type: 'number' },
  });
  const devices = returned(result, 'removed_devices');
  const partitions = returned(result, 'removed_partitions');
  const offsets = returned(result, 'removed_offsets');
  const removed = devices.map((device, i) => ({ device_id: String(device), stream_partition: Number(partitions[i]), stream_offset: Number(offsets[i]) }));
  const highest = highestPerSeries(removed);
  if (highest.length > 0) {
    await session.executeMany(
      SQL.mergePrunedEvent,
      highest.map((pruned) => ({ tenant_id: binds.tenant_id, device_id: pruned.deviceId, stream_partition: pruned.partition, max_offset: pruned.offset })),
      { bindDefs: BIND_DEFS.mergePrunedEvent },
    );
  }
  return result.rowsAffected ?? removed.length;
}

/** Deletes a batch of expired resolved anomalies and records the highest seq removed. */
async function deleteResolvedAnomalies(session: Session, binds: { tenant_id: string; cutoff: number; limit_rows: number }): Promise<number> {
  const result = await session.execute(SQL.deleteResolvedAnomalies, { ...binds, removed_seqs: { dir: 'out', type: 'number' } });
  const seqs = returned(result, 'removed_seqs').map(Number);
  if (seqs.length > 0) await session.execute(SQL.mergePrunedAnomaly, { tenant_id: binds.tenant_id, max_seq: Math.max(...seqs) });
  return result.rowsAffected ?? seqs.length;
}

/** Per partition, the highest offset retention removed of an event of these devices. */
export async function prunedReadingEvents(session: Session, tenantId: string, deviceIds: readonly string[]): Promise<Map<number, number>> {
  const rows =
    (await session.execute<{ STREAM_PARTITION: number; MAX_OFFSET: number }>(SQL.prunedEvents, { tenant_id: tenantId, ids: JSON.stringify(deviceIds) })).rows ??
    [];
  return new Map(rows.map((row) => [row.STREAM_PARTITION, row.MAX_OFFSET]));
}

/** The highest seq of the tenant's anomalies that retention removed (0: none). */
export async function prunedAnomalySeq(session: Session, tenantId: string): Promise<number> {
  return (await session.execute<{ MAX_SEQ: number }>(SQL.prunedAnomalySeq, { tenant_id: tenantId })).rows?.[0]?.MAX_SEQ ?? 0;
}

/** Drops the day partitions of readings that end at or before `cutoff`; returns how many. */
export async function dropReadingsBefore(session: Session, cutoff: number): Promise<number> {
  const result = await session.execute(SQL.dropPartitions, { cutoff, dropped: { dir: 'out', type: 'number' } });
  const dropped = result.outBinds?.['dropped'];
  return typeof dropped === 'number' ? dropped : 0;
}
