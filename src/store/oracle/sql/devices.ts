import { raised, type Anomaly, type DeviceStatus, type DeviceStatusChange } from '../../../domain/anomalies/anomaly';
import type { MetricPoint } from '../../../domain/reading';
import type { Device, NewDevice } from '../../../domain/device';
import type { DeviceFilter } from '../../ports/device-store';
import type { Page, PageRequest } from '../../../domain/page';
import type { Session } from '../session';
import { storeAnomaly } from './anomalies';

/** Devices, their latest values and their liveness. */

interface DeviceRow {
  TENANT_ID: string;
  ID: string;
  NAME: string;
  TAGS: string;
  CREATED_AT: number;
  STATUS: DeviceStatus;
  LAST_SEEN_AT: number | null;
  HEARTBEAT_TIMEOUT_MS: number | null;
}

const DEVICE_COLUMNS = 'tenant_id, id, name, tags, created_at, status, last_seen_at, heartbeat_timeout_ms';

const toDevice = (row: DeviceRow): Device => ({
  tenantId: row.TENANT_ID,
  id: row.ID,
  name: row.NAME,
  tags: JSON.parse(row.TAGS) as string[],
  createdAt: row.CREATED_AT,
  status: row.STATUS,
  lastSeenAt: row.LAST_SEEN_AT,
  heartbeatTimeoutMs: row.HEARTBEAT_TIMEOUT_MS,
});

export const SQL = {
  insertDevice: `INSERT INTO devices (tenant_id, id, name, tags, created_at, heartbeat_timeout_ms)
                 VALUES (:tenant_id, :id, :name, :tags, :created_at, :heartbeat_timeout_ms)`,
  // Id lists travel as one JSON array bind: one statement whatever the list length.
  devicesByIds: `SELECT ${DEVICE_COLUMNS} FROM devices
                 WHERE tenant_id = :tenant_id AND id IN (SELECT j.id FROM JSON_TABLE(:ids, '$[*]' COLUMNS (id VARCHAR2(128) PATH '$')) j)`,
  listDevices: `SELECT ${DEVICE_COLUMNS} FROM devices
                WHERE tenant_id = :tenant_id
                  AND (:after IS NULL OR id > :after)
                  AND (:tag IS NULL OR JSON_EXISTS(tags, '$[*]?(@ == $tag)' PASSING :tag AS "tag"))
                  AND (:name_contains IS NULL OR INSTR(LOWER(name), LOWER(:name_contains)) > 0)
                ORDER BY id FETCH FIRST :limit_rows ROWS ONLY`,
  latestByDevices: `SELECT device_id, metric, ts, value FROM latest_readings
                    WHERE tenant_id = :tenant_id AND device_id IN (SELECT j.id FROM JSON_TABLE(:ids, '$[*]' COLUMNS (id VARCHAR2(128) PATH '$')) j)
                    ORDER BY device_id, metric`,
  setHeartbeat: 'UPDATE devices SET heartbeat_timeout_ms = :timeout_ms WHERE tenant_id = :tenant_id AND id = :id',
  deviceById: `SELECT ${DEVICE_COLUMNS} FROM devices WHERE tenant_id = :tenant_id AND id = :id`,
  lockDevice: 'SELECT status, last_seen_at FROM devices WHERE tenant_id = :tenant_id AND id = :id FOR UPDATE',
  decommission: "UPDATE devices SET status = 'DECOMMISSIONED' WHERE tenant_id = :tenant_id AND id = :id",
  markSeen: `UPDATE devices SET status = :status, last_seen_at = GREATEST(NVL(last_seen_at, 0), :seen_at)
             WHERE tenant_id = :tenant_id AND id = :id`,
  resolveSilence: `UPDATE anomalies SET status = 'RESOLVED', resolved_by = 'system', resolved_at = :at
                   WHERE tenant_id = :tenant_id AND device_id = :device_id AND kind = 'SILENCE' AND status <> 'RESOLVED'`,
  silentDevices: `SELECT tenant_id, id, last_seen_at, NVL(heartbeat_timeout_ms, :default_timeout_ms) AS timeout_ms FROM devices
                  WHERE status = 'ONLINE' AND last_seen_at + NVL(heartbeat_timeout_ms, :default_timeout_ms) < :now_ms
                  ORDER BY tenant_id, id FOR UPDATE SKIP LOCKED`,
  goOffline: "UPDATE devices SET status = 'OFFLINE' WHERE tenant_id = :tenant_id AND id = :id AND status = 'ONLINE'",
} as const;

