import type { DeviceStatus } from './anomalies/anomaly';

/** A JSON value: what one device attribute holds. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** Free-form device attributes: string key -> JSON value (limits: devices/device-attributes.ts). */
export type DeviceAttributes = { readonly [key: string]: JsonValue };

export interface Device {
  readonly tenantId: string;
  readonly id: string;
  readonly name: string;
  readonly tags: readonly string[];
  readonly createdAt: number;
  readonly status: DeviceStatus;
  /** When the stream last accepted a reading of the device (UTC ms), or null. */
  readonly lastSeenAt: number | null;
  /** Silence after which the device goes offline; null: the service default. */
  readonly heartbeatTimeoutMs: number | null;
  readonly attributes: DeviceAttributes;
}

export interface NewDevice {
  readonly id: string;
  readonly name: string;
  readonly tags: readonly string[];
  readonly heartbeatTimeoutMs?: number | null;
  /** None when absent. */
  readonly attributes?: DeviceAttributes;
}

/** What updateDevice changes: each field absent is left as it is. */
export interface DevicePatch {
  readonly name?: string;
  readonly tags?: readonly string[];
  /** null: back to the service default. */
  readonly heartbeatTimeoutMs?: number | null;
  /** Replaces the whole map. */
  readonly attributes?: DeviceAttributes;
}

/** What deleting a device did. */
export interface DeviceDeletion {
  /** The device keys revoked with it (their connections close). */
  readonly revokedKeyIds: readonly string[];
  /** Rows removed with it (0 when its data was kept). */
  readonly deletedRows: number;
}
