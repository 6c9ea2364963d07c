import type { DeviceStatus, DeviceStatusChange } from '../../domain/anomalies/anomaly';
import type { Reading } from '../../domain/reading';
import type { BatchTransaction, DeviceKey, DeviceSeen } from '../../store/batch-transaction';
import { step, type Steps } from '../../store/batch-steps';

/** The devices a batch has fresh readings of, each with its latest arrival time (UTC ms). */
export type SeenDevices = Map<string, DeviceKey & { seenAt: number }>;

/** Notes one fresh reading: its device was seen when the stream accepted it (else at its timestamp). */
export function noteSeen(seen: SeenDevices, reading: Reading & { readonly receivedAt?: number }): void {
  const key = `${reading.tenantId}\u0000${reading.deviceId}`;
  const at = reading.receivedAt ?? reading.timestamp;
  const known = seen.get(key);
  if (known) known.seenAt = Math.max(known.seenAt, at);
  else seen.set(key, { tenantId: reading.tenantId, deviceId: reading.deviceId, seenAt: Math.max(0, at) });
}

/**
 * Step 7 of the batch: every registered device with a fresh reading is seen at its latest
 * arrival time and comes ONLINE (unless decommissioned). A device that was OFFLINE has its
 * open SILENCE anomalies resolved by 'system'. Returns the status changes.
 */
export function* markDevicesSeen(tx: BatchTransaction, seen: SeenDevices): Steps<DeviceStatusChange[]> {
  if (seen.size === 0) return [];
  const devices = [...seen.values()];
  const stored = yield* step(tx.deviceLiveness(devices));
  const updates: DeviceSeen[] = [];
  const silenceOver: (DeviceKey & { at: number })[] = [];
  const changes: DeviceStatusChange[] = [];
  devices.forEach(({ tenantId, deviceId, seenAt }, index) => {
    const row = stored[index];
    if (!row) return;
    const status: DeviceStatus = row.status === 'DECOMMISSIONED' ? 'DECOMMISSIONED' : 'ONLINE';
    updates.push({ tenantId, deviceId, status, seenAt });
    if (status === row.status) return;
    changes.push({ tenantId, deviceId, status, previousStatus: row.status, at: seenAt, lastSeenAt: Math.max(row.lastSeenAt ?? 0, seenAt) });
    if (row.status === 'OFFLINE') silenceOver.push({ tenantId, deviceId, at: seenAt });
  });
  if (updates.length > 0) yield* step(tx.markDevicesSeen(updates));
  if (silenceOver.length > 0) yield* step(tx.resolveSilence(silenceOver));
  return changes;
}
