import { effectivePolicy, RETENTION_KINDS, type RetentionKind, type RetentionPolicy } from '../domain/retention';
import { runPacedSteps } from '../jobs/paced-steps';
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
  /**
   * Pause after each batch twice as long as it took (jobs/paced-steps.ts), so that other writers
   * get the embedded store's single write lock; Oracle locks rows and needs none. @default true
   */
  readonly pacedBatches?: boolean;
}

/** Rows removed by one pass, per kind. */
export type RemovedRows = Record<RetentionKind, number>;

const noneRemoved = (): RemovedRows => Object.fromEntries(RETENTION_KINDS.values.map((kind) => [kind, 0])) as RemovedRows;

/** What one pass did. */
export interface RetentionPass {
  readonly removed: RemovedRows;
  /** The pass stopped at its limit (or was stopped) before everything due was removed. */
  readonly more: boolean;
}

/**
 * Removes what retention lets go: one pass of the retention job (every `intervalMs`, see
 * jobs/periodic-job.ts), in the consumer role. Each kind of each tenant goes in batches of at
 * most batchRows rows, each batch its own short transaction, followed by a pause twice as long as the
 * batch took (jobs/paced-steps.ts: back to back, the batches starved other writers of the lock). Raw readings older than every
 * tenant's raw retention first go in bulk (Oracle drops whole day partitions). One log line
 * per pass; `removed` is told each batch (metrics).
 */
export class RetentionEnforcer {
  constructor(
    private readonly store: RetentionStore,
    private readonly options: RetentionEnforcerOptions,
    private readonly logger: Logger,
    private readonly removed: (kind: RetentionKind, rows: number) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * One pass removing at most `limit` rows (all that are due when undefined); resolves with
   * whether more may remain. A pass stopped at its limit starts over at the first tenant next
   * time: what it removed is gone, so those tenants' batches come back empty at once.
   */
  async run(limit?: number, signal?: AbortSignal): Promise<boolean> {
    return (await this.pass(limit, signal)).more;
  }

  /** One whole pass over every tenant and kind; resolves with the rows removed. */
  async enforce(): Promise<RemovedRows> {
    return (await this.pass(undefined, undefined)).removed;
  }

  private async pass(limit: number | undefined, signal: AbortSignal | undefined): Promise<RetentionPass> {
    const started = this.now();
    const removed = noneRemoved();
    const budget = { left: limit ?? Infinity };
    const tenants = await this.store.tenantsRetention();
    const policies = new Map([...tenants].map(([tenantId, overrides]) => [tenantId, effectivePolicy(this.options.defaults, overrides)]));
    const rawCutoffs = [...policies.values()].map((policy) => started - policy.RAW_READINGS);
    const partitionsDropped = rawCutoffs.length > 0 ? await this.store.dropReadingsBefore(Math.min(...rawCutoffs)) : 0;
    const cutoffs: [RetentionKind, string | null, number][] = [...policies].flatMap(([tenantId, policy]) =>
      RETENTION_KINDS.values.map((kind): [RetentionKind, string | null, number] => [kind, tenantId, started - policy[kind]]),
    );
    // Dead letters that could not be decoded belong to no tenant: the service default applies.
    cutoffs.push(['DEAD_LETTERS', null, started - this.options.defaults.DEAD_LETTERS]);
    let more = false;
    for (const [kind, tenantId, cutoff] of cutoffs) {
      if (budget.left <= 0 || signal?.aborted) {
        more = true;
        break;
      }
      const { rows, done } = await this.removeAll(kind, tenantId, cutoff, budget, signal);
      removed[kind] += rows;
      if (!done) {
        more = true;
        break;
      }
    }
    this.logger.info({ removed, partitionsDropped, tenants: policies.size, more, durationMs: this.now() - started }, 'retention pass done');
    return { removed, more };
  }

  /** Batches of one kind of one tenant until one comes back short (done) or the budget or the signal stops it. */
  private async removeAll(
    kind: RetentionKind,
    tenantId: string | null,
    cutoff: number,
    budget: { left: number },
    signal: AbortSignal | undefined,
  ): Promise<{ rows: number; done: boolean }> {
    let total = 0;
    let done = false;
    // Paced: the persister's rounds and the API's writes get the write lock between batches.
    await runPacedSteps(
      async () => {
        const limit = Math.min(this.options.batchRows, budget.left);
        const rows = await this.store.deleteExpired({ kind, tenantId, cutoff, limit });
        total += rows;
        budget.left -= rows;
        if (rows > 0) this.removed(kind, rows);
        done = rows < limit;
        return !done && budget.left > 0;
      },
      { signal, paced: this.options.pacedBatches ?? true },
    );
    return { rows: total, done };
  }
}
