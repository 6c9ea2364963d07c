import type { Logger } from '../logger';

/** How a request to run a job went (the OCI Function's answer lists one per job). */
export type JobOutcome =
  /** A pass ran and did all the work that was due. */
  | 'ran'
  /** A pass ran, did as much as its limit allows, and more remains: the job stays due. */
  | 'more'
  /** Its interval has not elapsed since its last pass started: nothing ran. */
  | 'not-due'
  /** A pass was already under way (its timer, a wake, another invocation): none was started. */
  | 'running'
  /** The pass threw; it is logged, and the job is due again after its interval. */
  | 'failed'
  /** The caller's time for jobs ran out before this one could start: it stays due. */
  | 'deferred';

/**
 * One bounded pass of a background job: does at most `limit` units of its work (its own unit:
 * rows, devices, deliveries, commands, messages), all that is due when `limit` is undefined,
 * and resolves with whether more remains. Stops early, between units, once `signal` aborts.
 * Throws when the pass failed (a busy or failing database): what it committed stays committed.
 */
export type JobPass = (limit: number | undefined, signal: AbortSignal) => Promise<boolean>;

export interface PeriodicJobOptions<Name extends string> {
  /** The job's name in logs and in the function's answer. */
  readonly name: Name;
  /** Time between the starts of two passes, ms. */
  readonly intervalMs: number;
  /**
   * Most work a pass started by runIfDue does, in the pass's own unit, so that an OCI Function
   * invocation stays short. Passes of the timer (start) and of wake are unbounded, as in the
   * long-running consumer. @default undefined (unbounded)
   */
  readonly limit?: number;
}

/**
 * A named background job with an interval, run in one of two modes over the same pass:
 *
 * - long-running (the consumer role): start() runs a pass every interval, wake() runs one now
 *   (webhook deliveries after new anomalies), stop() waits for the pass under way;
 * - driven (the OCI Function, which has no timers between invocations): runIfDue(now) runs a
 *   bounded pass when the interval has elapsed since the last one started, or when the last one
 *   left more to do, or after a wake.
 *
 * Never two passes at once, in either mode. A pass that throws is logged and reported, never
 * rethrown: a background job must not fail what runs it (the function's batch is committed).
 */
export class PeriodicJob<Name extends string = string> {
  readonly name: Name;
  private lastStartedAt: number | undefined;
  /** Due whatever the interval says: the last pass left work, or a wake asked for one. */
  private dueNow = false;
  private running: Promise<JobOutcome> | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** A wake came during a pass: run another right after it. */
  private again = false;
  private readonly stopping = new AbortController();

  constructor(
    private readonly options: PeriodicJobOptions<Name>,
    private readonly pass: JobPass,
    private readonly logger: Logger,
  ) {
    this.name = options.name;
  }

  /** Runs a bounded pass (`limit`) if the job is due at `now`; a job never run is due. */
  runIfDue(now: number = Date.now(), deadline?: AbortSignal): Promise<JobOutcome> {
    if (this.running) return Promise.resolve('running');
    if (this.stopping.signal.aborted || !this.isDue(now)) return Promise.resolve('not-due');
    if (deadline?.aborted) return Promise.resolve('deferred');
    return this.runPass(now, this.options.limit, deadline);
  }

  /** Long-running mode: a pass every interval (skipped while one is under way). */
  start(): void {
    this.timer = setInterval(() => {
      if (!this.running) void this.runPass(Date.now(), undefined);
    }, this.options.intervalMs);
    this.timer.unref();
  }

  /**
   * There is work now (new anomalies for webhook deliveries). Started: a pass runs now, or right
   * after the one under way. Driven by runIfDue: the next call runs it, interval or not.
   */
  wake(): void {
    if (this.stopping.signal.aborted) return;
    if (!this.timer) {
      this.dueNow = true;
      return;
    }
    if (this.running) {
      this.again = true;
      return;
    }
    void this.runPass(Date.now(), undefined);
  }

  /** Stops the timer, asks the pass under way to stop between units, and waits for it. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.again = false;
    this.stopping.abort();
    await this.running;
  }

  private isDue(now: number): boolean {
    return this.dueNow || this.lastStartedAt === undefined || now - this.lastStartedAt >= this.options.intervalMs;
  }

  /** `deadline`: the pass also stops between units once it aborts (what is left keeps the job due). */
  private runPass(now: number, limit: number | undefined, deadline?: AbortSignal): Promise<JobOutcome> {
    this.lastStartedAt = now;
    this.dueNow = false;
    const signal = deadline ? AbortSignal.any([this.stopping.signal, deadline]) : this.stopping.signal;
    const running = this.pass(limit, signal).then(
      (more): JobOutcome => {
        if (more) this.dueNow = true;
        return more ? 'more' : 'ran';
      },
      (error: unknown): JobOutcome => {
        // A busy or failing database: the next pass starts over; each unit committed or not.
        this.logger.warn({ err: error, job: this.name }, `${this.name} pass failed`);
        return 'failed';
      },
    );
    this.running = running.finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
    return this.running;
  }
}
