/** The one retry policy: exponential backoff with full jitter, for retryable failures only. */
export interface RetryPolicy {
  /** First delay before jitter, ms. @default 50 */
  readonly initialDelayMs: number;
  /** Upper bound of any delay, ms. @default 5000 */
  readonly maxDelayMs: number;
  /** Growth factor between attempts. @default 2 */
  readonly multiplier: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { initialDelayMs: 50, maxDelayMs: 5000, multiplier: 2 };

/** Delay before retry number `attempt` (0-based): uniform in [0, min(max, initial * mult^attempt)]. */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** attempt);
  return Math.round(random() * ceiling);
}

export interface RetryOptions {
  readonly policy?: RetryPolicy;
  /** Whether this failure may succeed if tried again. */
  readonly isRetryable: (error: unknown) => boolean;
  /** Called before each wait; for logging and metrics. */
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Stops retrying (rethrows the last error) once this returns true. */
  readonly shouldStop?: () => boolean;
  readonly sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `operation` until it succeeds, fails with a non-retryable error, or `shouldStop` says so. */
export async function retry<T>(operation: () => Promise<T>, options: RetryOptions): Promise<T> {
  const policy = options.policy ?? DEFAULT_RETRY_POLICY;
  const sleep = options.sleep ?? defaultSleep;
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (!options.isRetryable(error) || options.shouldStop?.()) throw error;
      const delay = backoffDelay(policy, attempt);
      options.onRetry?.(error, attempt, delay);
      await sleep(delay);
    }
  }
}
