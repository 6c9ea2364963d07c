import { createConsumerFunction, type ConsumerFunction } from '../../src/composition/function-runtime';
import { loadConfig } from '../../src/config';
import { applyBatch } from '../../src/consumers/pipeline/apply-batch';
import { ReadingPersister } from '../../src/consumers/reading-persister';
import { fromEnvelope, toEnvelope } from '../../src/domain/cloud-event';
import { BackendError } from '../../src/domain/errors';
import { DeviceDirectory } from '../../src/devices/device-directory';
import type { FanoutMessage } from '../../src/domain/events-topic';
import type { Store } from '../../src/store/store';
import type { StreamMessage } from '../../src/stream/stream';
import { asConnectorBatch } from '../support/fdk-client';
import { openEmbeddedBackends, type EmbeddedBackends } from '../support/embedded';
import { silentLogger } from '../support/logger';
import { eventually } from '../support/server';

const PREFIX = 'io.telemetry';
const config = loadConfig({ TELEMETRY_EVENT_TYPE_PREFIX: PREFIX });
/** Readings' times count from an hour ago: inside every retention, which each invocation's jobs enforce. */
const SINCE = Date.now() - 3_600_000;
const envelope = (deviceId: string, eventId: string, timestamp: number) =>
  JSON.stringify(toEnvelope({ tenantId: 't', deviceId, eventId, timestamp: SINCE + timestamp, metrics: [{ name: 'v', value: timestamp }] }, PREFIX));
const eventIdOf = (message: StreamMessage) => {
  const decoded = fromEnvelope(message.value, PREFIX);
  if (!decoded.ok) throw new Error(decoded.reason);
  return decoded.reading.eventId;
};
const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

