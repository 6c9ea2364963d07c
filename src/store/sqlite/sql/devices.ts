import type Database from 'better-sqlite3';
import { TelemetryError } from '../../../domain/errors';
import type { Device, NewDevice } from '../../../domain/device';
import type { DeviceStatus, DeviceStatusChange } from '../../../domain/anomalies/anomaly';
import type { Page, PageRequest } from '../../../domain/page';
import type { DeviceFilter } from '../../ports/device-store';

/** SQLite statements for the device registry (liveness.ts holds the silence sweep). */

interface DeviceRow {
  tenant_id: string;
  id: string;
  name: string;
  tags: string;
  created_at: number;
  status: DeviceStatus;
  last_seen_at: number | null;
  heartbeat_timeout_ms: number | null;
}

const DEVICE_COLUMNS = 'tenant_id, id, name, tags, created_at, status, last_seen_at, heartbeat_timeout_ms';

const toDevice = (row: DeviceRow): Device => ({
  tenantId: row.tenant_id,
  id: row.id,
  name: row.name,
  tags: JSON.parse(row.tags) as string[],
  createdAt: row.created_at,
  status: row.status,
  lastSeenAt: row.last_seen_at,
  heartbeatTimeoutMs: row.heartbeat_timeout_ms,
});

export function registerDevice(db: Database.Database, tenantId: string, device: NewDevice, createdAt: number): Device {
  const row = db
    .prepare(
      `INSERT INTO devices (tenant_id, id, name, tags, created_at, heartbeat_timeout_ms) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (tenant_id, id) DO NOTHING RETURNING ${DEVICE_COLUMNS}`,
    )
    .get(tenantId, device.id, device.name, JSON.stringify(device.tags), createdAt, device.heartbeatTimeoutMs ?? null) as DeviceRow | undefined;
  if (!row) throw new TelemetryError('ALREADY_EXISTS', `device ${device.id} is already registered`);
  return toDevice(row);
}

export function getDevices(db: Database.Database, tenantId: string, ids: readonly string[]): Device[] {
  return (
    db
      .prepare(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE tenant_id = ? AND id IN (SELECT value FROM json_each(?))`)
      .all(tenantId, JSON.stringify(ids)) as DeviceRow[]
  ).map(toDevice);
}

export function listDevices(db: Database.Database, tenantId: string, filter: DeviceFilter, page: PageRequest): Page<Device> {
  const rows = db
    .prepare(
      `SELECT ${DEVICE_COLUMNS} FROM devices
           WHERE tenant_id = @tenantId
             AND (@after IS NULL OR id > @after)
             AND (@tag IS NULL OR EXISTS (SELECT 1 FROM json_each(devices.tags) WHERE json_each.value = @tag))
             AND (@name IS NULL OR instr(lower(name), lower(@name)) > 0)
           ORDER BY id LIMIT @limit`,
    )
    .all({ tenantId, after: page.afterKey ?? null, tag: filter.tag ?? null, name: filter.nameContains ?? null, limit: page.first + 1 }) as DeviceRow[];
  return { items: rows.slice(0, page.first).map(toDevice), hasMore: rows.length > page.first };
}

export function setHeartbeatTimeout(db: Database.Database, tenantId: string, deviceId: string, timeoutMs: number | null): Device | undefined {
  const row = db
    .prepare(`UPDATE devices SET heartbeat_timeout_ms = ? WHERE tenant_id = ? AND id = ? RETURNING ${DEVICE_COLUMNS}`)
    .get(timeoutMs, tenantId, deviceId) as DeviceRow | undefined;
  return row && toDevice(row);
}

/** Marks a device DECOMMISSIONED; the caller runs it in an IMMEDIATE transaction. */
export function decommissionDevice(db: Database.Database, tenantId: string, deviceId: string, at: number): DeviceStatusChange | undefined {
  const row = db.prepare('SELECT status, last_seen_at FROM devices WHERE tenant_id = ? AND id = ?').get(tenantId, deviceId) as
    { status: DeviceStatus; last_seen_at: number | null } | undefined;
  if (!row) return undefined;
  db.prepare("UPDATE devices SET status = 'DECOMMISSIONED' WHERE tenant_id = ? AND id = ?").run(tenantId, deviceId);
  const change: DeviceStatusChange = { tenantId, deviceId, status: 'DECOMMISSIONED', previousStatus: row.status, at, lastSeenAt: row.last_seen_at };
  return change;
}
