import { setImmediate as yieldToOthers } from 'node:timers/promises';
import type { Logger } from '../logger';
import type { CommandService } from './command-service';

export interface CommandExpiryOptions {
  /** Time between two sweeps, ms. */
  readonly intervalMs: number;
  /** Most commands one batch moves to EXPIRED; a sweep runs batches until one comes back short. */
  readonly batchSize: number;
}

/**
 * One pass of the command-expiry job (every interval, run by the consumer with the other
 * background jobs; see jobs/periodic-job.ts): commands past their deadline without an answer
 * become EXPIRED. Each one is its own compare-and-set, so an answer arriving at the same moment
 * on an API node wins or loses cleanly; the service tells its change listener (commandUpdated)
 * of each one this sweep moved. Batches are small and the event loop turns between them.
 */
export class CommandExpiry {
  constructor(
    private readonly commands: Pick<CommandService, 'expireDue'>,
    private readonly options: CommandExpiryOptions,
    private readonly logger: Logger,
  ) {}

  /**
   * Expires at most `limit` commands due now (all when undefined), batch by batch; resolves with
   * whether more may remain. A failure rejects; what was moved is moved.
   */
  async run(limit?: number, signal?: AbortSignal): Promise<boolean> {
    let expired = 0;
    let more = false;
    try {
      for (;;) {
        const batch = Math.min(this.options.batchSize, (limit ?? Infinity) - expired);
        const moved = await this.commands.expireDue(batch);
        expired += moved;
        // Fewer than a batch moved: none is left due (a lost race moves nothing, and is not read again).
        if (moved < batch) break;
        if ((limit !== undefined && expired >= limit) || signal?.aborted) {
          more = true;
          break;
        }
        await yieldToOthers();
      }
    } finally {
      if (expired > 0) this.logger.info({ expired }, 'commands expired');
    }
    return more;
  }
}
