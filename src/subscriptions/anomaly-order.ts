import type { Anomaly } from '../domain/anomalies/anomaly';
import { BackendError } from '../domain/errors';
import { DEFAULT_RETRY_POLICY, retry, type RetryPolicy } from '../domain/retry';
import type { Logger } from '../logger';
import type { AnomalyStore } from '../store/ports/anomaly-store';

/**
 * Puts the anomalies an API node reads from the events topic back into seq order. Several
 * consumers publish what they commit, and one may publish seq 11 before another publishes
 * seq 10; subscribers and their resume cursors need seq order without gaps. seq grows in
 * commit order and every anomaly is committed before it is published, so when seq N arrives
 * every anomaly below N is already in the database: a gap is read from there, and a late
 * arrival (delivered from the database already) is dropped. With one consumer, anomalies
 * arrive contiguous and the database is never asked.
 */
export class AnomalyOrder {
  private last = 0;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: AnomalyStore,
    private readonly deliver: (anomalies: Anomaly[]) => void,
    private readonly logger: Logger,
    private readonly retryPolicy: RetryPolicy = DEFAULT_RETRY_POLICY,
  ) {}

  /** Anomalies committed before now are history (subscribers replay them from the database). */
  async start(): Promise<void> {
    this.last = await this.store.lastAnomalySeq();
  }

  /** Takes anomalies as published; delivers them (and any missing before them) in seq order. */
  push(anomalies: readonly Anomaly[]): void {
    this.chain = this.chain
      .then(() => this.order(anomalies))
      .catch((error: unknown) => this.logger.error({ err: error }, 'could not order anomalies from the events topic'));
  }

  /**
   * Every anomaly change up to this seq has been delivered (or was history at the start, or is
   * no longer stored and never will be): nothing at or below it is still on its way.
   */
  get publishedThrough(): number {
    return this.last;
  }

  /** Resolves when everything pushed so far is delivered. */
  settled(): Promise<void> {
    return this.chain;
  }

  private async order(anomalies: readonly Anomaly[]): Promise<void> {
    const fresh = anomalies.filter((anomaly) => anomaly.seq > this.last).sort((a, b) => a.seq - b.seq);
    if (fresh.length === 0) return;
    const newest = fresh[fresh.length - 1]!.seq;
    if (fresh.every((anomaly, i) => anomaly.seq === this.last + 1 + i)) {
      this.last = newest;
      this.deliver(fresh);
      return;
    }
    // A gap: something below `newest` is committed but not here yet (or never existed).
    const filled: Anomaly[] = [];
    let after = this.last;
    while (after < newest) {
      const page = await retry(() => this.store.anomaliesOfAllTenantsAfter(after, 500), {
        policy: this.retryPolicy,
        isRetryable: (error) => error instanceof BackendError && error.retryable,
        onRetry: (error, attempt) => this.logger.warn({ err: error, attempt }, 'database unavailable while ordering anomalies; retrying'),
      });
      for (const anomaly of page) if (anomaly.seq <= newest) filled.push(anomaly);
      if (page.length < 500) break;
      after = page[page.length - 1]!.seq;
    }
    this.last = newest;
    if (filled.length > 0) this.deliver(filled);
  }
}
