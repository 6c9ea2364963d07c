import type { ExecutionResult } from 'graphql';

/**
 * Where one subscription operation's `next` frames go: its socket, under its operation id
 * (websocket.ts makes one per operation).
 */
export interface NextFrameOutlet {
  /** False once the socket closed or the client completed the operation: frames are dropped. */
  readonly open: boolean;
  /** Below the socket's high-water mark: a frame written now needs no wait for the network. */
  readonly ready: boolean;
  /** Writes `result` as this operation's `next` frame; `written` once it left for the network (or the socket closed). */
  send(result: ExecutionResult, written?: () => void): void;
}

type Ending = { readonly error?: unknown; readonly failed: boolean };

/**
 * A cohort member whose frames the cohort writes itself (DESIGN §9), straight to its socket in
 * the turn the event was executed, instead of handing each result to graphql-ws to pull,
 * wrap, stringify and send, one promise chain per subscriber: at 1,000 subscribers that
 * per-subscriber path was most of the API thread's work per event.
 *
 * To graphql-ws it is the operation's async iterator, one that yields nothing: graphql-ws
 * waits on its `next()` until the member ends (then sends `complete`) or fails (then sends the
 * error), and calls `return()` when the client completes or the socket closes, as with any
 * subscription. Both come after every frame this member wrote, so the protocol's order holds.
 *
 * Backpressure is the transport's (graphql-ws-transport.ts): while the socket is below its
 * high-water mark a frame is written at once; above it the member waits for that frame to leave
 * and queues what arrives meanwhile, at most `maxQueued` results; past that `accept` says no
 * and the cohort ends the member with SLOW_SUBSCRIBER, after what it had queued.
 */
export class OutletMember implements AsyncIterableIterator<ExecutionResult> {
  private readonly queued: ExecutionResult[] = [];
  private waitingForNetwork = false;
  private ending: Ending | undefined;
  private done = false;
  /** graphql-ws's pending `next()`, answered when the member ends. */
  private iteration: { resolve: (result: IteratorResult<ExecutionResult>) => void; reject: (error: unknown) => void } | undefined;
  /** Resolves the promise whenIdle gave while this member was busy: one for every waiter, however often asked. */
  private wakeIdle: (() => void) | undefined;
  private idlePromise: Promise<void> | undefined;

  /**
   * `onClose` runs once, when the member is done (ended, failed, completed by the client, or its
   * socket closed); whoever delivers to it replaces it when the member moves to a cohort.
   */
  constructor(
    private readonly outlet: NextFrameOutlet,
    private readonly maxQueued: number,
    public onClose: () => void,
  ) {}

  get closed(): boolean {
    return this.done;
  }

  /** Results waiting for the socket to drain. */
  get size(): number {
    return this.queued.length;
  }

  /** Nothing queued nor waiting for the network (or done): a result accepted now is written at once. */
  get idle(): boolean {
    return this.done || (!this.waitingForNetwork && this.queued.length === 0);
  }

  /** Still taking results: not done, not ending, its socket open. */
  get takesResults(): boolean {
    return !this.done && !this.ending && this.outlet.open;
  }

  /** Resolves once the member is idle: what paces a source delivering to this member. */
  whenIdle(): Promise<void> {
    if (this.idle) return Promise.resolve();
    this.idlePromise ??= new Promise((resolve) => (this.wakeIdle = resolve));
    return this.idlePromise;
  }

  /** Sends or queues one result; false when the queue is full (the cohort then ends this member). Never throws. */
  accept(result: ExecutionResult): boolean {
    if (this.done || this.ending) return true;
    if (!this.waitingForNetwork && this.queued.length === 0) {
      this.write(result);
      return true;
    }
    if (this.queued.length >= this.maxQueued) return false;
    this.queued.push(result);
    return true;
  }

  /** Ends the iteration after the results already queued (the source has nothing more). */
  end(): void {
    if (this.done || this.ending) return;
    this.ending = { failed: false };
    this.settleIfIdle();
  }

  /** Ends the iteration with `error` after the results already queued. */
  fail(error: unknown): void {
    if (this.done || this.ending?.failed) return;
    this.ending = { error, failed: true };
    this.settleIfIdle();
  }

  next(): Promise<IteratorResult<ExecutionResult>> {
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.iteration = { resolve, reject };
      this.settleIfIdle();
    });
  }

  return(): Promise<IteratorResult<ExecutionResult>> {
    this.finish();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error: unknown): Promise<IteratorResult<ExecutionResult>> {
    this.finish();
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the caller's error reaches the caller unchanged, as an async generator's throw() does
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ExecutionResult> {
    return this;
  }

  /** Writes one frame; false when the next must wait for this one to leave (or this member failed). */
  private write(result: ExecutionResult): boolean {
    if (!this.outlet.open) return true; // graphql-ws calls return() for a closed socket or a completed operation
    try {
      if (this.outlet.ready) {
        this.outlet.send(result);
        return true;
      }
      this.waitingForNetwork = true;
      this.outlet.send(result, () => this.drain());
      return false;
    } catch (error) {
      // Formatting or writing this frame failed: this operation alone ends with the error (graphql-ws
      // sends it), as when graphql-ws's own onNext threw; the cohort and its other members go on.
      this.waitingForNetwork = false;
      this.queued.length = 0;
      this.ending = { error, failed: true };
      this.settleIfIdle();
      return false;
    }
  }

  private drain(): void {
    this.waitingForNetwork = false;
    while (!this.done && this.queued.length > 0) if (!this.write(this.queued.shift()!)) break;
    this.settleIfIdle();
    this.wakeIdleWaiters();
  }

  private wakeIdleWaiters(): void {
    if (!this.idle || !this.wakeIdle) return;
    const wake = this.wakeIdle;
    this.wakeIdle = undefined;
    this.idlePromise = undefined;
    wake();
  }

  /** Once ending and nothing is left to write, answers graphql-ws's `next()` with the ending. */
  private settleIfIdle(): void {
    if (this.done || !this.ending || this.waitingForNetwork || this.queued.length > 0 || !this.iteration) return;
    const { iteration, ending } = this;
    this.iteration = undefined;
    this.finish();
    if (ending.failed) iteration.reject(ending.error);
    else iteration.resolve({ value: undefined, done: true });
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.queued.length = 0;
    const iteration = this.iteration;
    this.iteration = undefined;
    this.onClose();
    iteration?.resolve({ value: undefined, done: true });
    this.wakeIdleWaiters();
  }
}
