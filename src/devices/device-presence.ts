import type { DeviceStatusChange } from '../domain/anomalies/anomaly';
import type { Logger } from '../logger';
import type { DeviceStore } from '../store/ports/device-store';

/**
 * Device liveness from MQTT connections: the first connection of a device brings it ONLINE,
 * the last one closing (a clean DISCONNECT, a keep-alive timeout, a lost socket: whenever a
 * broker would publish a last will) takes it OFFLINE at once, rather than after the silence
 * timeout. Each change is published like the liveness sweep's (`deviceStatusChanged`).
 *
 * The broker only counts here: the store write is queued, one device's writes in order, so a
 * CONNECT is answered without waiting for the database. The store ignores a status already in
 * place, so nothing is published twice. A write that fails is logged and dropped: readings and
 * the sweep still tell the truth later. Connections are counted per process: a device holding
 * connections to two API nodes goes OFFLINE when either closes its last one.
 */
export class DevicePresence {
  private readonly open = new Map<string, number>();
  private readonly writes = new Map<string, Promise<void>>();

  constructor(
    private readonly store: Pick<DeviceStore, 'markConnection'>,
    private readonly publish: (changes: DeviceStatusChange[]) => void,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** An authenticated MQTT connection of the device opened. */
  connected(tenantId: string, deviceId: string): void {
    const key = `${tenantId}\u0000${deviceId}`;
    const count = (this.open.get(key) ?? 0) + 1;
    this.open.set(key, count);
    if (count === 1) this.write(key, tenantId, deviceId, true);
  }

  /** One of the device's MQTT connections closed, however it ended. */
  disconnected(tenantId: string, deviceId: string): void {
    const key = `${tenantId}\u0000${deviceId}`;
    const count = (this.open.get(key) ?? 1) - 1;
    if (count > 0) {
      this.open.set(key, count);
      return;
    }
    this.open.delete(key);
    this.write(key, tenantId, deviceId, false);
  }

  /** Resolves once every queued write is done (at shutdown). */
  async settled(): Promise<void> {
    while (this.writes.size > 0) await Promise.all(this.writes.values());
  }

  private write(key: string, tenantId: string, deviceId: string, connected: boolean): void {
    const at = this.now();
    const previous = this.writes.get(key) ?? Promise.resolve();
    const next = previous
      .then(() => this.store.markConnection(tenantId, deviceId, connected, at))
      .then(
        (change) => {
          if (change) this.publish([change]);
        },
        (error: unknown) => this.logger.warn({ err: error, tenantId, deviceId, connected }, 'could not record a device connection change'),
      )
      .finally(() => {
        if (this.writes.get(key) === next) this.writes.delete(key);
      });
    this.writes.set(key, next);
  }
}
