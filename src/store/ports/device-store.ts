import type { DeviceStatus, DeviceStatusChange, SilenceSweep } from '../../domain/anomalies/anomaly';
import type { DeletedDeviceDataRemoval, Device, DeviceDeletion, DevicePatch, NewDevice } from '../../domain/device';
import type { Page, PageRequest } from '../../domain/page';

export interface DeviceFilter {
  /** Devices carrying this tag. */
  readonly tag?: string | undefined;
  /** Devices whose name contains this text, case-insensitively. */
  readonly nameContains?: string | undefined;
  /** Devices in this status. */
  readonly status?: DeviceStatus | undefined;
  /** Devices whose attribute index holds this entry (domain/device-attributes.ts attributeEntry). */
  readonly attributeEntry?: string | undefined;
}

/** The device directory and device liveness. */
export interface DeviceStore {
  /**
   * Rejects with TelemetryError ALREADY_EXISTS when the id is taken in the tenant. A device
   * registered under the id of a deleted one starts empty (unless that one's data was kept)
   * and its readings are applied again.
   */
  registerDevice(tenantId: string, device: NewDevice): Promise<Device>;
  getDevices(tenantId: string, ids: readonly string[]): Promise<Device[]>;
  listDevices(tenantId: string, filter: DeviceFilter, page: PageRequest): Promise<Page<Device>>;
  /** Changes the fields the patch names; undefined when the device does not exist in the tenant. */
  updateDevice(tenantId: string, deviceId: string, patch: DevicePatch): Promise<Device | undefined>;
  /**
   * In one transaction: removes the device, revokes its device keys, and records it deleted
   * (the consumer then dead-letters its readings still in the stream). Unless `keepData`, its
   * latest values, detector state, anomalies and their pending webhook deliveries go too, and
   * its raw values, rollups and event ids are marked for removeDeletedDeviceData (registering
   * the id again is refused with dataRemovalPending until they are gone). Undefined when the
   * device does not exist in the tenant.
   */
  deleteDevice(tenantId: string, deviceId: string, keepData: boolean, at: number): Promise<DeviceDeletion | undefined>;
  /**
   * One bounded step of removing deleted devices' raw values, rollups and event ids: at most
   * `limit` rows of each table, in one short transaction, so that ingest and API writes never
   * wait long for the write lock. `more` says whether another step has work.
   */
  removeDeletedDeviceData(limit: number): Promise<DeletedDeviceDataRemoval>;
  /** Undefined when the device does not exist in the tenant. */
  setHeartbeatTimeout(tenantId: string, deviceId: string, timeoutMs: number | null): Promise<Device | undefined>;
  /** Marks the device DECOMMISSIONED (no liveness checks); undefined when it does not exist. */
  decommissionDevice(tenantId: string, deviceId: string, at: number): Promise<DeviceStatusChange | undefined>;
  /**
   * Online devices silent past their timeout go OFFLINE, each with a SILENCE anomaly, in one
   * transaction: at most `limit` of them (all when undefined); the rest go on the next call.
   */
  markSilentDevices(now: number, defaultTimeoutMs: number, limit?: number): Promise<SilenceSweep>;
  /**
   * A device's MQTT connection opened (`connected`: ONLINE, seen at `at`, open SILENCE
   * anomalies resolved) or its last one closed (OFFLINE), in one transaction
   * (domain/device-connection.ts). Undefined when nothing changed or the device does not exist.
   */
  markConnection(tenantId: string, deviceId: string, connected: boolean, at: number): Promise<DeviceStatusChange | undefined>;
}
