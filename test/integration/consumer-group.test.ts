import path from 'node:path';
import { rmSync } from 'node:fs';
import { EventPublisher } from '../../src/consumers/event-publisher';
import type { FanoutMessage } from '../../src/domain/events-topic';
import { ReadingPersister } from '../../src/consumers/reading-persister';
import { toEnvelope } from '../../src/domain/cloud-event';
import { DeviceDirectory } from '../../src/devices/device-directory';
import type { Logger } from '../../src/logger';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store';
import { OciStream } from '../../src/stream/oci/oci-stream';
import * as common from 'oci-common';
import { startStreamingStandin, type StreamingStandin } from '../support/oci-streaming-standin';
import { createOciTestIdentity } from '../support/oci-test-auth';
import { recordingLogger, silentLogger } from '../support/logger';
import { readToEnd } from '../support/paging';
import { eventually, newDataDir } from '../support/server';

const identity = createOciTestIdentity();
const STREAMS = { readings: 'ocid1.stream.oc1.eu-frankfurt-1.readings', events: 'ocid1.stream.oc1.eu-frankfurt-1.events' };
const DEVICES = Array.from({ length: 8 }, (_, i) => `g${i}`);
const sameEntries = (a: ReadonlyMap<number, number>, b: ReadonlyMap<number, number>) =>
  a.size === b.size && [...a].every(([key, value]) => b.get(key) === value);

interface Consumer {
  readonly persister: ReadingPersister;
  readonly store: SqliteStore;
  readonly publisher: EventPublisher;
}

