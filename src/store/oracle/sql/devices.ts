import { raised, type Anomaly, type DeviceStatus, type DeviceStatusChange } from '../../../domain/anomalies/anomaly';
import type { MetricPoint } from '../../../domain/reading';
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
import { connectionStatusChange } from '../../../domain/device-connection';
import type { DeviceFilter } from '../../ports/device-store';
import type { Page, PageRequest } from '../../../domain/page';
import type { Session } from '../session';
import { storeAnomaly } from './anomalies';
import { SQL as KEY_SQL } from './keys';

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
  ATTRIBUTES: string;
}

const DEVICE_COLUMNS = 'tenant_id, id, name, tags, created_at, status, last_seen_at, heartbeat_timeout_ms, attributes';

const toDevice = (row: DeviceRow): Device => ({
  tenantId: row.TENANT_ID,
  id: row.ID,
  name: row.NAME,
  tags: JSON.parse(row.TAGS) as string[],
  createdAt: row.CREATED_AT,
  status: row.STATUS,
  lastSeenAt: row.LAST_SEEN_AT,
  heartbeatTimeoutMs: row.HEARTBEAT_TIMEOUT_MS,
  attributes: JSON.parse(row.ATTRIBUTES) as DeviceAttributes,
});

/** The tables that hold a device's data, each with tenant_id and device_id columns: the first three are removed in the background. */
const DEVICE_DATA_TABLES = ['readings', 'reading_events', 'latest_readings', 'rollups', 'detector_state'] as const;
const deleteDataSql = Object.fromEntries(
  DEVICE_DATA_TABLES.map((table) => [table, `DELETE FROM ${table} WHERE tenant_id = :tenant_id AND device_id = :device_id`]),
) as Record<(typeof DEVICE_DATA_TABLES)[number], string>;

export const SQL = {
  insertDevice: `INSERT INTO devices (tenant_id, id, name, tags, created_at, heartbeat_timeout_ms, attributes, attribute_index)
                 VALUES (:tenant_id, :id, :name, :tags, :created_at, :heartbeat_timeout_ms, :attributes, :attribute_index)`,
  removingData: 'SELECT removing_data FROM deleted_devices WHERE tenant_id = :tenant_id AND device_id = :device_id',
  undelete: 'DELETE FROM deleted_devices WHERE tenant_id = :tenant_id AND device_id = :device_id',
  updateDevice: `UPDATE devices SET
                   name = NVL(:name, name),
                   tags = NVL(:tags, tags),
                   heartbeat_timeout_ms = CASE WHEN :set_heartbeat = 1 THEN :heartbeat_ms ELSE heartbeat_timeout_ms END,
                   attributes = NVL(:attributes, attributes),
                   attribute_index = NVL(:attribute_index, attribute_index)
                 WHERE tenant_id = :tenant_id AND id = :id`,
  deleteDevice: 'DELETE FROM devices WHERE tenant_id = :tenant_id AND id = :id',
  markDeleted: `MERGE INTO deleted_devices d USING (SELECT :tenant_id AS tenant_id, :device_id AS device_id FROM dual) s
                ON (d.tenant_id = s.tenant_id AND d.device_id = s.device_id)
                WHEN MATCHED THEN UPDATE SET d.deleted_at = :deleted_at, d.removing_data = :removing_data
                WHEN NOT MATCHED THEN INSERT (tenant_id, device_id, deleted_at, removing_data) VALUES (s.tenant_id, s.device_id, :deleted_at, :removing_data)`,
  deleteDeliveries: `DELETE FROM webhook_deliveries
                     WHERE tenant_id = :tenant_id AND anomaly_seq IN (SELECT id FROM anomalies WHERE tenant_id = :tenant_id AND device_id = :device_id)`,
  deleteAnomalies: 'DELETE FROM anomalies WHERE tenant_id = :tenant_id AND device_id = :device_id',
  deleteLatest: deleteDataSql.latest_readings,
  deleteDetectorState: deleteDataSql.detector_state,
  // The background removal (removeDeletedDeviceData): the device deleted longest ago, then bounded deletes.
  // Claimed for the step: a second remover (another consumer, another function container) skips
  // it, instead of deleting behind the first one's locks and taking "fewer rows than asked" for done.
  // (ROWNUM, not FETCH FIRST: Oracle refuses FETCH FIRST with FOR UPDATE, ORA-02014.)
  deviceRemovingData: `SELECT tenant_id, device_id FROM deleted_devices WHERE removing_data = 1 AND ROWNUM = 1 FOR UPDATE SKIP LOCKED`,
  // Whether any row of the device is left in a bulk table: retention may have taken rows this step's
  // deletes waited for, so fewer rows than asked does not prove the tables empty.
  deviceDataLeft: `SELECT (SELECT COUNT(*) FROM readings WHERE tenant_id = :tenant_id AND device_id = :device_id AND ROWNUM = 1)
                        + (SELECT COUNT(*) FROM rollups WHERE tenant_id = :tenant_id AND device_id = :device_id AND ROWNUM = 1)
                        + (SELECT COUNT(*) FROM reading_events WHERE tenant_id = :tenant_id AND device_id = :device_id AND ROWNUM = 1) AS n
                   FROM dual`,
  anyRemovingData: 'SELECT 1 FROM deleted_devices WHERE removing_data = 1 FETCH FIRST 1 ROWS ONLY',
  removeReadings: `${deleteDataSql.readings} AND ROWNUM <= :limit_rows`,
  removeRollups: `${deleteDataSql.rollups} AND ROWNUM <= :limit_rows`,
  removeReadingEvents: `${deleteDataSql.reading_events} AND ROWNUM <= :limit_rows`,
  dataRemoved: 'UPDATE deleted_devices SET removing_data = 0 WHERE tenant_id = :tenant_id AND device_id = :device_id',
  // Id lists travel as one JSON array bind: one statement whatever the list length.
  devicesByIds: `SELECT ${DEVICE_COLUMNS} FROM devices
                 WHERE tenant_id = :tenant_id AND id IN (SELECT j.id FROM JSON_TABLE(:ids, '$[*]' COLUMNS (id VARCHAR2(128) PATH '$')) j)`,
  listDevices: `SELECT ${DEVICE_COLUMNS} FROM devices
                WHERE tenant_id = :tenant_id
                  AND (:after IS NULL OR id > :after)
                  AND (:tag IS NULL OR JSON_EXISTS(tags, '$[*]?(@ == $tag)' PASSING :tag AS "tag"))
                  AND (:name_contains IS NULL OR INSTR(LOWER(name), LOWER(:name_contains)) > 0)
                  AND (:status IS NULL OR status = :status)
                  AND (:attribute IS NULL OR JSON_EXISTS(attribute_index, '$[*]?(@ == $attr)' PASSING :attribute AS "attr"))
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
                    AND ROWNUM <= :max_devices
                  ORDER BY tenant_id, id FOR UPDATE SKIP LOCKED`,
  setLiveness: 'UPDATE devices SET status = :status, last_seen_at = :last_seen_at WHERE tenant_id = :tenant_id AND id = :id',
  goOffline: "UPDATE devices SET status = 'OFFLINE' WHERE tenant_id = :tenant_id AND id = :id AND status = 'ONLINE'",
} as const;

