import type { Steps } from '../batch-steps';
import type { BatchTransaction } from '../batch-transaction';

/** The one write path of readings, anomalies, dead letters and watermarks: the consumer's batch. */
export interface BatchStore {
  /**
   * Runs `work` in ONE database transaction over this backend's BatchTransaction primitives:
   * commits when it returns, rolls back when it throws. The consumer's batch pipeline
   * (consumers/pipeline/apply-batch.ts) is the work; a backend implements only the primitives,
   * never the steps, so the steps cannot differ between backends.
   */
  transact<T>(work: (tx: BatchTransaction) => Steps<T>): Promise<T>;
}
