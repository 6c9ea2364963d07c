/** A feed's position per partition: the offset through which it has delivered (what its cursor holds). */
export type FeedPositions = ReadonlyMap<number, number>;

/** Ranges of offsets per partition, each (after, through]. */
export type PositionRanges = ReadonlyMap<number, readonly [after: number, through: number]>;

/**
 * What a subscription's feed tells about its place in the stream, so that a subscription that
 * resumed from a cursor can leave its own feed for the shared execution of identical live ones
 * once it has caught up, without a gap or a duplicate (server/subscription-cohorts.ts says how).
 * Events reach every listener of a feed in commit order, so in a partition an event published
 * after another has the higher offset.
 */
export interface PositionedFeed<T> {
  /** Live, nothing queued to deliver, not ending: everything published so far was delivered. */
  readonly caughtUp: boolean;
  /** Ended, or ending after what it has queued (a failure such as its device being deleted). */
  readonly ending: boolean;
  /**
   * Resolves once an item is ready, the feed has ended, or it is caught up, reading replay
   * pages as needed; after it, `next()` does not wait for a live event. Rejects as `next()` would.
   */
  settle(): Promise<void>;
  /** Resolves when a caught-up feed moves (an event to deliver, its end, or its failure), or after `timeoutMs`. */
  whenMoved(timeoutMs: number): Promise<void>;
  /** The position now, per partition: what the next item's cursor will hold. */
  positions(): FeedPositions;
  /** The partition and offset of the event an item was presented for. */
  positionOf(item: T): readonly [partition: number, offset: number];
  /**
   * Whether any stored event this feed would deliver lies in one of the ranges. A range whose
   * `through` is a position of a feed is final once read: offsets up to a position are stored.
   */
  storedIn(ranges: PositionRanges): Promise<boolean>;
}

export function isPositionedFeed(value: unknown): value is PositionedFeed<unknown> {
  const feed = value as Partial<PositionedFeed<unknown>> | null;
  return (
    typeof feed?.positions === 'function' &&
    typeof feed.positionOf === 'function' &&
    typeof feed.storedIn === 'function' &&
    typeof feed.settle === 'function' &&
    typeof feed.whenMoved === 'function' &&
    'caughtUp' in feed
  );
}
