import { RETENTION_KINDS, resolutionOf, type RetentionKind, type RetentionOverrides } from '../../../domain/retention';
import type { ExpiredRows } from '../../ports/retention-store';
import type { Session } from '../session';

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
  deleteEventIds: 'DELETE FROM reading_events WHERE tenant_id = :tenant_id AND ts < :cutoff AND ROWNUM <= :limit_rows',
  deleteResolvedAnomalies: "DELETE FROM anomalies WHERE tenant_id = :tenant_id AND status = 'RESOLVED' AND resolved_at < :cutoff AND ROWNUM <= :limit_rows",
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
      return (await session.execute(SQL.deleteEventIds, binds)).rowsAffected ?? 0;
    case 'RESOLVED_ANOMALIES':
      return (await session.execute(SQL.deleteResolvedAnomalies, binds)).rowsAffected ?? 0;
    case 'DEAD_LETTERS':
      return (await session.execute(SQL.deleteDeadLetters, binds)).rowsAffected ?? 0;
    case 'WEBHOOK_DELIVERIES':
      return (await session.execute(SQL.deleteDeliveries, binds)).rowsAffected ?? 0;
  }
}

/** Drops the day partitions of readings that end at or before `cutoff`; returns how many. */
export async function dropReadingsBefore(session: Session, cutoff: number): Promise<number> {
  const result = await session.execute(SQL.dropPartitions, { cutoff, dropped: { dir: 'out', type: 'number' } });
  const dropped = result.outBinds?.['dropped'];
  return typeof dropped === 'number' ? dropped : 0;
}
