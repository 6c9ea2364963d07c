import { rmSync } from 'node:fs';
import { ConsumerThread } from '../../src/composition/consumer-thread';
import { openStore, openStream } from '../../src/composition/backends';
import { SubscriberCount } from '../../src/composition/subscriber-count';
import { envelopeEncoder } from '../../src/domain/cloud-event';
import type { PersistedReading } from '../../src/domain/reading';
import { ReadingHub } from '../../src/subscriptions/reading-hub';
import { eventually, newDataDir, randomKey, testServiceConfig } from '../support/server';
import { silentLogger } from '../support/logger';

describe('the subscriber count shared with the consumer thread', () => {
  it('is kept by the reading hub, synchronously, once per subscription', () => {
    const counts: number[] = [];
    const hub = new ReadingHub((count) => counts.push(count));
    const first = hub.subscribe('t', ['d1', 'd2'], () => {});
    const second = hub.subscribe('t', ['d1'], () => {});
    expect(counts).toEqual([1, 2]);
    first();
    first(); // unsubscribing twice counts once
    second();
    expect(counts).toEqual([1, 2, 1, 0]);
  });

  it('lets the consumer thread skip posting persisted readings while nobody subscribes, and post them again once someone does', async () => {
    const dataDir = newDataDir();
    const config = testServiceConfig(dataDir, randomKey());
    const store = await openStore(config);
    await store.ensureTenant('t', 'T');
    await store.registerDevice('t', { id: 'd1', name: 'd1', tags: [] });
    await store.close();
    const stream = await openStream(config, silentLogger);
    const encode = envelopeEncoder(config.eventTypePrefix);
    const produce = (eventIds: string[], from: number) =>
      stream.produce(
        'readings',
        eventIds.map((eventId, i) => ({
          key: 't/d1',
          value: encode({ tenantId: 't', deviceId: 'd1', eventId, timestamp: Date.now() - 60_000 + from + i, metrics: [{ name: 'v', value: i }] }),
        })),
      );

    const subscribers = new SubscriberCount();
    const posted: PersistedReading[] = [];
    const consumer = new ConsumerThread(
      config,
      (json) => posted.push(...(JSON.parse(json) as PersistedReading[])),
      () => {},
      () => {},
      silentLogger,
      subscribers,
    );
    try {
      await consumer.ready();
      const unseen = ['unseen-1', 'unseen-2', 'unseen-3'];
      await produce(unseen, 0);
      consumer.wake();
      await eventually(() => consumer.stats().appliedReadings === 3 || undefined, 15_000, 'three readings applied');

      subscribers.set(1);
      const seen = ['seen-1', 'seen-2'];
      await produce(seen, 10);
      consumer.wake();
      await eventually(() => posted.length >= 2 || undefined, 15_000, 'two readings posted');
      expect(posted.map((reading) => reading.eventId)).toEqual(seen);
      // Stats come after the post of the same round (both from the consumer thread, in order):
      // nothing of the first readings was posted in between.
      await eventually(() => consumer.stats().appliedReadings === 5 || undefined, 15_000, 'five readings applied');
      expect(posted.map((reading) => reading.eventId)).toEqual(seen);
    } finally {
      await consumer.stop();
      await stream.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
