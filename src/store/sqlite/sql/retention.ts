import type Database from 'better-sqlite3';
import { RETENTION_KINDS, resolutionOf, type RetentionKind, type RetentionOverrides } from '../../../domain/retention';
import { highestPerSeries } from '../../../domain/cursor-expiry';
import type { ExpiredRows } from '../../ports/retention-store';

/** SQLite statements for retention settings and for removing what they let go. */

interface SettingRow {
  tenant_id: string;
  kind: string;
  retention_ms: number;
}

const isKind = (kind: string): kind is RetentionKind => (RETENTION_KINDS.values as readonly string[]).includes(kind);

function overridesOf(rows: readonly SettingRow[]): RetentionOverrides {
  // A kind a later version dropped is ignored rather than failing every read.
  return Object.fromEntries(rows.filter((row) => isKind(row.kind)).map((row) => [row.kind, row.retention_ms]));
}

export function retentionOverrides(db: Database.Database, tenantId: string): RetentionOverrides {
  return overridesOf(db.prepare('SELECT tenant_id, kind, retention_ms FROM tenant_retention WHERE tenant_id = ?').all(tenantId) as SettingRow[]);
}

export function setRetentionOverrides(db: Database.Database, tenantId: string, overrides: RetentionOverrides, at: number): void {
  db.prepare('DELETE FROM tenant_retention WHERE tenant_id = ?').run(tenantId);
  const insert = db.prepare('INSERT INTO tenant_retention (tenant_id, kind, retention_ms, updated_at) VALUES (?, ?, ?, ?)');
  for (const [kind, ms] of Object.entries(overrides)) insert.run(tenantId, kind, ms, at);
}

export function tenantsRetention(db: Database.Database): Map<string, RetentionOverrides> {
  const rows = db.prepare('SELECT tenant_id, kind, retention_ms FROM tenant_retention ORDER BY tenant_id').all() as SettingRow[];
  const byTenant = new Map<string, RetentionOverrides>((db.prepare('SELECT id FROM tenants ORDER BY id').all() as { id: string }[]).map(({ id }) => [id, {}]));
  for (const id of byTenant.keys()) byTenant.set(id, overridesOf(rows.filter((row) => row.tenant_id === id)));
  return byTenant;
}

/**
 * Readings and rollups are found series by series (the tenant's rows of `series`) through
 * their primary keys, (series id, ts) and (series id, resolution, bucket): each batch seeks
 * only the expired prefix of each series, never scanning what stays. CROSS JOIN keeps the series as the outer loop (SQLite never
 * reorders it): otherwise, without statistics, it may scan every reading of the tenant instead.
 * The `series` rows themselves stay (migration 13 says why).
 */
const DELETE_READINGS = `
  DELETE FROM samples WHERE (series_id, ts) IN (
    SELECT r.series_id, r.ts FROM series s CROSS JOIN samples r ON r.series_id = s.id AND r.ts < @cutoff
    WHERE s.tenant_id = @tenant LIMIT @limit)`;

const DELETE_ROLLUPS = `
  DELETE FROM rollups WHERE (series_id, resolution_ms, bucket_start) IN (
    SELECT r.series_id, r.resolution_ms, r.bucket_start FROM series s
      CROSS JOIN rollups r ON r.series_id = s.id AND r.resolution_ms = @resolution AND r.bucket_start <= @cutoff - @resolution
    WHERE s.tenant_id = @tenant LIMIT @limit)`;

/**
 * Events and anomalies are what subscriptions resume from: their deletes return the positions
 * removed, which are recorded in the same transaction (expired cursors, docs/PROTOCOL.md §4).
 */
const DELETE_EVENT_IDS = `
  DELETE FROM reading_events WHERE tenant_id = @tenant AND event_id IN (
    SELECT event_id FROM reading_events INDEXED BY reading_events_by_ts WHERE tenant_id = @tenant AND ts < @cutoff LIMIT @limit)
  RETURNING device_id, stream_partition, stream_offset`;

const DELETE_RESOLVED_ANOMALIES = `
  DELETE FROM anomalies WHERE seq IN (
    SELECT seq FROM anomalies WHERE tenant_id = @tenant AND status = 'RESOLVED' AND resolved_at < @cutoff ORDER BY seq LIMIT @limit)
  RETURNING seq`;

