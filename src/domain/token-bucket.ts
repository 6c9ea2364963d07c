/**
 * Per-key token buckets: each key holds up to `burst` tokens, refilled continuously at
 * `ratePerSecond`; a request spends one. An empty bucket answers how long until the next
 * token, for Retry-After. (The rate-limiting libraries on npm we looked at count fixed
 * windows, which let twice the rate through across a window boundary; this is the
 * 30 lines of the algorithm, clock-injected so it is tested exactly.)
 */
export interface TokenBucketSettings {
  readonly ratePerSecond: number;
  readonly burst: number;
}

export type TakeResult = { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number };

export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; updatedAt: number }>();

  constructor(
    private readonly settings: TokenBucketSettings,
    private readonly now: () => number = Date.now,
    /** Buckets kept at most; full buckets are dropped first (they hold no state worth keeping). */
    private readonly maxKeys = 100_000,
  ) {}

  take(key: string): TakeResult {
    const now = this.now();
    const { ratePerSecond, burst } = this.settings;
    const bucket = this.buckets.get(key) ?? { tokens: burst, updatedAt: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.updatedAt) / 1000) * ratePerSecond);
    bucket.updatedAt = now;
    if (!this.buckets.has(key)) this.remember(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterMs: Math.ceil(((1 - bucket.tokens) / ratePerSecond) * 1000) };
  }

  private remember(key: string, bucket: { tokens: number; updatedAt: number }): void {
    if (this.buckets.size >= this.maxKeys) {
      const now = this.now();
      for (const [old, state] of this.buckets) {
        if (state.tokens + ((now - state.updatedAt) / 1000) * this.settings.ratePerSecond >= this.settings.burst) this.buckets.delete(old);
      }
      if (this.buckets.size >= this.maxKeys) this.buckets.clear();
    }
    this.buckets.set(key, bucket);
  }
}
