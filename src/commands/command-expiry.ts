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
 * Every interval, commands past their deadline without an answer become EXPIRED (run by the
 * consumer, with the other background jobs). Each one is its own compare-and-set, so an answer
 * arriving at the same moment on an API node wins or loses cleanly; the service tells its change
 * listener (commandUpdated) of each one this sweep moved. Batches are small and the event loop
 * turns between them.
 */
export class CommandExpiry {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopping = false;

  constructor(
    private readonly commands: Pick<CommandService, 'expireDue'>,
    private readonly options: CommandExpiryOptions,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.sweep().finally(() => (this.running = undefined));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  /** Expires every command due now, batch by batch; resolves with how many it moved. */
  async sweep(): Promise<number> {
    let expired = 0;
    try {
      while (!this.stopping) {
        const moved = await this.commands.expireDue(this.options.batchSize);
        expired += moved;
        // Fewer than a batch moved: none is left due (a lost race moves nothing, and is not read again).
        if (moved < this.options.batchSize) break;
        await yieldToOthers();
      }
    } catch (error) {
      // A busy or failing database: the next sweep tries again; what was moved is moved.
      this.logger.warn({ err: error }, 'command expiry sweep failed');
    }
    if (expired > 0) this.logger.info({ expired }, 'commands expired');
    return expired;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    await this.running;
  }
}
