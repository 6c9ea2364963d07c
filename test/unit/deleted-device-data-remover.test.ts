import { DeletedDeviceDataRemover } from '../../src/devices/deleted-device-data-remover';
import type { DeletedDeviceDataRemoval } from '../../src/domain/device';
import { runPacedSteps } from '../../src/jobs/paced-steps';
import { silentLogger } from '../support/logger';

describe('runPacedSteps', () => {
  it('runs steps until one says no more', async () => {
    let left = 3;
    expect(await runPacedSteps(async () => --left > 0, { now: () => 0 })).toBe(3);
  });

  it('stops after the current step once aborted, and during a pause', async () => {
    const aborted = new AbortController();
    let steps = 0;
    const run = await runPacedSteps(
      async () => {
        steps++;
        if (steps === 2) aborted.abort();
        return true;
      },
      { signal: aborted.signal },
    );
    expect(run).toBe(2);
    // A step that "took" an hour: the pause after it (two hours) ends when the signal aborts.
    const pausing = new AbortController();
    let clock = 0;
    const paused = runPacedSteps(
      async () => {
        clock += 3_600_000;
        return true;
      },
      { signal: pausing.signal, now: () => clock },
    );
    setImmediate(() => pausing.abort());
    expect(await paused).toBe(1);
  });

  it('pauses for real: the next step starts no sooner than twice the time the previous one took; unpaced, at once', async () => {
    const starts: number[] = [];
    const step = async () => {
      starts.push(performance.now());
      await new Promise((resolve) => setTimeout(resolve, 20));
      return starts.length < 2;
    };
    await runPacedSteps(step);
    // The second step started the first one's 20 ms plus twice that (minus timer slack) after the first started.
    expect(starts).toHaveLength(2);
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(3 * 19);
    // Unpaced (Oracle): a fake clock says each step took an hour, and yet the steps follow at once.
    let clock = 0;
    let unpaced = 0;
    const run = runPacedSteps(
      async () => {
        clock += 3_600_000;
        return ++unpaced < 3;
      },
      { paced: false, now: () => clock },
    );
    expect(await run).toBe(3);
  });
});

describe('DeletedDeviceDataRemover', () => {
  const storeAnswering = (answers: DeletedDeviceDataRemoval[], limits: number[] = []) => ({
    removeDeletedDeviceData: async (limit: number) => {
      limits.push(limit);
      return answers.shift() ?? { removedRows: 0, more: false };
    },
  });

  it('removes until the store has nothing more, counting each step’s rows', async () => {
    const limits: number[] = [];
    const counted: number[] = [];
    const store = storeAnswering(
      [
        { removedRows: 3000, more: true },
        { removedRows: 1200, more: true },
        { removedRows: 7, more: false },
      ],
      limits,
    );
    const remover = new DeletedDeviceDataRemover(store, { batchRows: 1000, paced: true }, silentLogger, (rows) => counted.push(rows));
    expect(await remover.run()).toBe(false);
    expect(limits).toEqual([1000, 1000, 1000]);
    expect(counted).toEqual([3000, 1200, 7]);
    // Nothing pending: one step that finds nothing, nothing counted.
    expect(await remover.run()).toBe(false);
    expect(counted).toHaveLength(3);
  });

  it('stops at its limit (rows) or when aborted, saying more remains', async () => {
    const busy = () => storeAnswering(Array.from({ length: 10 }, () => ({ removedRows: 1000, more: true })));
    const counted: number[] = [];
    expect(await new DeletedDeviceDataRemover(busy(), { batchRows: 1000, paced: false }, silentLogger, (rows) => counted.push(rows)).run(2500)).toBe(true);
    expect(counted).toEqual([1000, 1000, 1000]);
    const aborted = new AbortController();
    aborted.abort();
    const steps: number[] = [];
    expect(
      await new DeletedDeviceDataRemover(busy(), { batchRows: 1000, paced: false }, silentLogger, (rows) => steps.push(rows)).run(undefined, aborted.signal),
    ).toBe(true);
    expect(steps).toEqual([1000]);
  });
});
