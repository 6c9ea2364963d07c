import type { DeviceStatus } from './anomalies/anomaly';
import { TelemetryError } from './errors';

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
  /**
   * True when its bulk data (raw values, rollups, event ids) is left for the background removal
   * (DeletedDeviceDataRemover): removing millions of rows in the deleting transaction would hold
   * the write lock for seconds. False when its data was kept.
   */
  readonly removingData: boolean;
}

/** One bounded step of removing deleted devices' bulk data (DeviceStore.removeDeletedDeviceData). */
export interface DeletedDeviceDataRemoval {
  /** Rows removed by this step. */
  readonly removedRows: number;
  /** True while some deleted device still has data to remove. */
  readonly more: boolean;
}

/** Seconds a client is told to wait before registering again an id whose old data is still being removed. */
export const DATA_REMOVAL_RETRY_AFTER_SECONDS = 5;

/**
 * registerDevice under the id of a device deleted without keeping its data, while that data is
 * still being removed: a device registered now would see the old readings vanish under it.
 */
export function dataRemovalPending(deviceId: string): TelemetryError {
  return new TelemetryError('UNAVAILABLE', `device "${deviceId}" was deleted and its data is still being removed; register it again in a few seconds`, {
    details: { reason: 'DEVICE_DATA_REMOVAL', retryAfterSeconds: DATA_REMOVAL_RETRY_AFTER_SECONDS },
  });
}

export const isDataRemovalPending = (error: unknown): boolean => error instanceof TelemetryError && error.details?.['reason'] === 'DEVICE_DATA_REMOVAL';
