import { TokenBuckets } from '../../src/domain/token-bucket';

describe('token buckets', () => {
  it('lets a burst through, then refills at the rate, and says when the next token comes', () => {
    let now = 0;
    const buckets = new TokenBuckets({ ratePerSecond: 2, burst: 3 }, () => now);
    expect([1, 2, 3].map(() => buckets.take('k').ok)).toEqual([true, true, true]);
    expect(buckets.take('k')).toEqual({ ok: false, retryAfterMs: 500 });
    now = 250;
    expect(buckets.take('k')).toEqual({ ok: false, retryAfterMs: 250 });
    now = 500;
    expect(buckets.take('k').ok).toBe(true);
    expect(buckets.take('k').ok).toBe(false);
    // A long pause refills to the burst, never beyond.
    now = 60_000;
    expect([1, 2, 3, 4].map(() => buckets.take('k').ok)).toEqual([true, true, true, false]);
  });

  it('keeps one bucket per key', () => {
    const buckets = new TokenBuckets({ ratePerSecond: 1, burst: 1 }, () => 0);
    expect(buckets.take('a').ok).toBe(true);
    expect(buckets.take('a').ok).toBe(false);
    expect(buckets.take('b').ok).toBe(true);
  });

  it('bounds its memory by dropping full buckets first', () => {
    let now = 0;
    const buckets = new TokenBuckets({ ratePerSecond: 1, burst: 1 }, () => now, 2);
    buckets.take('a');
    now = 5000; // a is full again
    buckets.take('b');
    buckets.take('c'); // evicts a, keeps b (empty, still limiting)
    expect(buckets.take('b').ok).toBe(false);
  });
});
