import { TelemetryError } from '../domain/errors';
import type { FeedPositions, PositionRanges, PositionedFeed } from './positioned-feed';

/** How a resumable feed reaches one kind of committed event. */
export interface FeedSource<E, T> {
  /**
   * Starts routing live events (published only after their commit, in commit order) to
   * `onEvent`; returns the function that stops it. `onEnd` ends the feed with an error (after
   * what is queued), when what it follows is gone (a deleted device).
   */
  listen(onEvent: (event: E) => void, onEnd: (error: Error) => void): () => void;
  /**
   * Sets the starting position (the resume cursor, or "now" for a live-only feed). Runs after
   * `listen`, so nothing committed in between is missed. Throws to refuse the subscription
   * (e.g. a cursor ahead of what is stored).
   */
  start(): Promise<void>;
  /** Stored events beyond the current position, in position order, at most `limit`. */
  readAfter(limit: number): Promise<readonly E[]>;
  /** Moves the position past `event` when it lies beyond it; false when it was already delivered. */
  advance(event: E): boolean;
  /** The item to deliver for an event just advanced past; undefined when filtered out. */
  present(event: E): T | undefined;
  /** The position now, per partition: what the next item's cursor will hold. */
  positions(): FeedPositions;
  /** The partition and offset of the event an item was presented for. */
  positionOf(item: T): readonly [partition: number, offset: number];
  /** Whether any stored event this feed would deliver lies in one of the ranges (after, through] of a partition. */
  storedIn(ranges: PositionRanges): Promise<boolean>;
}

export interface ResumableFeedOptions {
  /** Replay stored events after the starting position before going live; false for live-only feeds. */
  readonly replay: boolean;
  /** Events read from the database per replay query. @default 500 */
  readonly pageSize?: number;
  /**
   * Undelivered live events a subscriber may have queued before it is ended with
   * SLOW_SUBSCRIBER (also the most live events held while a replay is still catching up,
   * beyond which they are dropped and read back from the database instead). @default 10000
   */
  readonly maxBuffered?: number;
  /** Names what falls behind in the SLOW_SUBSCRIBER message ("readings", "anomalies"). */
  readonly noun: string;
  readonly observer?: FeedObserver | undefined;
}

/** Told of resumes and of the events read back from the database (metrics), per feed noun. */
export interface FeedObserver {
  /** A subscription opened with a cursor: it replays what it missed first. */
  resumed(noun: string): void;
  /** Events one replay query read back (a resume, or a live feed reading back what overflowed). */
  replayed(noun: string, events: number): void;
}

/** Counters that prove the feed's memory stays bounded (read by tests and gauges). */
export interface FeedStats {
  /** Largest number of live events held at once while replaying. */
  readonly maxHeld: number;
  /** Times the held live events overflowed and were dropped (then read back from the database). */
  readonly overflows: number;
  /** Replay queries run. */
  readonly pagesRead: number;
  /** Callers waiting for the feed to move now (next(), whenMoved()). */
  readonly waiting: number;
}

const DONE: IteratorResult<never> = { value: undefined, done: true };

/** Undelivered events a subscriber may have queued before it is ended with SLOW_SUBSCRIBER. */
export const DEFAULT_MAX_BUFFERED = 10_000;

export function slowSubscriber(maxBuffered: number, noun: string): TelemetryError {
  return new TelemetryError('UNAVAILABLE', `subscriber fell ${maxBuffered} ${noun} behind; resubscribe with the last cursor received to resume without a gap`, {
    details: { reason: 'SLOW_SUBSCRIBER' },
  });
}

/**
 * One subscription that resumes without gap or duplicate (docs/PROTOCOL.md §4), for any kind of
 * event with a commit-ordered position. It is pulled by the transport, which pulls only as fast as
 * the client's socket drains, so:
 *
 * - **Replay** reads one page of stored events only when the subscriber has taken the previous
 *   page: memory is one page, however far behind the cursor is. Live events published meanwhile
 *   are held (up to `maxBuffered`); when they overflow they are dropped and replay simply reads
 *   further, since everything published is stored first.
 * - **Going live** happens after a short page (nothing more stored) read entirely after the last
 *   overflow: every event committed after that read was published after it, so it is held. The
 *   held events are then delivered, skipping those the replay already delivered.
 * - **Live** events are queued for the subscriber; one that lets `maxBuffered` pile up cannot
 *   keep up and is ended with SLOW_SUBSCRIBER after what is queued (its last cursor resumes).
 */
export class ResumableFeed<E, T> implements AsyncIterableIterator<T>, PositionedFeed<T> {
  private live = false;
  private held: E[] = [];
  private readonly ready: T[] = [];
  private failure: unknown;
  private done = false;
  private wakers: (() => void)[] = [];
  private stopListening: () => void = () => {};
  private readonly pageSize: number;
  private readonly maxBuffered: number;
  private stats = { maxHeld: 0, overflows: 0, pagesRead: 0 };

  private constructor(
    private readonly source: FeedSource<E, T>,
    private readonly options: ResumableFeedOptions,
  ) {
    this.pageSize = options.pageSize ?? 500;
    this.maxBuffered = options.maxBuffered ?? DEFAULT_MAX_BUFFERED;
  }