const RECORD_PRUNED_EVENT = `
  INSERT INTO pruned_reading_events (tenant_id, device_id, stream_partition, max_offset) VALUES (?, ?, ?, ?)
  ON CONFLICT (tenant_id, device_id, stream_partition) DO UPDATE SET max_offset = max(max_offset, excluded.max_offset)`;

const RECORD_PRUNED_ANOMALY = `
  INSERT INTO pruned_anomalies (tenant_id, max_seq) VALUES (?, ?)
  ON CONFLICT (tenant_id) DO UPDATE SET max_seq = max(max_seq, excluded.max_seq)`;

const DELETE_DEAD_LETTERS = `
  DELETE FROM dead_letters WHERE id IN (
    SELECT id FROM dead_letters WHERE tenant_id IS @tenant AND created_at < @cutoff ORDER BY id LIMIT @limit)`;

const DELETE_DELIVERIES = `
  DELETE FROM webhook_deliveries WHERE id IN (
    SELECT id FROM webhook_deliveries WHERE tenant_id = @tenant AND status <> 'PENDING' AND created_at < @cutoff ORDER BY id LIMIT @limit)`;

const BY_KIND: Readonly<Record<RetentionKind, { readonly sql: string; readonly resolution?: number }>> = {
  RAW_READINGS: { sql: DELETE_READINGS },
  MINUTE_ROLLUPS: { sql: DELETE_ROLLUPS, resolution: resolutionOf('MINUTE_ROLLUPS') },
  HOUR_ROLLUPS: { sql: DELETE_ROLLUPS, resolution: resolutionOf('HOUR_ROLLUPS') },
  DAY_ROLLUPS: { sql: DELETE_ROLLUPS, resolution: resolutionOf('DAY_ROLLUPS') },
  RESOLVED_ANOMALIES: { sql: DELETE_RESOLVED_ANOMALIES },
  DEAD_LETTERS: { sql: DELETE_DEAD_LETTERS },
  WEBHOOK_DELIVERIES: { sql: DELETE_DELIVERIES },
  EVENT_IDS: { sql: DELETE_EVENT_IDS },
};

/**
 * Deletes at most `limit` expired rows of one kind and tenant; the caller holds the transaction.
 * Removed events and anomalies also record how far they reached, in that transaction.
 */
export function deleteExpired(db: Database.Database, { kind, tenantId, cutoff, limit }: ExpiredRows): number {
  // Only dead letters can lack a tenant (a message that could not be decoded).
  if (tenantId === null && kind !== 'DEAD_LETTERS') return 0;
  const binds = { tenant: tenantId, cutoff, limit };
  if (kind === 'EVENT_IDS') {
    const removed = db.prepare(DELETE_EVENT_IDS).all(binds) as { device_id: string; stream_partition: number; stream_offset: number }[];
    const record = db.prepare(RECORD_PRUNED_EVENT);
    for (const pruned of highestPerSeries(removed)) record.run(tenantId, pruned.deviceId, pruned.partition, pruned.offset);
    return removed.length;
  }
  if (kind === 'RESOLVED_ANOMALIES') {
    const seqs = db.prepare(DELETE_RESOLVED_ANOMALIES).pluck().all(binds) as number[];
    if (seqs.length > 0) db.prepare(RECORD_PRUNED_ANOMALY).run(tenantId, Math.max(...seqs));
    return seqs.length;
  }
  const { sql, resolution } = BY_KIND[kind];
  return db.prepare(sql).run({ ...binds, ...(resolution === undefined ? {} : { resolution }) }).changes;
}

/** Per tenant, device and partition, the highest offset retention removed (none: absent). */
export function prunedReadingEvents(db: Database.Database, tenantId: string, deviceIds: readonly string[]): Map<number, number> {
  const rows = db
    .prepare(
      `SELECT stream_partition, max(max_offset) AS max_offset FROM pruned_reading_events
         WHERE tenant_id = ? AND device_id IN (SELECT value FROM json_each(?)) GROUP BY stream_partition`,
    )
    .all(tenantId, JSON.stringify(deviceIds)) as { stream_partition: number; max_offset: number }[];
  return new Map(rows.map((row) => [row.stream_partition, row.max_offset]));
}

/** The highest seq of the tenant's anomalies that retention removed (0: none). */
export function prunedAnomalySeq(db: Database.Database, tenantId: string): number {
  return (db.prepare('SELECT max_seq FROM pruned_anomalies WHERE tenant_id = ?').pluck().get(tenantId) as number | undefined) ?? 0;
}
