import { execute, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { PositionRanges, PositionedFeed } from '../subscriptions/positioned-feed';
import { OutletMember, type NextFrameOutlet } from './outlet-member';

/**
 * What the cohorts answer a caught-up subscription that asks to join (subscription-cohorts.ts):
 * `joined` (it now belongs to a cohort and must stop), ranges of positions to check for stored
 * events first, or `later` (not now).
 */
export type HandOverAnswer = 'joined' | 'later' | { readonly verify: PositionRanges };

/**
 * How long a caught-up subscription that could not join waits before it tries again, in ms:
 * the first wait, doubled after each further miss up to the last. What it waits for (a stored
 * event to be published, the cohort to catch up with what its own replay read) takes
 * milliseconds; a try costs at most one small read, and a subscription delivers everything
 * alone meanwhile, so nothing but its cost depends on these.
 */
export const DEFAULT_RETRY_DELAYS_MS = [20, 2000] as const;

/**
 * A subscription that resumed from a cursor (docs/PROTOCOL.md §4), with frames written straight
 * to its socket. It runs alone while it replays, pulling its own feed only as fast as its socket
 * takes frames (a replay holds one page in memory, however far behind it starts). Each time its
 * feed is caught up and everything it yielded is written, it asks to join the cohort of identical
 * live subscriptions (`handOver`); once it joined, the cohort delivers to its member and its
 * own feed is closed. Until then, and if it never can, it delivers every event itself.
 */
export class CatchingUpSubscription {
  readonly member: OutletMember;
  /** Ranges found to hold no stored event of this feed: final (offsets up to a position are stored). */
  private verified = new Map<number, readonly [number, number]>();
  /** No try before this time (performance.now()), after one that could not join. */
  private nextTryAt = 0;
  private retryDelay: number;
  private sourceClosed = false;
  private checkedSinceLastEvent = false;
  private joined = false;

  constructor(
    readonly source: AsyncIterator<unknown>,
    /** The source's positions, when it has them: without, it can never join a cohort. */
    readonly feed: PositionedFeed<unknown> | undefined,
    readonly args: ExecutionArgs,
    outlet: NextFrameOutlet,
    maxQueued: number,
    private readonly handOver: (subscription: CatchingUpSubscription) => HandOverAnswer,
    private readonly retryDelays: readonly [first: number, max: number] = DEFAULT_RETRY_DELAYS_MS,
  ) {
    this.retryDelay = retryDelays[0];
    this.member = new OutletMember(outlet, maxQueued, () => this.closeSource());
    void this.run();
  }

  /** Ranges checked to hold no stored event of this feed: what `handOver` may take as gapless. */
  get verifiedRanges(): PositionRanges {
    return this.verified;
  }

  /** Releases its own feed (it joined a cohort, or the member is done). */
  closeSource(): void {
    if (this.sourceClosed) return;
    this.sourceClosed = true;
    Promise.resolve(this.source.return?.()).catch(() => {});
  }

  private async run(): Promise<void> {
    for (;;) {
      await this.member.whenIdle();
      if (this.gone()) return;
      let result: ExecutionResult;
      try {
        if (this.feed) {
          // Never wait inside next() for a live event: the moment it is caught up is when it may join.
          await this.feed.settle();
          if (this.gone()) return;
          if (this.feed.caughtUp) {
            const wait = this.nextTryAt - performance.now();
            // Until the feed has an event to deliver (or ends), or the wait is over: a quiet feed still tries again.
            if (wait > 0) await this.feed.whenMoved(wait);
            else await this.tryToJoin();
            if (this.joined) return;
            continue;
          }
        }
        const step = await this.source.next();
        if (step.done) {
          this.member.end();
          return;
        }
        this.checkedSinceLastEvent = false;
        const executed = execute({ ...this.args, rootValue: step.value });
        result = isPromise(executed) ? await executed : executed;
      } catch (error) {
        this.member.fail(error);
        this.closeSource();
        return;
      }
      // Paced by whenIdle, so the member never has a full queue: nothing can be refused here.
      this.member.accept(result);
    }
  }

  /** The client completed, its socket closed, or the member ended: nothing more to deliver. */
  private gone(): boolean {
    return this.member.closed;
  }

  private async tryToJoin(): Promise<void> {
    const answer = this.handOver(this);
    if (answer === 'joined') {
      this.joined = true;
      return;
    }
    // One check per try: positions that moved past what was just checked wait for the next try.
    if (answer !== 'later' && !this.checkedSinceLastEvent) {
      await this.verify(answer.verify);
      return;
    }
    this.checkedSinceLastEvent = false;
    this.backOff();
  }

  private async verify(ranges: PositionRanges): Promise<void> {
    let stored: boolean;
    try {
      stored = await this.feed!.storedIn(ranges);
    } catch {
      stored = true; // the database could not say (busy, unavailable): stay alone for now
    }
    if (stored) {
      // Stored but not yet published: this feed delivers it when it comes; try again after that.
      this.backOff();
      return;
    }
    for (const [partition, range] of ranges) this.verified.set(partition, range);
    this.checkedSinceLastEvent = true;
  }

  private backOff(): void {
    this.nextTryAt = performance.now() + this.retryDelay;
    this.retryDelay = Math.min(this.retryDelays[1], this.retryDelay * 2);
  }
}

/** Whether graphql-js's execute answered later (a resolver returned a promise) or at once. */
export function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