/** Undefined when the id is taken in the tenant (a unique violation the caller maps). */
export async function insertDevice(session: Session, tenantId: string, device: NewDevice, at: number): Promise<Device> {
  await session.execute(SQL.insertDevice, {
    tenant_id: tenantId,
    id: device.id,
    name: device.name,
    tags: JSON.stringify(device.tags),
    created_at: at,
    heartbeat_timeout_ms: device.heartbeatTimeoutMs ?? null,
  });
  return {
    tenantId,
    id: device.id,
    name: device.name,
    tags: [...device.tags],
    createdAt: at,
    status: 'NEVER_SEEN',
    lastSeenAt: null,
    heartbeatTimeoutMs: device.heartbeatTimeoutMs ?? null,
  };
}

export async function devicesByIds(session: Session, tenantId: string, ids: readonly string[]): Promise<Device[]> {
  if (ids.length === 0) return [];
  return ((await session.execute<DeviceRow>(SQL.devicesByIds, { tenant_id: tenantId, ids: JSON.stringify(ids) })).rows ?? []).map(toDevice);
}

export async function listDevices(session: Session, tenantId: string, filter: DeviceFilter, page: PageRequest): Promise<Page<Device>> {
  const rows =
    (
      await session.execute<DeviceRow>(SQL.listDevices, {
        tenant_id: tenantId,
        after: page.afterKey ?? null,
        tag: filter.tag ?? null,
        name_contains: filter.nameContains ?? null,
        limit_rows: page.first + 1,
      })
    ).rows ?? [];
  return { items: rows.slice(0, page.first).map(toDevice), hasMore: rows.length > page.first };
}

export async function latestByDevices(session: Session, tenantId: string, ids: readonly string[]): Promise<Map<string, MetricPoint[]>> {
  const byDevice = new Map<string, MetricPoint[]>();
  if (ids.length === 0) return byDevice;
  const rows =
    (
      await session.execute<{ DEVICE_ID: string; METRIC: string; TS: number; VALUE: number }>(SQL.latestByDevices, {
        tenant_id: tenantId,
        ids: JSON.stringify(ids),
      })
    ).rows ?? [];
  for (const row of rows)
    byDevice.set(row.DEVICE_ID, [...(byDevice.get(row.DEVICE_ID) ?? []), { deviceId: row.DEVICE_ID, metric: row.METRIC, timestamp: row.TS, value: row.VALUE }]);
  return byDevice;
}

export async function setHeartbeat(session: Session, tenantId: string, id: string, timeoutMs: number | null): Promise<Device | undefined> {
  await session.execute(SQL.setHeartbeat, { timeout_ms: timeoutMs, tenant_id: tenantId, id });
  const [row] = (await session.execute<DeviceRow>(SQL.deviceById, { tenant_id: tenantId, id })).rows ?? [];
  return row && toDevice(row);
}

export async function decommission(session: Session, tenantId: string, id: string, at: number): Promise<DeviceStatusChange | undefined> {
  const [row] = (await session.execute<{ STATUS: DeviceStatus; LAST_SEEN_AT: number | null }>(SQL.lockDevice, { tenant_id: tenantId, id })).rows ?? [];
  if (!row) return undefined;
  await session.execute(SQL.decommission, { tenant_id: tenantId, id });
  return { tenantId, deviceId: id, status: 'DECOMMISSIONED', previousStatus: row.STATUS, at, lastSeenAt: row.LAST_SEEN_AT };
}

export async function markSilent(
  session: Session,
  now: number,
  defaultTimeoutMs: number,
): Promise<{ anomalies: Anomaly[]; statusChanges: DeviceStatusChange[] }> {
  const silent =
    (
      await session.execute<{ TENANT_ID: string; ID: string; LAST_SEEN_AT: number; TIMEOUT_MS: number }>(SQL.silentDevices, {
        default_timeout_ms: defaultTimeoutMs,
        now_ms: now,
      })
    ).rows ?? [];
  const anomalies: Anomaly[] = [];
  const statusChanges: DeviceStatusChange[] = [];
  for (const device of silent) {
    await session.execute(SQL.goOffline, { tenant_id: device.TENANT_ID, id: device.ID });
    statusChanges.push({
      tenantId: device.TENANT_ID,
      deviceId: device.ID,
      status: 'OFFLINE',
      previousStatus: 'ONLINE',
      at: now,
      lastSeenAt: device.LAST_SEEN_AT,
    });
    anomalies.push(
      await storeAnomaly(
        session,
        raised({
          tenantId: device.TENANT_ID,
          deviceId: device.ID,
          metric: null,
          kind: 'SILENCE',
          severity: 'WARNING',
          score: (now - device.LAST_SEEN_AT) / device.TIMEOUT_MS,
          value: null,
          expectedMin: null,
          expectedMax: null,
          timestamp: device.LAST_SEEN_AT,
          detectedAt: now,
        }),
        now,
      ),
    );
  }
  return { anomalies, statusChanges };
}
