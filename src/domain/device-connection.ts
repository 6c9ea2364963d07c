import type { DeviceStatus, DeviceStatusChange } from './anomalies/anomaly';

/** A device's stored liveness, as the connection rule reads it. */
export interface StoredLiveness {
  readonly status: DeviceStatus;
  readonly lastSeenAt: number | null;
}

/**
 * What an MQTT connection opening (`connected`) or its last one closing does to a device's
 * status: connecting is being seen (ONLINE, last seen = `at`), losing the last connection is
 * OFFLINE at once (what silence detection would conclude later). A DECOMMISSIONED device
 * stays so, and a status already in place is no change (undefined), so a repeated call is
 * harmless and publishes nothing.
 */
export function connectionStatusChange(
  tenantId: string,
  deviceId: string,
  stored: StoredLiveness,
  connected: boolean,
  at: number,
): DeviceStatusChange | undefined {
  if (stored.status === 'DECOMMISSIONED') return undefined;
  const status: DeviceStatus = connected ? 'ONLINE' : 'OFFLINE';
  if (status === stored.status || (!connected && stored.status === 'NEVER_SEEN')) return undefined;
  const lastSeenAt = connected ? Math.max(stored.lastSeenAt ?? 0, at) : stored.lastSeenAt;
  return { tenantId, deviceId, status, previousStatus: stored.status, at, lastSeenAt };
}
