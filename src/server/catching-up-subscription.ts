import { execute, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { FeedPositions, PositionRanges, PositionedFeed } from '../subscriptions/positioned-feed';
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
 * How long a replay shared by several subscribers waits for the others once one of them took the
 * last frame, in ms. One that has not by then is left behind: not waited for until it takes
 * frames at once again, it queues what follows meanwhile (the same results the others get: no
 * copy), ended with SLOW_SUBSCRIBER past its queue's bound as in a live cohort. So the replay goes
 * at the pace of its fastest subscribers, not of a slow or stalled socket among them.
 */
export const SLOWEST_FOLLOWER_WAIT_MS = 20;

/**
 * How long a replay waits before it takes its first event, ms: subscribers of the same operation
 * resuming from the same cursor meanwhile (a fleet's consoles reconnecting after an outage, over
 * a second or so) follow it from the start instead of replaying alone. Once it has taken an event,
 * one resuming from the cursor it started at no longer can. A resume's first event comes this
 * much later; it waited seconds for its connection already.
 */
export const REPLAY_GATHER_MS = 50;

export interface CatchingUpOptions {
  readonly maxQueued: number;
  /** The error that ends a subscriber of a shared replay that let `maxQueued` results pile up. */
  readonly slowMember: () => Error;
  /** Asks to join the cohort of the same live operation (SubscriptionCohorts.handOver). */
  readonly handOver: (subscription: CatchingUpSubscription) => HandOverAnswer;
  /** Its last subscriber left before it joined a cohort: its feed is closed. */
  readonly onEmpty: () => void;
  readonly retryDelays?: readonly [first: number, max: number];
  /** @default SLOWEST_FOLLOWER_WAIT_MS */
  readonly slowestFollowerWaitMs?: number;
  /** @default REPLAY_GATHER_MS */
  readonly gatherMs?: number;
}

/**
 * A subscription that resumed from a cursor (docs/PROTOCOL.md §4), with frames written straight
 * to its socket. It runs apart from the live cohort while it replays, pulling its own feed only
 * as fast as its socket takes frames (a replay holds one page in memory, however far behind it
 * starts). Each time its feed is caught up and a subscriber can take a frame, it asks to join
 * the cohort of identical live subscriptions (`handOver`); once it joined, the cohort delivers to
 * its members (after what one left behind still holds) and its own feed is closed. Until then,
 * and if it never can, it delivers every event itself.
 *
 * Subscribers of the same operation that resume from exactly where it stands (the consoles of a
 * fleet after an outage hold one cursor) share it (`follow`): its feed is read and each of its
 * events executed and serialised once for all of them, at the pace of the fastest of them
 * (`paced`). From where it stands, every event it delivers is one each of them would have got
 * from a feed of its own, in the same order; they join the cohort together.
 */
export class CatchingUpSubscription {
  /** The subscriber that opened it. */
  readonly member: OutletMember;
  private readonly members = new Set<OutletMember>();
  /**
   * Per partition, the position of the last event taken from the feed for its subscribers (at
   * first where the feed starts): a subscriber whose feed starts exactly here may follow. Set in
   * the same synchronous step as the event's recipients, so a follower gets exactly the events
   * taken after it came. (The feed's own positions may move ahead of it, past an event taken and
   * not yet handed over.)
   */
  private readonly deliveredThrough: Map<number, number>;
  /** Resolves when a subscriber follows or leaves (paced waits on it). */
  private membersChanged: Promise<void> | undefined;
  private signalMembersChange: (() => void) | undefined;
  /** Subscribers the others did not wait for (paced): not waited for until they take frames at once again. */
  private readonly leftBehind = new Set<OutletMember>();
  /** Ranges found to hold no stored event of this feed: final (offsets up to a position are stored). */
  private verified = new Map<number, readonly [number, number]>();
  /** No try before this time (performance.now()), after one that could not join. */
  private nextTryAt = 0;
  private retryDelay: number;
  private sourceClosed = false;
  private checkedSinceLastEvent = false;
  private joined = false;
  /** Its feed ended: it delivers nothing more. */
  private ended = false;
  private readonly retryDelays: readonly [first: number, max: number];

  constructor(
    readonly source: AsyncIterator<unknown>,
    /** The source's positions, when it has them: without, it can never join a cohort nor be followed. */
    readonly feed: PositionedFeed<unknown> | undefined,
    readonly args: ExecutionArgs,
    outlet: NextFrameOutlet,
    private readonly options: CatchingUpOptions,
  ) {
    this.retryDelays = options.retryDelays ?? DEFAULT_RETRY_DELAYS_MS;
    this.retryDelay = this.retryDelays[0];
    this.deliveredThrough = new Map(feed?.positions());
    this.member = this.add(outlet);
    void this.run();
  }

  /** Its subscribers now (all of them move to a cohort when it joins one). */
  get subscribers(): ReadonlySet<OutletMember> {
    return this.members;
  }

  /**
   * Another subscriber of the same operation, whose own feed starts at `positions`: when this
   * replay has taken from its feed exactly the events up to there (`deliveredThrough`) and goes
   * on, the subscriber shares it from its next event and gets a member; undefined otherwise.
   */
  follow(outlet: NextFrameOutlet, positions: FeedPositions): OutletMember | undefined {
    if (!this.feed || this.joined || this.ended || this.sourceClosed || this.taking().length === 0 || this.feed.ending) return undefined;
    if (!samePositions(this.deliveredThrough, positions)) return undefined;
    return this.add(outlet);
  }

  /**
   * Hands its subscribers that still take results to a cohort (handOver): from now on they are
   * the cohort's. One ending after what it holds stays here until it has written it.
   */
  handOff(): OutletMember[] {
    this.joined = true;
    const moving = this.taking();
    for (const member of moving) this.members.delete(member);
    return moving;
  }

  /** Ranges checked to hold no stored event of this feed: what `handOver` may take as gapless. */
  get verifiedRanges(): PositionRanges {
    return this.verified;
  }

  /** Releases its own feed (it joined a cohort, or its subscribers are gone). */
  closeSource(): void {
    if (this.sourceClosed) return;
    this.sourceClosed = true;
    Promise.resolve(this.source.return?.()).catch(() => {});
  }

  private add(outlet: NextFrameOutlet): OutletMember {
    const member: OutletMember = new OutletMember(outlet, this.options.maxQueued, () => this.leave(member));
    this.members.add(member);
    this.membersChange();
    return member;
  }

  private leave(member: OutletMember): void {
    if (!this.members.delete(member)) return;
    this.membersChange();
    if (this.members.size > 0 || this.joined) return;
    this.closeSource();
    this.options.onEmpty();
  }

  private async run(): Promise<void> {
    const gather = this.options.gatherMs ?? REPLAY_GATHER_MS;
    if (this.feed && gather > 0) await new Promise((resolve) => setTimeout(resolve, gather));
    for (;;) {
      await this.paced();
      if (this.gone()) return;
      let result: ExecutionResult;
      let recipients: OutletMember[];
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
          // Its subscribers end once they have written what they hold; none may follow meanwhile.
          this.ended = true;
          for (const member of this.members) member.end();
          return;
        }
        this.checkedSinceLastEvent = false;
        recipients = [...this.members];
        if (this.feed) this.deliveredThrough.set(...this.feed.positionOf(step.value));
        const executed = execute({ ...this.args, rootValue: step.value });
        result = isPromise(executed) ? await executed : executed;
      } catch (error) {
        for (const member of this.members) member.fail(error);
        this.closeSource();
        return;
      }
      // One result for all who were there when it was taken: its frame's payload is serialised once (shared-next-payload.ts).
      for (const member of recipients) {
        if (member.accept(result)) continue;
        // A follower left behind by the others (paced) ended as a slow live member would be.
        member.fail(this.options.slowMember());
      }
    }
  }

  /**
   * Resolves once a subscriber still taking results can take a frame without queueing it,
   * however long that takes (checked again whenever one becomes idle, one leaves or one
   * follows): alone, a subscriber paces the replay by itself, never queues, and so is never
   * refused. The others still waited for get SLOWEST_FOLLOWER_WAIT_MS more; one that cannot
   * take a frame by then is left behind (it queues) until it can again.
   */
  private async paced(): Promise<void> {
    for (const member of this.leftBehind) if (member.idle || !this.members.has(member)) this.leftBehind.delete(member);
    for (;;) {
      const taking = this.taking();
      if (taking.length === 0 || taking.some((member) => member.idle)) break;
      await Promise.race([...taking.map((member) => member.whenIdle()), this.whenMembersChange()]);
    }
    const rest = this.taking().filter((member) => !member.idle && !this.leftBehind.has(member));
    if (rest.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const waited = await Promise.race([
      Promise.all(rest.map((member) => member.whenIdle())).then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), this.options.slowestFollowerWaitMs ?? SLOWEST_FOLLOWER_WAIT_MS))),
    ]);
    clearTimeout(timer);
    if (!waited) for (const member of rest) if (!member.idle) this.leftBehind.add(member);
  }

  /** Its subscribers still taking results: an ending one (failed, draining) or one whose socket is closing is not paced for. */
  private taking(): OutletMember[] {
    return [...this.members].filter((member) => member.takesResults);
  }

  private whenMembersChange(): Promise<void> {
    this.membersChanged ??= new Promise((resolve) => (this.signalMembersChange = resolve));
    return this.membersChanged;
  }

  private membersChange(): void {
    const signal = this.signalMembersChange;
    this.membersChanged = undefined;
    this.signalMembersChange = undefined;
    signal?.();
  }

  /**
   * No subscriber takes results any more: they all completed, closed their sockets or are
   * ending after what they hold (or all moved to a cohort). Its feed is released; the ending
   * ones leave when they have written what they hold.
   */
  private gone(): boolean {
    if (this.members.size > 0 && this.taking().length > 0) return false;
    this.closeSource();
    return true;
  }

  private async tryToJoin(): Promise<void> {
    const answer = this.options.handOver(this);
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

function samePositions(a: FeedPositions, b: FeedPositions): boolean {
  if (a.size !== b.size) return false;
  for (const [partition, offset] of a) if (b.get(partition) !== offset) return false;
  return true;
}