  /** Listens, sets the starting position, and returns the feed, replaying or live. */
  static async open<E, T>(source: FeedSource<E, T>, options: ResumableFeedOptions): Promise<ResumableFeed<E, T>> {
    const feed = new ResumableFeed(source, options);
    if (options.replay) options.observer?.resumed(options.noun);
    feed.stopListening = source.listen(
      (event) => feed.onLive(event),
      (error) => feed.end(error),
    );
    try {
      await source.start();
    } catch (error) {
      feed.close();
      throw error;
    }
    // A live-only feed whose held events overflowed while starting reads the gap back.
    if (!options.replay && feed.stats.overflows === 0) feed.goLive();
    return feed;
  }

  get feedStats(): FeedStats {
    return { ...this.stats, waiting: this.wakers.length };
  }

  get closed(): boolean {
    return this.done;
  }

  get ending(): boolean {
    return this.done || this.failure !== undefined;
  }

  get caughtUp(): boolean {
    return this.live && this.ready.length === 0 && this.failure === undefined && !this.done;
  }

  async settle(): Promise<void> {
    while (this.ready.length === 0 && this.failure === undefined && !this.done && !this.live) await this.readPage();
  }

  whenMoved(timeoutMs: number): Promise<void> {
    if (this.ready.length > 0 || this.failure !== undefined || this.done) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      // A wait that times out takes its waker back: a quiet feed asked again and again keeps nothing.
      const timer = setTimeout(() => {
        const index = this.wakers.indexOf(wake);
        if (index >= 0) this.wakers.splice(index, 1);
        resolve();
      }, timeoutMs);
      this.wakers.push(wake);
    });
  }

  positions(): FeedPositions {
    return this.source.positions();
  }

  positionOf(item: T): readonly [partition: number, offset: number] {
    return this.source.positionOf(item);
  }

  storedIn(ranges: PositionRanges): Promise<boolean> {
    return this.source.storedIn(ranges);
  }

  async next(): Promise<IteratorResult<T>> {
    for (;;) {
      if (this.ready.length > 0) return { value: this.ready.shift()!, done: false };
      if (this.failure !== undefined && !this.done) {
        const error = this.failure;
        this.close();
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- whatever the source failed with (or the caller passed to throw()) reaches the consumer unchanged
        throw error;
      }
      if (this.done) return DONE;
      if (this.live) await new Promise<void>((resolve) => this.wakers.push(resolve));
      else await this.readPage();
    }
  }

  return(): Promise<IteratorResult<T>> {
    this.close();
    return Promise.resolve(DONE);
  }

  throw(error: unknown): Promise<IteratorResult<T>> {
    this.close();
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- whatever the source failed with (or the caller passed to throw()) reaches the consumer unchanged
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  private async readPage(): Promise<void> {
    const overflowsBefore = this.stats.overflows;
    const page = await this.source.readAfter(this.pageSize);
    this.stats.pagesRead++;
    if (page.length > 0) this.options.observer?.replayed(this.options.noun, page.length);
    if (this.done) return;
    for (const event of page) this.accept(event);
    if (page.length < this.pageSize && this.stats.overflows === overflowsBefore) this.goLive();
  }

  private goLive(): void {
    if (this.ready.length + this.held.length > this.maxBuffered) {
      // Too much to queue at once: the held events are stored, so read them back page by page.
      this.dropHeld();
      return;
    }
    this.live = true;
    const held = this.held;
    this.held = [];
    for (const event of held) this.accept(event);
    this.checkBacklog();
  }

  private onLive(event: E): void {
    if (this.done || this.failure !== undefined) return;
    if (!this.live) {
      if (this.held.length >= this.maxBuffered) this.dropHeld();
      this.held.push(event);
      if (this.held.length > this.stats.maxHeld) this.stats.maxHeld = this.held.length;
      return;
    }
    this.accept(event);
    this.checkBacklog();
    this.wake();
  }

  private dropHeld(): void {
    this.held = [];
    this.stats.overflows++;
  }

  private accept(event: E): void {
    if (!this.source.advance(event)) return;
    const item = this.source.present(event);
    if (item !== undefined) this.ready.push(item);
  }

  /** Ends the feed with `error` after what is queued (and stops listening). */
  private end(error: Error): void {
    if (this.done || this.failure !== undefined) return;
    this.failure = error;
    this.stopListening();
    this.wake();
  }

  private checkBacklog(): void {
    if (this.ready.length <= this.maxBuffered) return;
    // What is queued is still delivered; the error comes after it, so the last cursor the
    // client received resumes exactly where the stream of events broke off.
    this.ready.length = this.maxBuffered;
    this.failure = slowSubscriber(this.maxBuffered, this.options.noun);
    this.stopListening();
  }

  private wake(): void {
    const wakers = this.wakers;
    this.wakers = [];
    for (const wake of wakers) wake();
  }

  private close(): void {
    if (this.done) return;
    this.done = true;
    this.ready.length = 0;
    this.held = [];
    this.stopListening();
    this.wake();
  }
}
