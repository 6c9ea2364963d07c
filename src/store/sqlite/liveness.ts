import type Database from 'better-sqlite3';
import type { Anomaly, DeviceStatus, DeviceStatusChange } from '../../domain/anomalies/anomaly';
import { insertAnomaly } from './anomaly-rows';

/**
 * Device liveness inside the batch transaction: every device with a reading in the batch is
 * seen at its latest arrival time and comes ONLINE (unless decommissioned). A device that was
 * OFFLINE has its open SILENCE anomalies resolved by 'system'.
 */
export function markDevicesSeen(db: Database.Database, seen: ReadonlyMap<string, number>): DeviceStatusChange[] {
  const read = db.prepare('SELECT status, last_seen_at FROM devices WHERE tenant_id = ? AND id = ?');
  const update = db.prepare('UPDATE devices SET status = ?, last_seen_at = max(coalesce(last_seen_at, 0), ?) WHERE tenant_id = ? AND id = ?');
  const resolveSilence = db.prepare(
    `UPDATE anomalies SET status = 'RESOLVED', resolved_by = 'system', resolved_at = ?
     WHERE tenant_id = ? AND device_id = ? AND kind = 'SILENCE' AND status <> 'RESOLVED'`,
  );
  const changes: DeviceStatusChange[] = [];
  for (const [key, receivedAt] of seen) {
    const [tenantId, deviceId] = key.split('\u0000') as [string, string];
    const row = read.get(tenantId, deviceId) as { status: DeviceStatus; last_seen_at: number | null } | undefined;
    if (!row) continue;
    const status: DeviceStatus = row.status === 'DECOMMISSIONED' ? 'DECOMMISSIONED' : 'ONLINE';
    update.run(status, receivedAt, tenantId, deviceId);
    if (status !== row.status) {
      changes.push({ tenantId, deviceId, status, previousStatus: row.status, at: receivedAt, lastSeenAt: Math.max(row.last_seen_at ?? 0, receivedAt) });
      if (row.status === 'OFFLINE') resolveSilence.run(receivedAt, tenantId, deviceId);
    }
  }
  return changes;
}

/** Online devices whose silence passed their timeout go OFFLINE with a SILENCE anomaly each. */
export function markSilentDevices(db: Database.Database, now: number, defaultTimeoutMs: number): { anomalies: Anomaly[]; statusChanges: DeviceStatusChange[] } {
  const silent = db
    .prepare(
      `SELECT tenant_id, id, last_seen_at, coalesce(heartbeat_timeout_ms, ?) AS timeout FROM devices
       WHERE status = 'ONLINE' AND last_seen_at + coalesce(heartbeat_timeout_ms, ?) < ?
       ORDER BY tenant_id, id`,
    )
    .all(defaultTimeoutMs, defaultTimeoutMs, now) as { tenant_id: string; id: string; last_seen_at: number; timeout: number }[];
  const goOffline = db.prepare("UPDATE devices SET status = 'OFFLINE' WHERE tenant_id = ? AND id = ? AND status = 'ONLINE'");
  const anomalies: Anomaly[] = [];
  const statusChanges: DeviceStatusChange[] = [];
  for (const device of silent) {
    goOffline.run(device.tenant_id, device.id);
    statusChanges.push({ tenantId: device.tenant_id, deviceId: device.id, status: 'OFFLINE', previousStatus: 'ONLINE', at: now, lastSeenAt: device.last_seen_at });
    anomalies.push(
      insertAnomaly(db, {
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
    );
  }
  return { anomalies, statusChanges };
}
