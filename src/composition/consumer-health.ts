import type { PersisterProgress } from '../consumers/reading-persister';

/** What a consumer is doing, as health probes report it. */
export type ConsumerState =
  /** Started, has not reported yet (the worker thread is opening its connections). */
  | 'starting'
  /** Between rounds, or in a round that is younger than the stuck threshold. */
  | 'running'
  /** A batch is being retried, for less than the stuck threshold so far (a short outage). */
  | 'retrying'
  /** Retrying, or inside one round, for longer than the threshold: nothing is being applied. */
  | 'stuck';

export interface ConsumerCondition {
  readonly state: ConsumerState;
  /** Why it is stuck or retrying, in words an operator can act on. */
  readonly reason?: string;
}

/**
 * Judges a consumer from its last progress report. `reportedAt` is when that report was taken:
 * a consumer thread blocked in a long synchronous call cannot report, and silence longer than
 * the threshold counts as stuck too.
 */
export function judgeConsumer(
  progress: PersisterProgress | undefined,
  reportedAt: number,
  startedAt: number,
  now: number,
  stuckAfterMs: number,
): ConsumerCondition {
  const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;
  if (!progress) {
    return now - startedAt > stuckAfterMs
      ? { state: 'stuck', reason: `the consumer has not started after ${seconds(now - startedAt)}` }
      : { state: 'starting' };
  }
  if (progress.failingSince !== null) {
    const failing = now - progress.failingSince;
    const why = progress.lastError ?? 'unknown error';
    if (failing > stuckAfterMs) return { state: 'stuck', reason: `the consumer has been retrying for ${seconds(failing)}, nothing applied: ${why}` };
    return { state: 'retrying', reason: why };
  }
  if (now - reportedAt > stuckAfterMs) return { state: 'stuck', reason: `the consumer has not reported for ${seconds(now - reportedAt)}` };
  if (progress.roundStartedAt !== null && now - progress.roundStartedAt > stuckAfterMs) {
    return { state: 'stuck', reason: `one consumer round (read, apply, publish) has been running for ${seconds(now - progress.roundStartedAt)}` };
  }
  return { state: 'running' };
}
