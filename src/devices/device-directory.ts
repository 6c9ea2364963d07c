import { TelemetryError } from '../domain/errors';
import type { DeviceStore } from '../store/ports/device-store';

/**
 * Answers "which of these device ids exist in this tenant?" on the ingest and consume hot
 * paths. Positive answers are cached for the life of the process (a device deleted here is
 * forgotten at once; one deleted through another process is still accepted by ingest here,
 * and the consumer turns its readings into DEVICE_DELETED dead letters inside its batch
 * transaction); negative answers are not, so a device registered on another node is seen at once.
 */
export class DeviceDirectory {
  private readonly known = new Map<string, Set<string>>();

  constructor(private readonly store: DeviceStore) {}

  async existing(tenantId: string, deviceIds: Iterable<string>): Promise<Set<string>> {
    const cached = this.known.get(tenantId) ?? new Set<string>();
    const found = new Set<string>();
    const missing: string[] = [];
    for (const id of new Set(deviceIds)) {
      if (cached.has(id)) found.add(id);
      else missing.push(id);
    }
    if (missing.length > 0) {
      for (const device of await this.store.getDevices(tenantId, missing)) {
        cached.add(device.id);
        found.add(device.id);
      }
      this.known.set(tenantId, cached);
    }
    return found;
  }

  /** Fails with NOT_FOUND naming every id that is not a device of the tenant. */
  async require(tenantId: string, deviceIds: readonly string[]): Promise<void> {
    const known = await this.existing(tenantId, deviceIds);
    const unknown = deviceIds.filter((id) => !known.has(id));
    if (unknown.length > 0) throw new TelemetryError('NOT_FOUND', `no device ${unknown.map((id) => `"${id}"`).join(', ')}`);
  }

  /** Called after a deletion in this process: the next ingest for it is refused. */
  forget(tenantId: string, deviceId: string): void {
    this.known.get(tenantId)?.delete(deviceId);
  }

  /** Called after a registration in this process, so the next ingest needs no lookup. */
  remember(tenantId: string, deviceId: string): void {
    const cached = this.known.get(tenantId) ?? new Set<string>();
    cached.add(deviceId);
    this.known.set(tenantId, cached);
  }
}
