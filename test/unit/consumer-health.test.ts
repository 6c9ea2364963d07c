import { judgeConsumer } from '../../src/composition/consumer-health';
import type { PersisterProgress } from '../../src/consumers/reading-persister';

const STUCK_AFTER = 60_000;
const now = 1_000_000_000;
const idle: PersisterProgress = { roundStartedAt: null, failingSince: null, lastError: null, lastRoundAt: now - 10 };

describe('judging a consumer from its progress', () => {
  it('is starting until it reports, and stuck if that takes longer than the threshold', () => {
    expect(judgeConsumer(undefined, now, now - 1000, now, STUCK_AFTER)).toEqual({ state: 'starting' });
    expect(judgeConsumer(undefined, now, now - 61_000, now, STUCK_AFTER)).toEqual({ state: 'stuck', reason: 'the consumer has not started after 61 s' });
  });

  it('is running while idle or inside a round younger than the threshold', () => {
    expect(judgeConsumer(idle, now, 0, now, STUCK_AFTER)).toEqual({ state: 'running' });
    expect(judgeConsumer({ ...idle, roundStartedAt: now - 59_000 }, now, 0, now, STUCK_AFTER)).toEqual({ state: 'running' });
  });

  it('is retrying, with the reason, during a short outage, and stuck with it after the threshold', () => {
    const failing = { ...idle, roundStartedAt: now - 5000, failingSince: now - 5000, lastError: 'database error SQLITE_FULL: database or disk is full' };
    expect(judgeConsumer(failing, now, 0, now, STUCK_AFTER)).toEqual({ state: 'retrying', reason: 'database error SQLITE_FULL: database or disk is full' });
    expect(judgeConsumer({ ...failing, failingSince: now - 90_000 }, now, 0, now, STUCK_AFTER)).toEqual({
      state: 'stuck',
      reason: 'the consumer has been retrying for 90 s, nothing applied: database error SQLITE_FULL: database or disk is full',
    });
  });

  it('is stuck when one round outlasts the threshold (a call that never returns), or when it stops reporting', () => {
    expect(judgeConsumer({ ...idle, roundStartedAt: now - 120_000 }, now, 0, now, STUCK_AFTER)).toEqual({
      state: 'stuck',
      reason: 'one consumer round (read, apply, publish) has been running for 120 s',
    });
    expect(judgeConsumer(idle, now - 70_000, 0, now, STUCK_AFTER)).toEqual({ state: 'stuck', reason: 'the consumer has not reported for 70 s' });
  });
});
