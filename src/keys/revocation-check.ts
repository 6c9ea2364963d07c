import type { Logger } from '../logger';
import type { TenantKeyStore } from '../store/ports/tenant-key-store';

export interface RevocationCheckOptions {
  readonly store: TenantKeyStore;
  /** The ids of the keys holding connections (WebSocket, MQTT) on this node now. */
  readonly connectedKeyIds: () => Iterable<string>;
  /** Stops serving keys found revoked: forgets them and closes their connections. */
  readonly revoked: (keyIds: readonly string[]) => void;
  /** Time between the end of one check and the start of the next, ms (TELEMETRY_REVOCATION_CHECK_MS). */
  readonly intervalMs: number;
  readonly logger: Logger;
}

/**
 * The fallback of the revocation notices (domain/revocation-notice.ts): a notice can be lost
 * (its produce failed on the revoking node, a node was restarting) or late, and a revoked key's
 * connection would then stay open for as long as the client keeps it. Every `intervalMs` this
 * asks the store which of the keys holding connections here are revoked and closes those.
 *
 * Cheap by construction: nothing is asked while no connection is open, and one question covers
 * every key (TenantKeyStore.revokedApiKeyIds). Checks never overlap; a failed one is logged and
 * the next one runs on time.
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

  /** One check: the ids of the keys found revoked (their connections are being closed). */
  async check(): Promise<string[]> {
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
