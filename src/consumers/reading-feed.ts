import { encodeCursor } from '../domain/cursor';
import { TelemetryError } from '../domain/errors';
import type { PersistedReading } from '../domain/reading';
import type { Store } from '../store/store';
import { AsyncQueue } from './async-queue';
import type { ReadingHub } from './reading-hub';

/** One delivered reading and the cursor to resume right after it. */
export interface FeedItem {
  readonly reading: PersistedReading;
  readonly cursor: string;
}

export interface ReadingFeedOptions {
  readonly hub: ReadingHub;
  readonly store: Pick<Store, 'readingEventsAfter' | 'watermarks'>;
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
}

/**
 * A subscription that resumes without gap or duplicate (docs/PROTOCOL.md, "Cursors"):
 *  1. listen to the hub first, buffering live events;
 *  2. replay from the database everything after the cursor, page by page;
 *  3. drain the buffer, then pass live events straight through.
 * Every event is delivered only if its offset is beyond the subscriber's position in its
 * partition, so events seen both in the replay and live are delivered once.
 */
export async function openReadingFeed(options: ReadingFeedOptions): Promise<AsyncQueue<FeedItem>> {
  const positions = new Map<number, number>();
  const maxBuffered = options.maxBuffered ?? 10_000;
  let buffer: PersistedReading[] | undefined = [];
  let unsubscribe = () => {};
  const queue = new AsyncQueue<FeedItem>(() => unsubscribe());

  const deliver = (reading: PersistedReading): void => {
    if (reading.offset <= (positions.get(reading.partition) ?? -1)) return;
    positions.set(reading.partition, reading.offset);
    const metrics = options.metric === undefined ? reading.metrics : reading.metrics.filter((m) => m.name === options.metric);
    if (metrics.length === 0) return;
    if (queue.size >= maxBuffered) {
      queue.fail(
        new TelemetryError('UNAVAILABLE', `subscriber fell ${maxBuffered} events behind; resubscribe with the last cursor received to resume without a gap`, {
          details: { reason: 'SLOW_SUBSCRIBER' },
        }),
      );
      return;
    }
    queue.push({ reading: metrics === reading.metrics ? reading : { ...reading, metrics }, cursor: encodeCursor(positions) });
  };

  unsubscribe = options.hub.subscribe(options.tenantId, options.deviceIds, (reading) => (buffer ? buffer.push(reading) : deliver(reading)));
  try {
    const watermarks = await options.store.watermarks('readings');
    for (const partition of options.partitions) {
      positions.set(partition, options.after?.get(partition) ?? watermarks.get(partition) ?? -1);
    }
    if (options.after !== undefined) await replay(options, positions, deliver, queue);
  } catch (error) {
    unsubscribe();
    throw error;
  }
  const buffered = buffer;
  buffer = undefined;
  for (const reading of buffered) deliver(reading);
  return queue;
}

async function replay(
  options: ReadingFeedOptions,
  positions: Map<number, number>,
  deliver: (reading: PersistedReading) => void,
  queue: AsyncQueue<FeedItem>,
): Promise<void> {
  const limit = options.replayPageSize ?? 500;
  while (!queue.closed) {
    // Backpressure: a long replay waits for the client instead of filling memory.
    while (queue.size >= limit && !queue.closed) await new Promise((resolve) => setTimeout(resolve, 5));
    const page = await options.store.readingEventsAfter({ tenantId: options.tenantId, deviceIds: options.deviceIds, after: new Map(positions), limit });
    for (const reading of page) deliver(reading);
    if (page.length < limit) return;
  }
}
