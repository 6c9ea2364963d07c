import { openReadingFeed } from '../../src/subscriptions/reading-feed';
import { FakeReadings, TENANT } from '../support/fake-readings';

const PARTITIONS = [0, 1];

function feed(readings: FakeReadings, after: Record<number, number> | undefined, options: { maxBuffered?: number; replayPageSize?: number } = {}) {
  return openReadingFeed({
    hub: readings.hub,
    store: readings.store,
    partitions: PARTITIONS,
    tenantId: TENANT,
    deviceIds: ['a-1'],
    after: after && new Map(Object.entries(after).map(([partition, offset]) => [Number(partition), offset])),
    ...options,
  });
}

async function take(iterator: AsyncIterator<{ reading: { partition: number; offset: number } }>, count: number): Promise<string[]> {
  const ids: string[] = [];
  while (ids.length < count) {
    const { value, done } = await iterator.next();
    if (done) break;
    ids.push(`${value.reading.partition}/${value.reading.offset}`);
  }
  return ids;
}

describe('readingAdded feed: what a resume reads from the database', () => {
  it('resuming from the current watermark reads nothing, and delivers what comes live', async () => {
    const readings = new FakeReadings();
    readings.commit('a-1', 3);
    readings.commit('b-1', 2);
    readings.publish();
    const subscription = await feed(readings, { 0: 2, 1: 1 });
    const next = take(subscription, 1); // its replay: nothing to read, so it goes live
    await new Promise((resolve) => setImmediate(resolve));
    expect(readings.pageReads).toEqual([]);
    readings.commit('a-1');
    readings.publish();
    expect(await next).toEqual(['0/3']);
    expect(readings.pageReads).toEqual([]);
    await subscription.return();
  });

  it('reads only the partitions with something stored beyond the position', async () => {
    const readings = new FakeReadings();
    readings.commit('a-1', 3);
    readings.commit('b-1', 2);
    readings.publish();
    const subscription = await feed(readings, { 0: 0, 1: 1 });
    expect(await take(subscription, 2)).toEqual(['0/1', '0/2']);
    readings.commit('a-1');
    readings.publish();
    expect(await take(subscription, 1)).toEqual(['0/3']);
    expect(readings.pageReads).toEqual([[0]]);
    await subscription.return();
  });

  it('reads back live events dropped while replaying, though they are beyond the watermark of the first read', async () => {
    const readings = new FakeReadings();
    readings.commit('a-1', 10);
    readings.publish();
    let reads = 0;
    readings.duringRead = () => {
      // During the first read, more than the feed may hold arrives live: it drops them.
      if (reads++ === 0) {
        readings.commit('a-1', 5);
        readings.publish();
      }
    };
    const subscription = await feed(readings, { 0: -1, 1: -1 }, { maxBuffered: 3, replayPageSize: 4 });
    expect(await take(subscription, 15)).toEqual(Array.from({ length: 15 }, (_, offset) => `0/${offset}`));
    expect(subscription.feedStats.overflows).toBeGreaterThan(0);
    readings.commit('a-1');
    readings.publish();
    expect(await take(subscription, 1)).toEqual(['0/15']);
    await subscription.return();
  });
});
