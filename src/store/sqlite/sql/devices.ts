import type Database from 'better-sqlite3';
import { TelemetryError } from '../../../domain/errors';
import {
  dataRemovalPending,
  type DeletedDeviceDataRemoval,
  type Device,
  type DeviceAttributes,
  type DeviceDeletion,
  type DevicePatch,
  type NewDevice,
} from '../../../domain/device';
import { attributeIndex } from '../../../domain/device-attributes';
import type { DeviceStatus, DeviceStatusChange } from '../../../domain/anomalies/anomaly';
import { connectionStatusChange } from '../../../domain/device-connection';
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
  attributes: string;
}

const DEVICE_COLUMNS = 'tenant_id, id, name, tags, created_at, status, last_seen_at, heartbeat_timeout_ms, attributes';

const toDevice = (row: DeviceRow): Device => ({
  tenantId: row.tenant_id,
  id: row.id,
  name: row.name,
  tags: JSON.parse(row.tags) as string[],
  createdAt: row.created_at,
  status: row.status,
  lastSeenAt: row.last_seen_at,
  heartbeatTimeoutMs: row.heartbeat_timeout_ms,
  attributes: JSON.parse(row.attributes) as DeviceAttributes,
});

/** Registers a device (its id no longer counts as deleted); the caller runs it in an IMMEDIATE transaction. */
export function registerDevice(db: Database.Database, tenantId: string, device: NewDevice, createdAt: number): Device {
  const attributes = device.attributes ?? {};
  const row = db
    .prepare(
      `INSERT INTO devices (tenant_id, id, name, tags, created_at, heartbeat_timeout_ms, attributes, attribute_index) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (tenant_id, id) DO NOTHING RETURNING ${DEVICE_COLUMNS}`,
    )
    .get(
      tenantId,
      device.id,
      device.name,
      JSON.stringify(device.tags),
      createdAt,
      device.heartbeatTimeoutMs ?? null,
      JSON.stringify(attributes),
      JSON.stringify(attributeIndex(attributes)),
    ) as DeviceRow | undefined;
  if (!row) throw new TelemetryError('ALREADY_EXISTS', `device "${device.id}" is already registered`);
  const deleted = db.prepare('DELETE FROM deleted_devices WHERE tenant_id = ? AND device_id = ? RETURNING removing_data').get(tenantId, device.id) as
    { removing_data: number } | undefined;
  // Throwing rolls the insert back (the caller's transaction).
  if (deleted?.removing_data === 1) throw dataRemovalPending(device.id);
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
             AND (@status IS NULL OR status = @status)
             AND (@attribute IS NULL OR EXISTS (SELECT 1 FROM json_each(devices.attribute_index) WHERE json_each.value = @attribute))
           ORDER BY id LIMIT @limit`,
    )
    .all({
      tenantId,
      after: page.afterKey ?? null,
      tag: filter.tag ?? null,
      name: filter.nameContains ?? null,
      status: filter.status ?? null,
      attribute: filter.attributeEntry ?? null,
      limit: page.first + 1,
    }) as DeviceRow[];
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

/** See DeviceStore.markConnection. */
export function markConnection(db: Database.Database, tenantId: string, deviceId: string, connected: boolean, at: number): DeviceStatusChange | undefined {
  const row = db.prepare('SELECT status, last_seen_at FROM devices WHERE tenant_id = ? AND id = ?').get(tenantId, deviceId) as
    { status: DeviceStatus; last_seen_at: number | null } | undefined;
  if (!row) return undefined;
  const change = connectionStatusChange(tenantId, deviceId, { status: row.status, lastSeenAt: row.last_seen_at }, connected, at);
  if (!change) return undefined;
  db.prepare('UPDATE devices SET status = ?, last_seen_at = ? WHERE tenant_id = ? AND id = ?').run(change.status, change.lastSeenAt, tenantId, deviceId);
  if (change.previousStatus === 'OFFLINE')
    db.prepare(
      `UPDATE anomalies SET status = 'RESOLVED', resolved_by = 'system', resolved_at = ?
       WHERE tenant_id = ? AND device_id = ? AND kind = 'SILENCE' AND status <> 'RESOLVED'`,
    ).run(at, tenantId, deviceId);
  return change;
}

/** Changes the fields the patch names (a heartbeat timeout of null included). */
export function updateDevice(db: Database.Database, tenantId: string, deviceId: string, patch: DevicePatch): Device | undefined {
  const row = db
    .prepare(
      `UPDATE devices SET
         name = coalesce(@name, name),
         tags = coalesce(@tags, tags),
         heartbeat_timeout_ms = CASE WHEN @setHeartbeat = 1 THEN @heartbeat ELSE heartbeat_timeout_ms END,
         attributes = coalesce(@attributes, attributes),
         attribute_index = coalesce(@attributeIndex, attribute_index)
       WHERE tenant_id = @tenantId AND id = @deviceId RETURNING ${DEVICE_COLUMNS}`,
    )
    .get({
      tenantId,
      deviceId,
      name: patch.name ?? null,
      tags: patch.tags ? JSON.stringify(patch.tags) : null,
      setHeartbeat: patch.heartbeatTimeoutMs === undefined ? 0 : 1,
      heartbeat: patch.heartbeatTimeoutMs ?? null,
      attributes: patch.attributes ? JSON.stringify(patch.attributes) : null,
      attributeIndex: patch.attributes ? JSON.stringify(attributeIndex(patch.attributes)) : null,
    }) as DeviceRow | undefined;
  return row && toDevice(row);
}

/** Deletes a device (DeviceStore.deleteDevice); the caller runs it in an IMMEDIATE transaction. */
export function deleteDevice(db: Database.Database, tenantId: string, deviceId: string, keepData: boolean, at: number): DeviceDeletion | undefined {
  if (db.prepare('DELETE FROM devices WHERE tenant_id = ? AND id = ?').run(tenantId, deviceId).changes === 0) return undefined;
  const revoked = db
    .prepare("UPDATE api_keys SET revoked_at = ? WHERE tenant_id = ? AND device_id = ? AND role = 'device' AND revoked_at IS NULL RETURNING id")
    .all(at, tenantId, deviceId) as { id: string }[];
  // Nothing to remove in the background (a device that never sent a reading): its id is free at once.
  const removingData = !keepData && hasBulkData(db, tenantId, deviceId);
  db.prepare(
    `INSERT INTO deleted_devices (tenant_id, device_id, deleted_at, removing_data) VALUES (?, ?, ?, ?)
       ON CONFLICT (tenant_id, device_id) DO UPDATE SET deleted_at = excluded.deleted_at, removing_data = excluded.removing_data`,
  ).run(tenantId, deviceId, at, removingData ? 1 : 0);
  if (!keepData) {
    // The small tables go now; the bulk (raw values, rollups, event ids) in bounded steps (removeDeletedDeviceData).
    // Deliveries name the anomaly by its id: they go before the anomalies they would announce.
    db.prepare('DELETE FROM webhook_deliveries WHERE tenant_id = ? AND anomaly_seq IN (SELECT id FROM anomalies WHERE tenant_id = ? AND device_id = ?)').run(
      tenantId,
      tenantId,
      deviceId,
    );
    for (const table of ['anomalies', 'latest_readings', 'detector_state'])
      db.prepare(`DELETE FROM ${table} WHERE tenant_id = ? AND device_id = ?`).run(tenantId, deviceId);
  }
  return { revokedKeyIds: revoked.map((row) => row.id), removingData };
}

/** Whether the device has a raw value, a rollup or an event id (index lookups, no scan). */
function hasBulkData(db: Database.Database, tenantId: string, deviceId: string): boolean {
  const series = 'SELECT id FROM series WHERE tenant_id = :tenant AND device_id = :device';
  return (
    db
      .prepare(
        `SELECT EXISTS (SELECT 1 FROM samples WHERE series_id IN (${series}))
             OR EXISTS (SELECT 1 FROM rollups WHERE series_id IN (${series}))
             OR EXISTS (SELECT 1 FROM reading_events WHERE tenant_id = :tenant AND device_id = :device)`,
      )
      .pluck()
      .get({ tenant: tenantId, device: deviceId }) === 1
  );
}

/** Whether some deleted device's data is still to be removed (a read: no write lock taken when none is). */
export function anyDataToRemove(db: Database.Database): boolean {
  return db.prepare('SELECT 1 FROM deleted_devices WHERE removing_data = 1 LIMIT 1').get() !== undefined;
}

/**
 * One step of DeviceStore.removeDeletedDeviceData: up to `limit` rows from each bulk table of the
 * device deleted longest ago whose data is still being removed; the caller runs it in an
 * IMMEDIATE transaction. The series rows stay, so that a re-registered device's series keep
 * their ids (migration 13 says why).
 */
export function removeDeletedDeviceData(db: Database.Database, limit: number): DeletedDeviceDataRemoval {
  const device = db.prepare('SELECT tenant_id, device_id FROM deleted_devices WHERE removing_data = 1 ORDER BY deleted_at LIMIT 1').get() as
    { tenant_id: string; device_id: string } | undefined;
  if (!device) return { removedRows: 0, more: false };
  const { tenant_id: tenantId, device_id: deviceId } = device;
  const series = 'SELECT id FROM series WHERE tenant_id = ? AND device_id = ?';
  const removed = [
    db
      .prepare(`DELETE FROM samples WHERE (series_id, ts) IN (SELECT series_id, ts FROM samples WHERE series_id IN (${series}) LIMIT ?)`)
      .run(tenantId, deviceId, limit).changes,
    db
      .prepare(
        `DELETE FROM rollups WHERE (series_id, resolution_ms, bucket_start) IN
           (SELECT series_id, resolution_ms, bucket_start FROM rollups WHERE series_id IN (${series}) LIMIT ?)`,
      )
      .run(tenantId, deviceId, limit).changes,
    db
      .prepare(
        'DELETE FROM reading_events WHERE tenant_id = ? AND event_id IN (SELECT event_id FROM reading_events WHERE tenant_id = ? AND device_id = ? LIMIT ?)',
      )
      .run(tenantId, tenantId, deviceId, limit).changes,
  ];
  // A table that gave fewer than asked is empty for the device: when all are, it is done.
  const done = removed.every((rows) => rows < limit);
  if (done) db.prepare('UPDATE deleted_devices SET removing_data = 0 WHERE tenant_id = ? AND device_id = ?').run(tenantId, deviceId);
  const more = !done || anyDataToRemove(db);
  return { removedRows: removed.reduce((sum, rows) => sum + rows, 0), more };
}
