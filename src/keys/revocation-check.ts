import type { Logger } from '../logger';
import type { DeviceStore } from '../store/ports/device-store';
import type { TenantKeyStore } from '../store/ports/tenant-key-store';
import type { SubscribedDevices } from '../subscriptions/reading-hub';

export interface RevocationCheckOptions {
  readonly store: TenantKeyStore & DeviceStore;
  /** The ids of the keys holding connections (WebSocket, MQTT) on this node now. */
  readonly connectedKeyIds: () => Iterable<string>;
  /** Stops serving keys found revoked: forgets them and closes their connections. */
  readonly revoked: (keyIds: readonly string[]) => void;
  /** The devices that readings subscriptions on this node listen to now (ReadingHub.subscribedDevices). */
  readonly subscribedDevices: () => SubscribedDevices;
  /**
   * Stops serving devices of the tenant found deleted: forgets them and ends the readings
   * subscriptions to them that were open at `mark` (not those opened since).
   */
  readonly deleted: (tenantId: string, deviceIds: readonly string[], mark: number) => void;
  /** Time between the end of one check and the start of the next, ms (TELEMETRY_REVOCATION_CHECK_MS). */
  readonly intervalMs: number;
  readonly logger: Logger;
}

/** What one check found (and stopped serving). */
export interface RevocationCheckResult {
  readonly revokedKeyIds: readonly string[];
  readonly deletedDevices: readonly { readonly tenantId: string; readonly deviceIds: readonly string[] }[];
}

/**
 * The fallback of the revocation notices (domain/revocation-notice.ts): a notice can be lost
 * (its produce failed on the revoking node, a node was restarting) or late, and what it revokes
 * would then go on being served here for as long as the client keeps its connection. Every
 * `intervalMs` this asks the store what this node serves that was revoked or deleted elsewhere:
 *
 * - which of the keys holding connections here are revoked, and closes their connections
 *   (a deleted device's keys are revoked with it: its MQTT connections close here);
 * - which of the devices that readings subscriptions here listen to no longer exist, and ends
 *   those subscriptions as the deviceDeleted notice does. A device deleted and registered
 *   again before the check is found existing and its subscriptions go on; one registered
 *   again during the check keeps the subscriptions opened since the check began.
 *
 * Cheap by construction: nothing is asked while no connection or subscription is open, one
 * question covers every key (TenantKeyStore.revokedApiKeyIds) and one every subscribed device
 * of a tenant (DeviceStore.getDevices). Checks never overlap; a failed one is logged and the
 * next one runs on time.
 */
export class RevocationCheck {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(private readonly options: RevocationCheckOptions) {}

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  /** Stops checking; resolves once a check under way has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One check: the keys found revoked and the devices found deleted (no longer served). */
  async check(): Promise<RevocationCheckResult> {
    // Both halves run to the end even if the other fails (then the check fails, and is logged).
    const [keys, devices] = await Promise.allSettled([this.checkKeys(), this.checkDevices()]);
    if (keys.status === 'rejected') throw keys.reason;
    if (devices.status === 'rejected') throw devices.reason;
    return { revokedKeyIds: keys.value, deletedDevices: devices.value };
  }

  private async checkKeys(): Promise<string[]> {
    const ids = [...new Set(this.options.connectedKeyIds())];
    if (ids.length === 0) return [];
    const revoked = await this.options.store.revokedApiKeyIds(ids);
    if (revoked.length > 0) {
      // Normally the notice closed them first: finding some here means it was lost or late.
      this.options.logger.info({ keyIds: revoked }, 'closing the connections of revoked keys (found by the periodic check)');
      this.options.revoked(revoked);
    }
    return revoked;
  }

  private async checkDevices(): Promise<RevocationCheckResult['deletedDevices']> {
    // Counted before asking: a subscription opened after this may be to the device registered again.
    const { byTenant, mark } = this.options.subscribedDevices();
    const found: { tenantId: string; deviceIds: string[] }[] = [];
    for (const [tenantId, deviceIds] of byTenant) {
      const existing = new Set((await this.options.store.getDevices(tenantId, deviceIds)).map((device) => device.id));
      const deleted = deviceIds.filter((id) => !existing.has(id));
      if (deleted.length === 0) continue;
      // Normally the deviceDeleted notice ended them first: finding some here means it was lost or late.
      this.options.logger.info({ tenantId, deviceIds: deleted }, 'ending the subscriptions to deleted devices (found by the periodic check)');
      this.options.deleted(tenantId, deleted, mark);
      found.push({ tenantId, deviceIds: deleted });
    }
    return found;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.check()
        .catch((error: unknown) => this.options.logger.warn({ err: error }, 'the periodic revocation check failed; retrying at the next one'))
        .finally(() => {
          this.running = undefined;
          this.schedule();
        });
    }, this.options.intervalMs);
    // A pending check never keeps the process alive.
    this.timer.unref();
  }
}