/** An OCI stand-in with 4 partitions, a producer of readings for DEVICES, and persisters on SQLite databases. */
async function groupFixture() {
  const standin: StreamingStandin = await startStreamingStandin({ partitions: 4, keyId: identity.keyId, publicKeyPem: identity.publicKeyPem });
  const dir = newDataDir();
  const auth = new common.ConfigFileAuthenticationDetailsProvider(identity.configFile, 'DEFAULT');
  const stream = () =>
    new OciStream({
      messagesEndpoint: standin.endpoint,
      streamIds: STREAMS,
      partitions: 4,
      auth,
      readsPerSecondPerPartition: 1000,
      groupTimeoutMs: 300,
      retryPolicy: { initialDelayMs: 5, maxDelayMs: 20, multiplier: 2 },
    });
  const producer = stream();
  const stores: SqliteStore[] = [];
  let sent = 0;

  /** A database with tenant t and DEVICES registered. */
  const database = async (name: string) => {
    const file = path.join(dir, `${name}.db`);
    const setup = new SqliteStore({ file });
    stores.push(setup);
    await setup.ensureTenant('t', 'T');
    for (const id of DEVICES) await setup.registerDevice('t', { id, name: id, tags: [] });
    return { file, store: setup };
  };
  const send = async (count: number) => {
    const records = Array.from({ length: count }, () => {
      const deviceId = DEVICES[sent % DEVICES.length]!;
      const reading = { tenantId: 't', deviceId, eventId: `e${sent}`, timestamp: 1_700_000_000_000 + sent++, metrics: [{ name: 'v', value: sent }] };
      return { key: `t/${deviceId}`, value: JSON.stringify(toEnvelope(reading, 'io.telemetry')) };
    });
    await producer.produce('readings', records);
  };
  /** A persister; `publishing` gives it an EventPublisher on the events stream, as the consumer role has. */
  const consumer = (
    instance: string,
    file: string,
    publishing: 'none' | 'publishes' | 'dies before publishing' = 'none',
    logger: Logger = silentLogger,
  ): Consumer => {
    const store = new SqliteStore({ file });
    stores.push(store);
    const events = stream();
    const publisher = new EventPublisher(events, store, silentLogger, 'io.telemetry');
    const persister = new ReadingPersister({
      stream: stream(),
      store,
      devices: new DeviceDirectory(store),
      publish: (readings) => (publishing === 'publishes' ? publisher.publish(readings) : undefined),
      onPartitionsGained: publishing === 'none' ? undefined : (partitions) => publisher.recover(partitions),
      logger,
      eventTypePrefix: 'io.telemetry',
      lingerMs: 0,
      pollIntervalMs: 5,
      instance,
      assignmentRefreshMs: 50,
    });
    return { persister, store, publisher };
  };
  /** Event ids of the readings on the events stream. */
  const published = async () => {
    const ids: string[] = [];
    for (let partition = 0; partition < 4; partition++) {
      // Page by page: a read answers at most 1 MB, as OCI does.
      for (const message of await readToEnd(producer, 'events', partition)) {
        const decoded = JSON.parse(message.value) as FanoutMessage;
        if (decoded.kind === 'readings') ids.push(...decoded.readings.map((reading) => reading.eventId));
      }
    }
    return ids;
  };
  const stored = async (store: SqliteStore) => {
    let count = 0;
    for (const deviceId of DEVICES) count += (await store.queryReadings('t', { deviceId, metric: 'v', first: 1000, order: 'OLDEST_FIRST' })).items.length;
    return count;
  };
  /** The group's offsets in OCI equal the database's watermarks + 1 (operators see the real lag). */
  const groupFollows = (store: SqliteStore) =>
    eventually(
      async () => {
        const next = new Map([...(await store.watermarks('readings'))].map(([partition, offset]) => [partition, offset + 1]));
        return sameEntries(standin.committedOffsets(STREAMS.readings, 'persister'), next) ? true : undefined;
      },
      10_000,
      'group offsets committed',
    );
  const close = async () => {
    for (const store of stores) await store.close();
    await producer.close();
    await standin.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { standin, database, send, consumer, stored, groupFollows, published, close };
}

/**
 * Persisters in one OCI consumer group (stand-in): they split the partitions, take over a
 * partition from the database watermark, and commit the group's offsets after the database.
 */
describe('persisters in a consumer group', () => {
  it('split the partitions, survive one leaving, apply every reading once, and commit the group offsets after the database', async () => {
    const fixture = await groupFixture();
    const { file, store: setup } = await fixture.database('telemetry');
    const a = fixture.consumer('consumer-a', file);
    const b = fixture.consumer('consumer-b', file);
    try {
      await a.persister.start();
      await b.persister.start();
      await fixture.send(200);
      // Both end up holding partitions, two each, between them all four: while the group
      // rebalances, the two snapshots can name the same partition for a moment (CI saw [2,2,3,3]).
      // What is applied once is checked below.
      const held = () => [...a.persister.snapshot().positions.keys(), ...b.persister.snapshot().positions.keys()].sort();
      await eventually(
        () => (a.persister.snapshot().positions.size === 2 && b.persister.snapshot().positions.size === 2 && held().join() === '0,1,2,3' ? true : undefined),
        10_000,
        'partitions split',
      );
      const heldByA = [...a.persister.snapshot().positions.keys()];
      const heldByB = [...b.persister.snapshot().positions.keys()];
      expect([...heldByA, ...heldByB].sort()).toEqual([0, 1, 2, 3]);
      await eventually(async () => ((await setup.watermarks('readings')).size === 4 ? true : undefined), 10_000, 'all partitions applied');

      // b leaves (stops renewing); a takes over its partitions from the watermarks.
      await b.persister.stop();
      await fixture.send(200);
      await eventually(() => (a.persister.snapshot().positions.size === 4 ? true : undefined), 10_000, 'a holds every partition');
      await eventually(async () => ((await fixture.stored(setup)) === 400 ? true : undefined), 15_000, 'every reading stored');
      expect(a.persister.snapshot().appliedReadings + b.persister.snapshot().appliedReadings).toBe(400);
      expect(a.persister.snapshot().duplicates + b.persister.snapshot().duplicates).toBe(0);
      await fixture.groupFollows(setup);
    } finally {
      await a.persister.stop();
      await fixture.close();
    }
  });

  it('republishes, when it takes partitions over, what their previous owner committed and died before publishing', async () => {
    const fixture = await groupFixture();
    const { file, store } = await fixture.database('telemetry');
    const a = fixture.consumer('consumer-a', file, 'publishes');
    const b = fixture.consumer('consumer-b', file, 'dies before publishing');
    try {
      // As the consumer role starts: publication progress is recorded before consuming.
      await a.publisher.recover([0, 1, 2, 3]);
      await a.persister.start();
      await b.persister.start();
      await eventually(
        () => (a.persister.snapshot().positions.size === 2 && b.persister.snapshot().positions.size === 2 ? true : undefined),
        10_000,
        'partitions split',
      );
      await fixture.send(200);
      await eventually(async () => ((await fixture.stored(store)) === 200 ? true : undefined), 10_000, 'every reading stored');
      // b committed its half and never published it; then it is gone.
      expect((await fixture.published()).length).toBeLessThan(200);
      await b.persister.stop();
      await eventually(() => (a.persister.snapshot().positions.size === 4 ? true : undefined), 10_000, 'a holds every partition');
      const ids = await eventually(
        async () => {
          const seen = await fixture.published();
          return new Set(seen).size === 200 ? seen : undefined;
        },
        10_000,
        'every reading on the events stream',
      );
      expect(ids).toHaveLength(200); // and none twice
    } finally {
      await a.persister.stop();
      await fixture.close();
    }
  });

  it('stores every reading once while consumers join and leave at random, and the group offsets end at the watermarks', async () => {
    const seed = Number(process.env['CHURN_SEED'] ?? Date.now() % 100_000);
    let state = seed;
    const random = () => {
      // mulberry32: a small seeded generator, so a failing schedule can be replayed (CHURN_SEED).
      state = (state + 0x6d2b79f5) | 0;
      let t = Math.imul(state ^ (state >>> 15), 1 | state);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const fixture = await groupFixture();
    const { file, store } = await fixture.database('telemetry');
    const active = new Map<string, Consumer>();
    const everyone: Consumer[] = [];
    const join = async () => {
      const name = `churn-${everyone.length}`;
      const member = fixture.consumer(name, file);
      everyone.push(member);
      await member.persister.start();
      active.set(name, member);
    };
    const leave = async () => {
      const names = [...active.keys()];
      const name = names[Math.floor(random() * names.length)]!;
      await active.get(name)!.persister.stop();
      active.delete(name);
    };
    try {
      await join();
      for (let step = 0; step < 12; step++) {
        await fixture.send(30);
        const action = random();
        if (action < 0.4 && active.size < 3) await join();
        else if (action < 0.8 && active.size > 1) await leave();
        await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 150)));
      }
      await eventually(async () => ((await fixture.stored(store)) === 360 ? true : undefined), 15_000, `every reading stored (CHURN_SEED=${seed})`);
      await fixture.groupFollows(store);
      // Applied exactly once in all: a partition handed over mid-batch is not applied twice.
      expect(everyone.reduce((sum, member) => sum + member.persister.snapshot().appliedReadings, 0)).toBe(360);
    } finally {
      for (const member of active.values()) await member.persister.stop();
      await fixture.close();
    }
  });

  it('continues from the oldest message left when stream retention removed messages before they were stored, and logs what was lost', async () => {
    const fixture = await groupFixture();
    const { file, store } = await fixture.database('telemetry');
    await fixture.send(80); // 10 per device; nobody consumes yet
    for (let partition = 0; partition < 4; partition++) fixture.standin.expire(STREAMS.readings, partition, 5);
    const logger = recordingLogger();
    const late = fixture.consumer('late', file, 'none', logger);
    try {
      await late.persister.start();
      const held = await eventually(
        async () => {
          const watermarks = await store.watermarks('readings');
          return watermarks.size === 4 ? watermarks : undefined;
        },
        10_000,
        'every partition applied',
      );
      // Each partition lost offsets 0..4 and stored the rest.
      const lost = logger.lines
        .filter((line) => line.level === 'error')
        .map((line) => line.fields as { partition: number; firstLost: number; lastLost: number });
      expect(lost.map((e) => [e.firstLost, e.lastLost])).toEqual([
        [0, 4],
        [0, 4],
        [0, 4],
        [0, 4],
      ]);
      expect(new Set(lost.map((e) => e.partition))).toEqual(new Set([0, 1, 2, 3]));
      let expected = 0;
      for (const offset of held.values()) expected += offset + 1 - 5;
      expect(await fixture.stored(store)).toBe(expected);
    } finally {
      await late.persister.stop();
      await fixture.close();
    }
  });

  it('gives a database that holds less than the group committed (restored, or new) every reading, with no new message needed', async () => {
    const fixture = await groupFixture();
    const original = await fixture.database('original');
    const first = fixture.consumer('consumer-a', original.file);
    const restored = await fixture.database('restored');
    const second = fixture.consumer('consumer-a', restored.file);
    try {
      await first.persister.start();
      await fixture.send(120);
      await eventually(async () => ((await fixture.stored(original.store)) === 120 ? true : undefined), 10_000, 'first database filled');
      await fixture.groupFollows(original.store);
      await first.persister.stop();

      // Same group, empty database: the group's offsets say "done", the database says "nothing".
      await second.persister.start();
      await eventually(async () => ((await fixture.stored(restored.store)) === 120 ? true : undefined), 10_000, 'restored database filled');
      expect(second.persister.snapshot().duplicates).toBe(0);
      await fixture.send(40);
      await eventually(async () => ((await fixture.stored(restored.store)) === 160 ? true : undefined), 10_000, 'new readings follow');
      await fixture.groupFollows(restored.store);
    } finally {
      await first.persister.stop();
      await second.persister.stop();
      await fixture.close();
    }
  });
});
