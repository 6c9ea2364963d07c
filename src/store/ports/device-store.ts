import type { DeviceStatusChange, SilenceSweep } from '../../domain/anomalies/anomaly';
import type { Device, NewDevice } from '../../domain/device';
import type { Page, PageRequest } from '../../domain/page';

export interface DeviceFilter {
  /** Devices carrying this tag. */
  readonly tag?: string | undefined;
  /** Devices whose name contains this text, case-insensitively. */
  readonly nameContains?: string | undefined;
}

/** The device directory and device liveness. */
export interface DeviceStore {
  /** Rejects with TelemetryError ALREADY_EXISTS when the id is taken in the tenant. */
  registerDevice(tenantId: string, device: NewDevice): Promise<Device>;
  getDevices(tenantId: string, ids: readonly string[]): Promise<Device[]>;
  listDevices(tenantId: string, filter: DeviceFilter, page: PageRequest): Promise<Page<Device>>;
  /** Undefined when the device does not exist in the tenant. */
  setHeartbeatTimeout(tenantId: string, deviceId: string, timeoutMs: number | null): Promise<Device | undefined>;
  /** Marks the device DECOMMISSIONED (no liveness checks); undefined when it does not exist. */
  decommissionDevice(tenantId: string, deviceId: string, at: number): Promise<DeviceStatusChange | undefined>;
  /** Online devices silent past their timeout go OFFLINE, each with a SILENCE anomaly. */
  markSilentDevices(now: number, defaultTimeoutMs: number): Promise<SilenceSweep>;
}