describe('the consumer as an OCI Function (handler invoked in-process with Connector Hub batches)', () => {
  let backends: EmbeddedBackends;
  let fn: ConsumerFunction;
  /** Whole partitions as produced, by partition then offset. */
  let log: Map<number, StreamMessage[]>;
  let failuresLeft: number;

  const slice = (partition: number, from: number, to: number) => log.get(partition)!.filter((m) => m.offset >= from && m.offset <= to);
  const storedPoints = async (deviceId: string) =>
    (await backends.store.queryReadings('t', { deviceId, metric: 'v', first: 1000, order: 'OLDEST_FIRST' })).items.map((point) => point.timestamp);
  const publishedEventIds = async () => {
    const ids: string[] = [];
    for (const partition of await backends.stream.partitions('events'))
      for (const message of await backends.stream.read('events', partition, 0, 10_000)) {
        const body = JSON.parse(message.value) as FanoutMessage;
        if (body.kind === 'readings') ids.push(...body.readings.map((reading) => reading.eventId));
      }
    return ids.sort();
  };

  beforeEach(async () => {
    backends = await openEmbeddedBackends();
    await backends.store.registerDevice('t', { id: 'd2', name: 'd2', tags: [] });
    // A store whose transactions fail while `failuresLeft` > 0, as an unreachable database would.
    failuresLeft = 0;
    const flaky: Store = Object.create(backends.store) as Store;
    flaky.transact = async (work) => {
      if (failuresLeft > 0) {
        failuresLeft--;
        throw new BackendError('database unavailable: connection reset', true);
      }
      return backends.store.transact(work);
    };
    fn = createConsumerFunction(config, silentLogger, {
      backends: { store: flaky, stream: backends.stream },
      maxAttempts: 2,
      retryPolicy: { initialDelayMs: 1, maxDelayMs: 2, multiplier: 2 },
    });
    // Two devices whose readings land in different partitions (the key decides), 10 each,
    // plus one malformed message and one reading of a device that does not exist.
    const records = [];
    for (let i = 0; i < 10; i++) {
      records.push({ key: 't/d1', value: envelope('d1', `a${i}`, 1000 + i) });
      records.push({ key: 't/d2', value: envelope('d2', `b${i}`, 1000 + i) });
    }
    await backends.stream.produce('readings', records);
    log = new Map();
    for (const partition of await backends.stream.partitions('readings')) log.set(partition, await backends.stream.read('readings', partition, 0, 1000));
  });
  afterEach(async () => {
    await fn.close();
    await backends.close();
  });

  it('applies replays, overlaps, gaps, out-of-order and interleaved partitions once, and hands over to the long-running consumer', async () => {
    const partitions = [...log.keys()].filter((partition) => log.get(partition)!.length > 0);
    // The test needs the two devices on two partitions; the partitioner decides, so check it.
    expect(partitions).toHaveLength(2);
    const [p, q] = partitions as [number, number];

    // Interleaved partitions.
    const first = [...slice(p, 0, 2), ...slice(q, 0, 1)].sort((a, b) => a.offset - b.offset);
    expect(await fn.invoke(asConnectorBatch(first))).toMatchObject({ applied: 5, alreadyApplied: 0, filled: 0 });
    // The same batch delivered again (at-least-once).
    expect(await fn.invoke(asConnectorBatch(first))).toMatchObject({ applied: 0, alreadyApplied: 5 });
    // An overlapping batch: 1 and 2 were applied, 3 and 4 are new.
    expect(await fn.invoke(asConnectorBatch(slice(p, 1, 4)))).toMatchObject({ applied: 2, alreadyApplied: 2 });
    // Out of order, with a gap (5 and 6 never delivered): they are read from the stream first.
    expect(await fn.invoke(asConnectorBatch([...slice(p, 8, 8), ...slice(p, 7, 7)]))).toMatchObject({ applied: 4, filled: 2, watermarks: { [p]: 8 } });
    // A partial batch of the other partition, with one message twice.
    expect(await fn.invoke(asConnectorBatch([...slice(q, 2, 3), ...slice(q, 3, 3)]))).toMatchObject({ applied: 2, watermarks: { [p]: 8, [q]: 3 } });

    // The long-running consumer takes the stream over: it resumes from the same watermarks.
    const published: string[] = [];
    const persister = new ReadingPersister({
      stream: backends.stream,
      store: backends.store,
      devices: new DeviceDirectory(backends.store),
      publish: (readings) => published.push(...readings.map((reading) => reading.eventId)),
      logger: silentLogger,
      eventTypePrefix: PREFIX,
      lingerMs: 0,
      pollIntervalMs: 5,
    });
    await persister.start();
    await eventually(async () => ((await backends.store.watermarks('readings')).get(q) === 9 ? true : undefined));
    await eventually(async () => ((await backends.store.watermarks('readings')).get(p) === 9 ? true : undefined));
    await persister.stop();
    // The persister applied exactly what the function had not: p's 9, q's 4..9.
    expect(published.sort()).toEqual([...slice(p, 9, 9), ...slice(q, 4, 9)].map(eventIdOf).sort());

    // Every reading stored once.
    expect(await storedPoints('d1')).toHaveLength(10);
    expect(await storedPoints('d2')).toHaveLength(10);
    // And what the function committed was published to the events topic once each.
    const fromFunction = await publishedEventIds();
    expect(new Set(fromFunction).size).toBe(fromFunction.length);
    expect(fromFunction.length + published.length).toBe(20);
  });

  it('sets poison aside as dead letters and moves the watermark past it', async () => {
    const produced = await backends.stream.produce('readings', [
      { key: 't/d1', value: 'not a CloudEvent' },
      { key: 't/d1', value: envelope('ghost', 'g1', 5000) },
    ]);
    const partition = produced[0]!.partition;
    const everything = await backends.stream.read('readings', partition, 0, 1000);
    const result = await fn.invoke(asConnectorBatch(everything));
    expect(result).toMatchObject({ applied: 10, deadLetters: 2, watermarks: { [partition]: produced[1]!.offset } });
    const letters = await backends.store.listDeadLetters('t', { first: 10 });
    expect(letters.items.map((letter) => letter.reason.split(':')[0]).sort()).toEqual(['UNKNOWN_DEVICE']);
  });

  it('fails the invocation while the database is down, and the retried delivery applies the batch once', async () => {
    const [p] = [...log.keys()].filter((partition) => log.get(partition)!.length > 0) as [number];
    failuresLeft = 2; // both attempts of the invocation
    await expect(fn.invoke(asConnectorBatch(slice(p, 0, 4)))).rejects.toThrow('database unavailable');
    expect((await backends.store.watermarks('readings')).get(p)).toBeUndefined();
    // The connector delivers the batch again (here with the next messages too).
    expect(await fn.invoke(asConnectorBatch(slice(p, 0, 6)))).toMatchObject({ applied: 7, alreadyApplied: 0 });
    expect(await fn.invoke(asConnectorBatch(slice(p, 0, 6)))).toMatchObject({ applied: 0, alreadyApplied: 7 });
    expect(await publishedEventIds()).toHaveLength(7);
  });

  it('fills a gap larger than one invocation may read over several deliveries, never moving a watermark past what it did not apply', async () => {
    const [p] = [...log.keys()].filter((partition) => log.get(partition)!.length > 0) as [number];
    const small = createConsumerFunction(config, silentLogger, { backends, maxFilledMessages: 3 });
    try {
      // The connector starts at the end (read position "latest"): the first batch carries offset 9 only.
      const last = asConnectorBatch(slice(p, 9, 9));
      for (const appliedUpTo of [2, 5]) {
        await expect(small.invoke(last)).rejects.toThrow(`partition ${p} applied up to offset ${appliedUpTo}`);
        expect((await backends.store.watermarks('readings')).get(p)).toBe(appliedUpTo);
      }
      expect(await small.invoke(last)).toMatchObject({ applied: 4, filled: 3, watermarks: { [p]: 9 } });
      expect(await publishedEventIds()).toEqual(log.get(p)!.map(eventIdOf).sort());
    } finally {
      await small.close();
    }
  });

  it('refuses a body that is not a Connector Hub batch, applying nothing', async () => {
    await expect(fn.invoke({ not: 'an array' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(fn.invoke([{ partition: '0', value: base64('x') }])).rejects.toThrow('"offset" must be a non-negative integer');
    expect((await backends.store.watermarks('readings')).size).toBe(0);
  });
});

describe('background jobs in the OCI Function (no timers: run after each batch, and by jobs-only calls)', () => {
  const ALL_JOBS = ['liveness', 'command-expiry', 'webhooks', 'retention', 'deleted-device-data', 'stream-trim'];
  let backends: EmbeddedBackends;
  let fn: ConsumerFunction;
  /** Makes the liveness job's store call fail while true. */
  let livenessFails: boolean;

  const stored = async () => (await backends.store.queryReadings('t', { deviceId: 'd1', metric: 'v', first: 1000, order: 'OLDEST_FIRST' })).items.length;
  const published = async () => {
    const kinds: FanoutMessage[] = [];
    for (const partition of await backends.stream.partitions('events'))
      for (const message of await backends.stream.read('events', partition, 0, 10_000)) kinds.push(JSON.parse(message.value) as FanoutMessage);
    return kinds;
  };

  beforeEach(async () => {
    backends = await openEmbeddedBackends();
    livenessFails = false;
    const store: Store = Object.create(backends.store) as Store;
    store.markSilentDevices = async (...args) => {
      if (livenessFails) throw new BackendError('database unavailable: connection reset', true);
      return backends.store.markSilentDevices(...args);
    };
    fn = createConsumerFunction(config, silentLogger, { backends: { store, stream: backends.stream } });
    // What the jobs find due: readings of 1970 (past every retention), their device last heard
    // of then (silent), and a command whose deadline passed long ago.
    // Applied under a watermark source of their own: the readings stream's partitions stay untouched.
    await applyBatch(backends.store, {
      source: 'setup',
      partitions: [
        {
          partition: 0,
          lastOffset: 4,
          readings: Array.from({ length: 5 }, (_, i) => ({
            tenantId: 't',
            deviceId: 'd1',
            eventId: `old${i}`,
            timestamp: 1000 + i,
            offset: i,
            metrics: [{ name: 'v', value: i }],
          })),
          deadLetters: [],
        },
      ],
    });
    await backends.store.insertCommand({
      id: 'c1',
      tenantId: 't',
      deviceId: 'd1',
      name: 'reboot',
      payload: null,
      status: 'PENDING',
      createdAt: 100,
      expiresAt: 200,
      updatedAt: 100,
    });
  });
  afterEach(async () => {
    await fn.close();
    await backends.close();
  });

  it('a jobs-only call (JSON null) enforces retention, marks the silent device offline, expires the command, removes a deleted device’s data, and lists every job', async () => {
    expect(await stored()).toBe(5);
    // A device deleted with its (recent) data: its id is refused until the data is removed.
    await backends.store.registerDevice('t', { id: 'd2', name: 'd2', tags: [] });
    const recent = Date.now() - 60_000;
    await applyBatch(backends.store, {
      source: 'setup-d2',
      partitions: [
        {
          partition: 0,
          lastOffset: 2,
          readings: [0, 1, 2].map((i) => ({
            tenantId: 't',
            deviceId: 'd2',
            eventId: `d2-${i}`,
            timestamp: recent + i,
            offset: i,
            metrics: [{ name: 'v', value: i }],
          })),
          deadLetters: [],
        },
      ],
    });
    await backends.store.deleteDevice('t', 'd2', false, Date.now());
    await expect(backends.store.registerDevice('t', { id: 'd2', name: 'd2', tags: [] })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    const answer = await fn.invoke(null);
    expect(answer).toEqual({ jobs: Object.fromEntries(ALL_JOBS.map((name) => [name, 'ran'])) });
    expect(await stored()).toBe(0);
    expect((await backends.store.getDevices('t', ['d1']))[0]).toMatchObject({ status: 'OFFLINE' });
    expect((await backends.store.listAnomalies('t', { deviceId: 'd1' }, { first: 10 })).items.map((anomaly) => [anomaly.kind, anomaly.status])).toEqual([
      ['SILENCE', 'OPEN'],
    ]);
    expect(await backends.store.command('t', 'c1')).toMatchObject({ status: 'EXPIRED' });
    await backends.store.registerDevice('t', { id: 'd2', name: 'd2', tags: [] });
    expect((await backends.store.queryReadings('t', { deviceId: 'd2', metric: 'v', first: 10, order: 'OLDEST_FIRST' })).items).toEqual([]);
    // What the jobs changed reached the events topic before the call answered, for API nodes' subscribers.
    const kinds = (await published()).map((message) => message.kind).sort();
    expect(kinds).toEqual(['anomalies', 'commands', 'status']);

    // Called again at once: the jobs whose interval has not elapsed do not run.
    const again = await fn.invoke({ jobs: true });
    expect(Object.keys(again.jobs).sort()).toEqual([...ALL_JOBS].sort());
    expect(again.jobs).toMatchObject({ retention: 'not-due', 'stream-trim': 'not-due' });
    expect(again).not.toHaveProperty('applied');
    // The FDK hands an empty body over as an empty string: a jobs-only call too.
    expect(await fn.invoke('')).toMatchObject({ jobs: { retention: 'not-due' } });
  });

  it('runs the due jobs after a batch, and a failing job is reported without failing the committed batch', async () => {
    livenessFails = true;
    await backends.stream.produce('readings', [{ key: 't/d1', value: envelope('d1', 'new1', 0) }]);
    const messages = [];
    for (const partition of await backends.stream.partitions('readings')) messages.push(...(await backends.stream.read('readings', partition, 0, 100)));
    const answer = await fn.invoke(asConnectorBatch(messages));
    expect(answer).toMatchObject({ applied: 1, jobs: { liveness: 'failed', retention: 'ran', 'command-expiry': 'ran', webhooks: 'ran' } });
    // The batch is committed; retention removed only what was past it.
    expect(await stored()).toBe(1);
    expect(await backends.store.command('t', 'c1')).toMatchObject({ status: 'EXPIRED' });
  });

  it('refuses a body that is neither a batch nor a jobs-only call, running nothing', async () => {
    await expect(fn.invoke({ jobs: false })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(fn.invoke('run the jobs')).rejects.toThrow('not a Connector Hub batch');
    expect(await stored()).toBe(5);
  });
});
