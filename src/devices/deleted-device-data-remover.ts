import type { Logger } from '../logger';
import { runPacedSteps } from '../jobs/paced-steps';
import type { DeviceStore } from '../store/ports/device-store';

export interface DeletedDeviceDataRemoverOptions {
  /** How often to look for deleted devices whose data is still to be removed, ms. */
  readonly checkIntervalMs: number;
  /** Most rows of each table one step removes (one short transaction). */
  readonly batchRows: number;
}

/**
 * Removes the raw values, rollups and event ids of devices deleted without keeping their data
 * (deleteDevice leaves them, marked, because a device with years of readings would hold the
 * write lock for seconds in one transaction). Runs in the consumer role, in bounded steps
 * paced so that ingest and API writes keep the lock most of the time (jobs/paced-steps.ts).
 * Until a device's data is gone, registering its id again is refused (dataRemovalPending).
 */
export class DeletedDeviceDataRemover {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopping = false;

  constructor(
    private readonly store: Pick<DeviceStore, 'removeDeletedDeviceData'>,
    private readonly options: DeletedDeviceDataRemoverOptions,
    private readonly logger: Logger,
    private readonly removed: (rows: number) => void = () => {},
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.removeAll()
        .catch((error: unknown) => {
          // A busy or failing database: the next check starts over; each step committed or not.
          this.logger.warn({ err: error }, 'removing the data of deleted devices failed');
        })
        .finally(() => (this.running = undefined));
    }, this.options.checkIntervalMs);
    this.timer.unref();
  }

  /** Removes everything pending (or until stopped); resolves with the rows removed. */
  async removeAll(): Promise<number> {
    let rows = 0;
    const started = Date.now();
    const steps = await runPacedSteps(
      async () => {
        const step = await this.store.removeDeletedDeviceData(this.options.batchRows);
        rows += step.removedRows;
        if (step.removedRows > 0) this.removed(step.removedRows);
        return step.more;
      },
      () => this.stopping,
    );
    if (rows > 0) this.logger.info({ rows, steps, durationMs: Date.now() - started }, 'removed the data of deleted devices');
    return rows;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    await this.running;
  }
}
