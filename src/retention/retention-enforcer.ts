import { setImmediate as yieldToOthers } from 'node:timers/promises';
import { effectivePolicy, RETENTION_KINDS, type RetentionKind, type RetentionPolicy } from '../domain/retention';
import type { Logger } from '../logger';
import type { RetentionStore } from '../store/ports/retention-store';

export interface RetentionEnforcerOptions {
  /** The service defaults (a tenant's own settings override them kind by kind). */
  readonly defaults: RetentionPolicy;
  /** Time between the starts of two passes, ms. */
  readonly intervalMs: number;
  /**
   * Most rows one batch deletes. Each batch is its own transaction: this bounds how long the
   * write lock is held, so how long a consumer batch (ingest) may wait behind retention.
   */
  readonly batchRows: number;
}

/** Rows removed by one pass, per kind. */
export type RemovedRows = Record<RetentionKind, number>;

const noneRemoved = (): RemovedRows => Object.fromEntries(RETENTION_KINDS.values.map((kind) => [kind, 0])) as RemovedRows;

/**
 * Removes what retention lets go, every interval, in the consumer role. Each kind of each
 * tenant goes in batches of at most batchRows rows, each batch its own short transaction, and
 * the event loop turns between batches (so the persister's rounds interleave with them). Raw
 * readings older than every tenant's raw retention first go in bulk (Oracle drops whole day
 * partitions). One log line per pass; `removed` is told each batch (metrics).
 */
export class RetentionEnforcer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopping = false;

  constructor(
    private readonly store: RetentionStore,
    private readonly options: RetentionEnforcerOptions,
    private readonly logger: Logger,
    private readonly removed: (kind: RetentionKind, rows: number) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.enforce()
        .catch((error: unknown) => {
          // A busy or failing database: the next pass starts over; each batch committed or not.
          this.logger.warn({ err: error }, 'retention pass failed');
        })
        .finally(() => (this.running = undefined));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  /** One pass over every tenant and kind; resolves with the rows removed. */
  async enforce(): Promise<RemovedRows> {
    const started = this.now();
    const removed = noneRemoved();
    const tenants = await this.store.tenantsRetention();
    const policies = new Map([...tenants].map(([tenantId, overrides]) => [tenantId, effectivePolicy(this.options.defaults, overrides)]));
    const rawCutoffs = [...policies.values()].map((policy) => started - policy.RAW_READINGS);
    const partitionsDropped = rawCutoffs.length > 0 ? await this.store.dropReadingsBefore(Math.min(...rawCutoffs)) : 0;
    for (const [tenantId, policy] of policies) {
      for (const kind of RETENTION_KINDS.values) {
        if (this.stopping) return removed;
        removed[kind] += await this.removeAll(kind, tenantId, started - policy[kind]);
      }
    }
    // Dead letters that could not be decoded belong to no tenant: the service default applies.
    removed.DEAD_LETTERS += await this.removeAll('DEAD_LETTERS', null, started - this.options.defaults.DEAD_LETTERS);
    this.logger.info({ removed, partitionsDropped, tenants: policies.size, durationMs: this.now() - started }, 'retention pass done');
    return removed;
  }

  private async removeAll(kind: RetentionKind, tenantId: string | null, cutoff: number): Promise<number> {
    let total = 0;
    for (;;) {
      const rows = await this.store.deleteExpired({ kind, tenantId, cutoff, limit: this.options.batchRows });
      total += rows;
      if (rows > 0) this.removed(kind, rows);
      if (rows < this.options.batchRows || this.stopping) return total;
      // Lets the persister's next round (and anything else waiting) take the write lock.
      await yieldToOthers();
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    await this.running;
  }
}
