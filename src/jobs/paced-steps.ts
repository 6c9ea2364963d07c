import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Runs `step` until it says no more work is left, or `stopping()` turns true, pausing after each
 * step as long as that step took. Background removals (a deleted device's data, retention) are
 * many short write transactions; run back to back they hold SQLite's single write lock nearly
 * all the time, and a write from another connection (an API-thread updateDevice, a key's
 * last-used time) waits in busy_timeout behind one step after another: measured with
 * `npm run bench:removal`, such a write then took up to a second. Pausing as long as the step
 * took leaves the lock free at least half the time, so any other writer waits for one step at
 * most; the removal takes about twice as long, which nobody waits for.
 *
 * Resolves with the number of steps run.
 */
export async function runPacedSteps(step: () => Promise<boolean>, stopping: () => boolean, now: () => number = () => performance.now()): Promise<number> {
  let steps = 0;
  for (;;) {
    const started = now();
    const more = await step();
    steps++;
    if (!more || stopping()) return steps;
    await sleep(Math.max(0, now() - started));
  }
}
