import { DeletedDeviceDataRemover } from '../../src/devices/deleted-device-data-remover';
import type { DeletedDeviceDataRemoval } from '../../src/domain/device';
import { runPacedSteps } from '../../src/jobs/paced-steps';
import { silentLogger } from '../support/logger';

describe('runPacedSteps', () => {
  it('runs steps until one says no more', async () => {
    // A fake clock: each step "takes" 40 units; the pause after it is read off the same clock.
    let clock = 0;
    const pauses: number[] = [];
    let left = 3;
    const steps = await runPacedSteps(
      async () => {
        const before = clock;
        clock += 40;
        pauses.push(before);
        return --left > 0;
      },
      () => false,
      () => clock,
    );
    expect(steps).toBe(3);
    expect(pauses).toEqual([0, 40, 80]);
  });

  it('stops after the current step when asked', async () => {
    let stopping = false;
    let steps = 0;
    const run = await runPacedSteps(
      async () => {
        steps++;
        if (steps === 2) stopping = true;
        return true;
      },
      () => stopping,
    );
    expect(run).toBe(2);
  });

  it('pauses for real: the next step starts no sooner than twice the time the previous one took', async () => {
    const starts: number[] = [];
    let ends = 0;
    await runPacedSteps(
      async () => {
        starts.push(performance.now());
        await new Promise((resolve) => setTimeout(resolve, 20));
        ends = performance.now();
        return starts.length < 2;
      },
      () => false,
    );
    // The second step started twice the first one's duration (≥ 2 × 20 ms, minus timer slack) after it ended.
    expect(starts).toHaveLength(2);
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(3 * 19);
    expect(ends).toBeGreaterThan(starts[1]!);
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
    const remover = new DeletedDeviceDataRemover(store, 1000, silentLogger, (rows) => counted.push(rows));
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
    expect(await new DeletedDeviceDataRemover(busy(), 1000, silentLogger, (rows) => counted.push(rows)).run(2500)).toBe(true);
    expect(counted).toEqual([1000, 1000, 1000]);
    const aborted = new AbortController();
    aborted.abort();
    const steps: number[] = [];
    expect(await new DeletedDeviceDataRemover(busy(), 1000, silentLogger, (rows) => steps.push(rows)).run(undefined, aborted.signal)).toBe(true);
    expect(steps).toEqual([1000]);
  });
});
