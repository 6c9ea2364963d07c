import type { DeviceStatus } from './anomalies/anomaly';

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
}

export interface NewDevice {
  readonly id: string;
  readonly name: string;
  readonly tags: readonly string[];
  readonly heartbeatTimeoutMs?: number | null;
}