/** Undefined when the id is taken in the tenant (a unique violation the caller maps). */
export async function insertDevice(session: Session, tenantId: string, device: NewDevice, at: number): Promise<Device> {
  const attributes = device.attributes ?? {};
  await session.execute(SQL.insertDevice, {
    tenant_id: tenantId,
    id: device.id,
    name: device.name,
    tags: JSON.stringify(device.tags),
    created_at: at,
    heartbeat_timeout_ms: device.heartbeatTimeoutMs ?? null,
    attributes: JSON.stringify(attributes),
    attribute_index: JSON.stringify(attributeIndex(attributes)),
  });
  // Its id no longer counts as deleted: its readings are applied again. Throwing rolls the insert back (the caller's transaction).
  const [deleted] = (await session.execute<{ REMOVING_DATA: number }>(SQL.removingData, { tenant_id: tenantId, device_id: device.id })).rows ?? [];
  if (deleted?.REMOVING_DATA === 1) throw dataRemovalPending(device.id);
  await session.execute(SQL.undelete, { tenant_id: tenantId, device_id: device.id });
  return {
    tenantId,
    id: device.id,
    name: device.name,
    tags: [...device.tags],
    createdAt: at,
    status: 'NEVER_SEEN',
    lastSeenAt: null,
    heartbeatTimeoutMs: device.heartbeatTimeoutMs ?? null,
    attributes,
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
        status: filter.status ?? null,
        attribute: filter.attributeEntry ?? null,
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

export async function updateDevice(session: Session, tenantId: string, id: string, patch: DevicePatch): Promise<Device | undefined> {
  await session.execute(SQL.updateDevice, {
    tenant_id: tenantId,
    id,
    name: patch.name ?? null,
    tags: patch.tags ? JSON.stringify(patch.tags) : null,
    set_heartbeat: patch.heartbeatTimeoutMs === undefined ? 0 : 1,
    heartbeat_ms: patch.heartbeatTimeoutMs ?? null,
    attributes: patch.attributes ? JSON.stringify(patch.attributes) : null,
    attribute_index: patch.attributes ? JSON.stringify(attributeIndex(patch.attributes)) : null,
  });
  const [row] = (await session.execute<DeviceRow>(SQL.deviceById, { tenant_id: tenantId, id })).rows ?? [];
  return row && toDevice(row);
}

/** DeviceStore.deleteDevice, in the caller's transaction; the device row is locked first. */
export async function deleteDevice(session: Session, tenantId: string, id: string, keepData: boolean, at: number): Promise<DeviceDeletion | undefined> {
  const [locked] = (await session.execute(SQL.lockDevice, { tenant_id: tenantId, id })).rows ?? [];
  if (!locked) return undefined;
  await session.execute(SQL.deleteDevice, { tenant_id: tenantId, id });
  const revoked = ((await session.execute<{ ID: string }>(KEY_SQL.activeDeviceKeys, { tenant_id: tenantId, device_id: id })).rows ?? []).map((row) => row.ID);
  await session.execute(KEY_SQL.revokeDeviceKeys, { at, tenant_id: tenantId, device_id: id });
  // Nothing to remove in the background (a device that never sent a reading): its id is free at once.
  const removingData = !keepData && ((await session.execute<{ N: number }>(SQL.deviceDataLeft, { tenant_id: tenantId, device_id: id })).rows ?? [])[0]?.N !== 0;
  await session.execute(SQL.markDeleted, { tenant_id: tenantId, device_id: id, deleted_at: at, removing_data: removingData ? 1 : 0 });
  if (!keepData) {
    const binds = { tenant_id: tenantId, device_id: id };
    // The small tables go now; the bulk (raw values, rollups, event ids) in bounded steps (removeDeletedDeviceData).
    // Deliveries name the anomaly by its id: they go before the anomalies they would announce.
    for (const sql of [SQL.deleteDeliveries, SQL.deleteAnomalies, SQL.deleteLatest, SQL.deleteDetectorState]) await session.execute(sql, binds);
  }
  return { revokedKeyIds: revoked, removingData };
}

/** One step of DeviceStore.removeDeletedDeviceData, in the caller's transaction. */
export async function removeDeletedDeviceData(session: Session, limit: number): Promise<DeletedDeviceDataRemoval> {
  const [device] = (await session.execute<{ TENANT_ID: string; DEVICE_ID: string }>(SQL.deviceRemovingData, {})).rows ?? [];
  if (!device) return { removedRows: 0, more: false };
  const binds = { tenant_id: device.TENANT_ID, device_id: device.DEVICE_ID };
  const removed: number[] = [];
  for (const sql of [SQL.removeReadings, SQL.removeRollups, SQL.removeReadingEvents])
    removed.push((await session.execute(sql, { ...binds, limit_rows: limit })).rowsAffected ?? 0);
  // Fewer than asked from every table: the device is probably done; checked before the flag goes.
  const done = removed.every((rows) => rows < limit) && ((await session.execute<{ N: number }>(SQL.deviceDataLeft, binds)).rows ?? [])[0]?.N === 0;
  if (done) await session.execute(SQL.dataRemoved, binds);
  const more = !done || ((await session.execute(SQL.anyRemovingData, {})).rows ?? []).length > 0;
  return { removedRows: removed.reduce((sum, rows) => sum + rows, 0), more };
}

export async function decommission(session: Session, tenantId: string, id: string, at: number): Promise<DeviceStatusChange | undefined> {
  const [row] = (await session.execute<{ STATUS: DeviceStatus; LAST_SEEN_AT: number | null }>(SQL.lockDevice, { tenant_id: tenantId, id })).rows ?? [];
  if (!row) return undefined;
  await session.execute(SQL.decommission, { tenant_id: tenantId, id });
  return { tenantId, deviceId: id, status: 'DECOMMISSIONED', previousStatus: row.STATUS, at, lastSeenAt: row.LAST_SEEN_AT };
}

/** See DeviceStore.markConnection. */
export async function markConnection(session: Session, tenantId: string, id: string, connected: boolean, at: number): Promise<DeviceStatusChange | undefined> {
  const [row] = (await session.execute<{ STATUS: DeviceStatus; LAST_SEEN_AT: number | null }>(SQL.lockDevice, { tenant_id: tenantId, id })).rows ?? [];
  if (!row) return undefined;
  const change = connectionStatusChange(tenantId, id, { status: row.STATUS, lastSeenAt: row.LAST_SEEN_AT }, connected, at);
  if (!change) return undefined;
  await session.execute(SQL.setLiveness, { status: change.status, last_seen_at: change.lastSeenAt, tenant_id: tenantId, id });
  if (change.previousStatus === 'OFFLINE') await session.execute(SQL.resolveSilence, { at, tenant_id: tenantId, device_id: id });
  return change;
}

export async function markSilent(
  session: Session,
  now: number,
  defaultTimeoutMs: number,
  limit?: number,
): Promise<{ anomalies: Anomaly[]; statusChanges: DeviceStatusChange[] }> {
  const silent =
    (
      await session.execute<{ TENANT_ID: string; ID: string; LAST_SEEN_AT: number; TIMEOUT_MS: number }>(SQL.silentDevices, {
        default_timeout_ms: defaultTimeoutMs,
        now_ms: now,
        // ROWNUM, not FETCH FIRST, which Oracle refuses with FOR UPDATE (ORA-02014). It counts rows
        // before SKIP LOCKED skips any, so a pass may take fewer than the limit: the next one takes them.
        max_devices: limit ?? Number.MAX_SAFE_INTEGER,
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
