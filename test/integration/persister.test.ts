import { openEmbeddedBackends, type EmbeddedBackends } from '../support/embedded';
import { ReadingPersister } from '../../src/consumers/reading-persister';
import { toEnvelope } from '../../src/domain/cloud-event';
import { BackendError } from '../../src/domain/errors';
import type { PersistedReading } from '../../src/domain/reading';
import { DeviceDirectory } from '../../src/devices/device-directory';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store';
import type { Store } from '../../src/store/store';
import { EmbeddedStream } from '../../src/stream/embedded/embedded-stream';
import { eventually } from '../support/server';
import { silentLogger } from '../support/logger';

const envelope = (deviceId: string, timestamp: number, eventId: string) =>
  JSON.stringify(toEnvelope({ tenantId: 't', deviceId, eventId, timestamp, metrics: [{ name: 'v', value: timestamp }] }, 'io.telemetry'));

describe('reading persister', () => {
  let backends: EmbeddedBackends;
  let stream: EmbeddedStream;
  let store: SqliteStore;

  beforeEach(async () => {
    backends = await openEmbeddedBackends();
    ({ stream, store } = backends);
  });
  afterEach(() => backends.close());

  it('retries a failing database with backoff while the stream buffers, then applies everything once', async () => {
    let failuresLeft = 4;
    const flaky: Store = Object.create(store) as Store;
    flaky.transact = async (work) => {
      if (failuresLeft-- > 0) throw new BackendError('database error SQLITE_BUSY: locked', true);
      return store.transact(work);
    };
    const published: PersistedReading[] = [];
    const persister = new ReadingPersister({
      stream,
      store: flaky,
      devices: new DeviceDirectory(store),
      publish: (readings) => published.push(...readings),
      logger: silentLogger,
      eventTypePrefix: 'io.telemetry',
      lingerMs: 0,
      pollIntervalMs: 5,
      retryPolicy: { initialDelayMs: 1, maxDelayMs: 5, multiplier: 2 },
    });
    await stream.produce(
      'readings',
      Array.from({ length: 20 }, (_, i) => ({ key: 't/d1', value: envelope('d1', 1000 + i, `e${i}`) })),
    );
    await persister.start();
    await eventually(() => (published.length === 20 ? true : undefined));
    await persister.stop();
    expect(persister.snapshot().retries).toBe(4);
    expect(published.map((r) => r.eventId)).toEqual(Array.from({ length: 20 }, (_, i) => `e${i}`));
    const stored = await store.queryReadings('t', { deviceId: 'd1', metric: 'v', first: 100, order: 'OLDEST_FIRST' });
    expect(stored.items).toHaveLength(20);
  });

  it('publishes nothing before the commit and resumes from the database watermark after a restart', async () => {
    const published: string[] = [];
    const make = () =>
      new ReadingPersister({
        stream,
        store,
        devices: new DeviceDirectory(store),
        publish: (r) => published.push(...r.map((x) => x.eventId)),
        logger: silentLogger,
        eventTypePrefix: 'io.telemetry',
        lingerMs: 0,
        pollIntervalMs: 5,
      });
    await stream.produce('readings', [{ key: 't/d1', value: envelope('d1', 1, 'a') }]);
    const first = make();
    await first.start();
    await eventually(() => (published.length === 1 ? true : undefined));
    // After the database commit, the group's offset in the log follows the watermark.
    const [partition, applied] = [...(await store.watermarks('readings'))][0]!;
    await eventually(async () => ((await stream.committed('persister', 'readings', partition)) === applied + 1 ? true : undefined), 5000, 'offset committed');
    await first.stop();
    // The stream's own committed offset is lost (e.g. another group wrote it); the database watermark decides.
    await stream.commit('persister', 'readings', 0, -1);
    await stream.commit('persister', 'readings', 1, -1);
    await stream.produce('readings', [{ key: 't/d1', value: envelope('d1', 2, 'b') }]);
    const second = make();
    await second.start();
    await eventually(() => (published.length >= 2 ? true : undefined));
    await second.stop();
    expect(published).toEqual(['a', 'b']);
  });
});
