import { lingerBeforeNextRound } from '../../src/consumers/round-cadence';

describe('round cadence', () => {
  const cadence = { lingerMs: 30, lingerAboveMessages: 1000 };

  it('starts the next round at once after a small round, however recent', () => {
    expect(lingerBeforeNextRound(cadence, { startedAt: 1000, messages: 0 }, 1001)).toBe(0);
    expect(lingerBeforeNextRound(cadence, { startedAt: 1000, messages: 999 }, 1001)).toBe(0);
  });

  it('after a round that met a backlog, waits out the rest of the linger from its start', () => {
    expect(lingerBeforeNextRound(cadence, { startedAt: 1000, messages: 1000 }, 1010)).toBe(20);
    expect(lingerBeforeNextRound(cadence, { startedAt: 1000, messages: 5000 }, 1030)).toBe(0);
    expect(lingerBeforeNextRound(cadence, { startedAt: 1000, messages: 5000 }, 1100)).toBe(0);
  });
});
