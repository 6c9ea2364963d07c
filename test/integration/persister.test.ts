import { openEmbeddedBackends, type EmbeddedBackends } from '../support/embedded';
import { ReadingPersister } from '../../src/consumers/reading-persister';
import { toEnvelope } from '../../src/domain/cloud-event';
import { BackendError } from '../../src/domain/errors';
import type { PersistedReading } from '../../src/domain/reading';
import { DeviceDirectory } from '../../src/devices/device-directory';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store';
import type { Store } from '../../src/store/store';
import { EmbeddedStream } from '../../src/stream/embedded/embedded-stream';
import type { ConsumerGroupMember, Stream } from '../../src/stream/stream';
import { eventually } from '../support/server';
import { silentLogger } from '../support/logger';

const envelope = (deviceId: string, timestamp: number, eventId: string) =>
  JSON.stringify(toEnvelope({ tenantId: 't', deviceId, eventId, timestamp, metrics: [{ name: 'v', value: timestamp }] }, 'io.telemetry'));

/** Timers that never fire on their own: the test sees every wait the persister asks for and ends it. */
class FakeTimers {
  readonly pending: { ms: number; fire: () => void }[] = [];
  readonly requested: number[] = [];
  readonly setTimer = (ms: number, fire: () => void) => {
    const timer = { ms, fire };
    this.requested.push(ms);
    this.pending.push(timer);
    return () => void this.pending.splice(this.pending.indexOf(timer), 1);
  };
}

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

  describe('cadence', () => {
    const POLL_MS = 7;
    const persisterOn = (on: Stream, timers: FakeTimers, published: string[], lingerAboveMessages?: number) =>
      new ReadingPersister({
        stream: on,
        store,
        devices: new DeviceDirectory(store),
        publish: (readings) => published.push(...readings.map((r) => r.eventId)),
        logger: silentLogger,
        eventTypePrefix: 'io.telemetry',
        lingerMs: 30,
        lingerAboveMessages,
        pollIntervalMs: POLL_MS,
        setTimer: timers.setTimer,
      });

    it('applies a message on a quiet stream as soon as it is woken, asking for no linger', async () => {
      const timers = new FakeTimers();
      const published: string[] = [];
      const persister = persisterOn(stream, timers, published);
      await stream.produce('readings', [{ key: 't/d1', value: envelope('d1', 1, 'a') }]);
      await persister.start();
      await eventually(() => (published.length === 1 ? true : undefined));
      // No timer ever fires: the next message gets through on the wake alone.
      await eventually(() => (timers.pending.length > 0 ? true : undefined), 15_000, 'the persister idle');
      await stream.produce('readings', [{ key: 't/d1', value: envelope('d1', 2, 'b') }]);
      persister.wake();
      await eventually(() => (published.length === 2 ? true : undefined));
      await persister.stop();
      expect(published).toEqual(['a', 'b']);
      // Only the empty-poll sleeps, ended by wake(): never the 30 ms linger.
      expect(new Set(timers.requested)).toEqual(new Set([POLL_MS]));
    });

    it('does not lose a wake that comes while a round is polling', async () => {
      let reachedPoll!: () => void;
      let releasePoll!: () => void;
      const reached = new Promise<void>((resolve) => (reachedPoll = resolve));
      const release = new Promise<void>((resolve) => (releasePoll = resolve));
      let first = true;
      // The first poll answers (empty), then waits for the test before the round goes on.
      const gated: Stream = Object.create(stream) as Stream;
      gated.joinGroup = async (...args) => {
        const member = await stream.joinGroup(...args);
        const wrapped: ConsumerGroupMember = Object.create(member) as ConsumerGroupMember;
        wrapped.poll = async (from, limit) => {
          const answer = await member.poll(from, limit);
          if (first) {
            first = false;
            reachedPoll();
            await release;
          }
          return answer;
        };
        return wrapped;
      };
      const timers = new FakeTimers();
      const published: string[] = [];
      const persister = persisterOn(gated, timers, published);
      await persister.start();
      await reached;
      await stream.produce('readings', [{ key: 't/d1', value: envelope('d1', 1, 'a') }]);
      persister.wake();
      releasePoll();
      // The round found nothing, but the wake came after its poll: the next round starts at once.
      await eventually(() => (published.length === 1 ? true : undefined));
      await persister.stop();
      expect(timers.requested.every((ms) => ms === POLL_MS)).toBe(true);
    });

    it('backs off after a failed round, doubling, and a wake does not cut the pause short', async () => {
      let polls = 0;
      const failing: Stream = Object.create(stream) as Stream;
      failing.joinGroup = async (...args) => {
        const member = await stream.joinGroup(...args);
        const wrapped: ConsumerGroupMember = Object.create(member) as ConsumerGroupMember;
        wrapped.poll = async () => {
          polls++;
          throw new BackendError('stream unreachable', true);
        };
        return wrapped;
      };
      const timers = new FakeTimers();
      const persister = persisterOn(failing, timers, []);
      await persister.start();
      const first = await eventually(() => timers.pending.find((timer) => timer.ms !== POLL_MS));
      expect(first.ms).toBe(POLL_MS * 2);
      // Ingest keeps waking the consumer: the failing poll is not retried until the pause ends.
      persister.wake();
      persister.wake();
      expect(polls).toBe(1);
      expect(timers.pending).toContain(first);
      first.fire();
      const second = await eventually(() => timers.pending.find((timer) => timer !== first && timer.ms !== POLL_MS));
      expect(second.ms).toBe(POLL_MS * 4);
      expect(polls).toBe(2);
      await persister.stop();
    });

    it('lingers after a round that met a backlog, so the next transaction gathers more', async () => {
      const timers = new FakeTimers();
      const published: string[] = [];
      const persister = persisterOn(stream, timers, published, 3);
      await stream.produce(
        'readings',
        Array.from({ length: 4 }, (_, i) => ({ key: 't/d1', value: envelope('d1', 1 + i, `a${i}`) })),
      );
      await persister.start();
      await eventually(() => (published.length === 4 ? true : undefined));
      const linger = await eventually(() => timers.pending.find((timer) => timer.ms !== POLL_MS));
      expect(linger.ms).toBeGreaterThan(0);
      expect(linger.ms).toBeLessThanOrEqual(30);
      await stream.produce('readings', [{ key: 't/d1', value: envelope('d1', 10, 'b') }]);
      persister.wake(); // does not cut the linger short
      expect(timers.pending).toContain(linger);
      linger.fire();
      await eventually(() => (published.length === 5 ? true : undefined));
      await persister.stop();
    });
  });
});
