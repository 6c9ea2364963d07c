import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Runs `step` until it says no more work is left, or `stopping()` turns true, pausing after each
 * step twice as long as that step took. Background removals (a deleted device's data, retention)
 * are many short write transactions; run back to back they hold SQLite's single write lock
 * nearly all the time, and a write from another connection (an API-thread updateDevice, a key's
 * last-used time) waits in busy_timeout, whose handler polls the lock at growing intervals (up
 * to 100 ms) and keeps missing the short gaps between steps: measured with `npm run
 * bench:removal` over 10 days of readings, such a write (and the API thread with it) waited up
 * to 3 s. Pausing as long as the step took left it waiting up to 0.6 s; twice as long (the
 * lock free two thirds of the time) kept the API's p99 and worst answers at their level without
 * any removal (README, Retention). The removal takes about three times as long, which nobody
 * waits for.
 *
 * Resolves with the number of steps run.
 */
/** The pause after a step, per millisecond the step took. */
const PAUSE_PER_STEP_MS = 2;

export interface PacedStepsOptions {
  /** Stops between steps, a pause included. */
  readonly signal?: AbortSignal | undefined;
  /**
   * False where writers do not queue for one lock (Oracle locks rows): the steps then run back
   * to back, as pausing would only make the removal (and an OCI Function's invocation) longer.
   * @default true
   */
  readonly paced?: boolean;
  readonly now?: () => number;
}

export async function runPacedSteps(step: () => Promise<boolean>, options: PacedStepsOptions = {}): Promise<number> {
  const { signal, paced = true, now = () => performance.now() } = options;
  let steps = 0;
  for (;;) {
    const started = now();
    const more = await step();
    steps++;
    if (!more || signal?.aborted) return steps;
    if (!paced) continue;
    try {
      await sleep(PAUSE_PER_STEP_MS * Math.max(0, now() - started), undefined, { signal });
    } catch {
      return steps; // aborted during the pause
    }
  }
}
