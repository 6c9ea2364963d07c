/**
 * A push-to-pull bridge: producers push values, one consumer iterates them. Used to turn
 * fan-out callbacks into the AsyncIterator a GraphQL subscription needs. `return()` (called
 * when the client completes or disconnects) runs the cleanup exactly once.
 */
export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  private readonly values: T[] = [];
  private waiting: { resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void } | undefined;
  private failure: unknown;
  private done = false;
  private ending = false;

  constructor(private readonly onClose: () => void) {}

  get size(): number {
    return this.values.length;
  }

  get closed(): boolean {
    return this.done;
  }

  push(value: T): void {
    if (this.done || this.ending) return;
    if (this.waiting) {
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting.resolve({ value, done: false });
    } else {
      this.values.push(value);
    }
  }

  /** Ends the iteration after the values already queued (the producer has nothing more). */
  end(): void {
    if (this.done || this.failure !== undefined) return;
    this.ending = true;
    if (this.waiting) void this.return();
  }

  /** Ends the iteration with an error after the values already queued. */
  fail(error: unknown): void {
    if (this.done) return;
    this.failure = error;
    const waiting = this.waiting;
    if (waiting) {
      this.waiting = undefined;
      void this.return();
      waiting.reject(error);
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.values.length > 0) return Promise.resolve({ value: this.values.shift()!, done: false });
    if (this.failure !== undefined && !this.done) {
      const error = this.failure;
      void this.return();
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- whatever the source failed with (or the caller passed to throw()) reaches the consumer unchanged
      return Promise.reject(error);
    }
    if (this.ending) void this.return();
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  return(): Promise<IteratorResult<T>> {
    if (!this.done) {
      this.done = true;
      this.values.length = 0;
      this.onClose();
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting?.resolve({ value: undefined, done: true });
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error: unknown): Promise<IteratorResult<T>> {
    void this.return();
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- whatever the source failed with (or the caller passed to throw()) reaches the consumer unchanged
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
