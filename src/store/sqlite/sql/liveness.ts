import type Database from 'better-sqlite3';
import { raised, type Anomaly, type DeviceStatusChange } from '../../../domain/anomalies/anomaly';
import { storeAnomaly } from './anomaly-rows';

/** Online devices whose silence passed their timeout go OFFLINE with a SILENCE anomaly each (at most `limit`; all when undefined). */
export function markSilentDevices(
  db: Database.Database,
  now: number,
  defaultTimeoutMs: number,
  limit?: number,
): { anomalies: Anomaly[]; statusChanges: DeviceStatusChange[] } {
  const silent = db
    .prepare(
      `SELECT tenant_id, id, last_seen_at, coalesce(heartbeat_timeout_ms, ?) AS timeout FROM devices
       WHERE status = 'ONLINE' AND last_seen_at + coalesce(heartbeat_timeout_ms, ?) < ?
       ORDER BY tenant_id, id LIMIT ?`,
    )
    // SQLite: a negative LIMIT is no limit.
    .all(defaultTimeoutMs, defaultTimeoutMs, now, limit ?? -1) as { tenant_id: string; id: string; last_seen_at: number; timeout: number }[];
  const goOffline = db.prepare("UPDATE devices SET status = 'OFFLINE' WHERE tenant_id = ? AND id = ? AND status = 'ONLINE'");
  const anomalies: Anomaly[] = [];
  const statusChanges: DeviceStatusChange[] = [];
  for (const device of silent) {
    goOffline.run(device.tenant_id, device.id);
    statusChanges.push({
      tenantId: device.tenant_id,
      deviceId: device.id,
      status: 'OFFLINE',
      previousStatus: 'ONLINE',
      at: now,
      lastSeenAt: device.last_seen_at,
    });
    anomalies.push(
      storeAnomaly(
        db,
        raised({
          tenantId: device.tenant_id,
          deviceId: device.id,
          metric: null,
          kind: 'SILENCE',
          severity: 'WARNING',
          score: (now - device.last_seen_at) / device.timeout,
          value: null,
          expectedMin: null,
          expectedMax: null,
          timestamp: device.last_seen_at,
          detectedAt: now,
        }),
        now,
      ),
    );
  }
  return { anomalies, statusChanges };
}
