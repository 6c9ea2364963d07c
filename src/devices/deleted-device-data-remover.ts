import type { Logger } from '../logger';
import { runPacedSteps } from '../jobs/paced-steps';
import type { DeviceStore } from '../store/ports/device-store';

/**
 * Removes the raw values, rollups and event ids of devices deleted without keeping their data
 * (deleteDevice leaves them, marked, because a device with years of readings would hold the
 * write lock for seconds in one transaction). A background job of the consumer role
 * (composition/consumer-jobs.ts), in bounded steps paced so that ingest and API writes keep
 * the lock most of the time (jobs/paced-steps.ts). Until a device's data is gone, registering
 * its id again is refused (domain/device.ts dataRemovalPending).
 */
export class DeletedDeviceDataRemover {
  constructor(
    private readonly store: Pick<DeviceStore, 'removeDeletedDeviceData'>,
    private readonly options: {
      /** Most rows of each table one step removes (one short transaction). */
      readonly batchRows: number;
      /** Pause between steps (jobs/paced-steps.ts): the embedded store; not Oracle. */
      readonly paced: boolean;
    },
    private readonly logger: Logger,
    private readonly removed: (rows: number) => void = () => {},
  ) {}

  /**
   * One pass (jobs/periodic-job.ts JobPass): steps until nothing is left, `limit` rows are
   * removed, or `signal` aborts; resolves with whether more remains.
   */
  async run(limit?: number, signal?: AbortSignal): Promise<boolean> {
    let rows = 0;
    let more = false;
    const started = Date.now();
    const steps = await runPacedSteps(
      async () => {
        const step = await this.store.removeDeletedDeviceData(this.options.batchRows);
        rows += step.removedRows;
        if (step.removedRows > 0) this.removed(step.removedRows);
        more = step.more;
        return more && (limit === undefined || rows < limit);
      },
      { signal, paced: this.options.paced },
    );
    if (rows > 0) this.logger.info({ rows, steps, more, durationMs: Date.now() - started }, 'removed the data of deleted devices');
    return more;
  }
}
