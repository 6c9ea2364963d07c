import { encodeCursor } from '../domain/cursor';
import { checkReadingCursorNotExpired } from '../domain/cursor-expiry';
import { TelemetryError } from '../domain/errors';
import type { PersistedReading } from '../domain/reading';
import type { ReadingStore } from '../store/ports/reading-store';
import { ResumableFeed, type FeedObserver } from './resumable-feed';
import type { ReadingHub } from './reading-hub';

/** One delivered reading and the cursor to resume right after it. */
export interface FeedItem {
  readonly reading: PersistedReading;
  readonly cursor: string;
}

export interface ReadingFeedOptions {
  readonly hub: ReadingHub;
  readonly store: ReadingStore;
  /** Partitions of the readings topic. */
  readonly partitions: readonly number[];
  readonly tenantId: string;
  readonly deviceIds: readonly string[];
  /** Deliver only this metric (readings without it are skipped). */
  readonly metric?: string | undefined;
  /** Resume after this position (decoded cursor); live only when absent. */
  readonly after?: ReadonlyMap<number, number> | undefined;
  /** Events read from the database per replay query. @default 500 */
  readonly replayPageSize?: number;
  /** Undelivered events a slow client may accumulate before its subscription ends. @default 10000 */
  readonly maxBuffered?: number;
  readonly observer?: FeedObserver | undefined;
}

/**
 * A cursor at what is stored now, in every partition (-1 where nothing is): a subscription
 * `after` it receives every reading stored from then on. Read before a query of readings, it
 * closes the gap between the query and the subscription (readingCursor).
 */
export async function storedReadingsCursor(store: Pick<ReadingStore, 'watermarks'>, partitions: readonly number[]): Promise<string> {
  const watermarks = await store.watermarks('readings');
  return encodeCursor(new Map(partitions.map((partition) => [partition, watermarks.get(partition) ?? -1])));
}

/**
 * `readingAdded`: the stored readings of some devices, resumable from a cursor that holds the
 * subscriber's position in every partition of the readings topic (docs/PROTOCOL.md §4).
 * Partitions the cursor does not name start at the current watermark.
 */
export function openReadingFeed(options: ReadingFeedOptions): Promise<ResumableFeed<PersistedReading, FeedItem>> {
  const positions = new Map<number, number>();
  return ResumableFeed.open<PersistedReading, FeedItem>(
    {
      listen: (onEvent, onEnd) => options.hub.subscribe(options.tenantId, options.deviceIds, onEvent, onEnd),
      async start() {
        const watermarks = await options.store.watermarks('readings');
        if (options.after) {
          checkCursor(options.after, options.partitions, watermarks);
          checkReadingCursorNotExpired(options.after, await options.store.prunedReadingEvents(options.tenantId, options.deviceIds));
        }
        for (const partition of options.partitions) positions.set(partition, options.after?.get(partition) ?? watermarks.get(partition) ?? -1);
      },
      async readAfter(limit) {
        // Only partitions with something stored beyond the position: what is stored after this
        // watermark is published after it, so the feed (listening since before) holds it. A
        // resume from a current cursor (a console reconnecting, a thousand at once after an
        // outage) then costs no read at all.
        const stored = await options.store.watermarks('readings');
        const from = new Map([...positions].filter(([partition, offset]) => offset < (stored.get(partition) ?? -1)));
        if (from.size === 0) return [];
        const page = await options.store.readingEventsAfter({ tenantId: options.tenantId, deviceIds: options.deviceIds, after: from, limit });
        // A retention pass may have removed events beyond the position since the start: read
        // after the page, a removal the page missed is seen here, and the feed ends rather
        // than skip it.
        checkReadingCursorNotExpired(from, await options.store.prunedReadingEvents(options.tenantId, options.deviceIds));
        return page;
      },
      advance(reading) {
        if (reading.offset <= (positions.get(reading.partition) ?? -1)) return false;
        positions.set(reading.partition, reading.offset);
        return true;
      },
      present(reading) {
        const metrics = options.metric === undefined ? reading.metrics : reading.metrics.filter((m) => m.name === options.metric);
        if (metrics.length === 0) return undefined;
        return { reading: metrics === reading.metrics ? reading : { ...reading, metrics }, cursor: encodeCursor(positions) };
      },
      positions: () => positions,
      positionOf: ({ reading }) => [reading.partition, reading.offset],
      async storedIn(ranges) {
        // A reading retention removed from a range may have been stored there and be on its way
        // still: its absence proves nothing.
        const pruned = await options.store.prunedReadingEvents(options.tenantId, options.deviceIds);
        for (const [partition, [after]] of ranges) if ((pruned.get(partition) ?? -1) > after) return true;
        // One partition at a time: a page over several would stop at the first partition's events.
        for (const [partition, [after, through]] of ranges) {
          const [first] = await options.store.readingEventsAfter({
            tenantId: options.tenantId,
            deviceIds: options.deviceIds,
            after: new Map([[partition, after]]),
            limit: 1,
          });
          if (first && first.offset <= through) return true;
        }
        return false;
      },
    },
    { replay: options.after !== undefined, pageSize: options.replayPageSize, maxBuffered: options.maxBuffered, noun: 'readings', observer: options.observer },
  );
}

/**
 * A cursor this service issued names only its partitions, at offsets already stored (events
 * are published after their commit). Anything else comes from another deployment or from
 * before the data was reset: resuming from it would silently skip or repeat, so it is refused.
 */
function checkCursor(after: ReadonlyMap<number, number>, partitions: readonly number[], watermarks: ReadonlyMap<number, number>): void {
  for (const [partition, offset] of after) {
    if (!partitions.includes(partition)) {
      throw new TelemetryError(
        'BAD_USER_INPUT',
        `after names partition ${partition}, but the readings topic has partitions 0-${partitions.length - 1}; it is not a cursor of this service`,
        {
          details: { argument: 'after', reason: 'CURSOR_UNKNOWN' },
        },
      );
    }
    const stored = watermarks.get(partition) ?? -1;
    if (offset > stored) {
      throw new TelemetryError(
        'BAD_USER_INPUT',
        `after is ahead of what this service has stored (partition ${partition}: offset ${offset}, stored up to ${stored}); it is not a cursor of this service's data`,
        {
          details: { argument: 'after', reason: 'CURSOR_UNKNOWN' },
        },
      );
    }
  }
}
