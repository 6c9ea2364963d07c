import type Database from 'better-sqlite3';

/**
 * Raw readings written straight into an embedded database file, for tests that seed many rows
 * or write around the consumer: the series row (created on first use, as the consumer does),
 * then its samples.
 */
export function seriesIdOf(db: Database.Database, tenantId: string, deviceId: string, metric: string): number {
  db.prepare('INSERT INTO series (tenant_id, device_id, metric) VALUES (?, ?, ?) ON CONFLICT DO NOTHING').run(tenantId, deviceId, metric);
  return db.prepare('SELECT id FROM series WHERE tenant_id = ? AND device_id = ? AND metric = ?').pluck().get(tenantId, deviceId, metric) as number;
}

/** Every stored raw value as "tenant/device/metric/ts", sorted. */
export function storedSampleKeys(db: Database.Database): string[] {
  return (
    db
      .prepare("SELECT s.tenant_id || '/' || s.device_id || '/' || s.metric || '/' || r.ts FROM samples r JOIN series s ON s.id = r.series_id")
      .pluck()
      .all() as string[]
  ).sort();
}
