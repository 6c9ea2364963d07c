import {
  DeviceDocument,
  DevicesDocument,
  IngestReadingDocument,
  IngestReadingsDocument,
  ReadingAddedDocument,
  ReadingsDocument,
  RegisterDeviceDocument,
  type ReadingAddedSubscription,
} from '../generated/graphql';
import { connect, subscribe } from '../support/ws-client';
import { eventually, startTestServer, type TestServer } from '../support/server';
import { startStreamingStandin, type StreamingStandin } from '../support/oci-streaming-standin';
import { createOciTestIdentity } from '../support/oci-test-auth';

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The pipeline end to end, once per stream backend: the embedded log, and OCI Streaming
 * through the real oci-streaming client against the local stand-in of its REST API.
 */
interface Backend {
  readonly env: Record<string, string>;
  /** Messages the backend received through its own API (proves the test used it). */
  readonly produceCalls: () => number | undefined;
  close(): Promise<void>;
}

const BACKENDS: [string, () => Promise<Backend>][] = [
  ['on embedded defaults', async () => ({ env: {}, produceCalls: () => undefined, close: async () => {} })],
  [
    'on OCI Streaming (local stand-in)',
    async () => {
      const identity = createOciTestIdentity();
      const standin: StreamingStandin = await startStreamingStandin({ partitions: 4, keyId: identity.keyId, publicKeyPem: identity.publicKeyPem });
      return {
        env: {
          TELEMETRY_STREAM: 'oci',
          TELEMETRY_OCI_MESSAGES_ENDPOINT: standin.endpoint,
          TELEMETRY_OCI_READINGS_STREAM_OCID: 'ocid1.stream.oc1.eu-frankfurt-1.readings',
          TELEMETRY_OCI_EVENTS_STREAM_OCID: 'ocid1.stream.oc1.eu-frankfurt-1.events',
          TELEMETRY_OCI_CONFIG_FILE: identity.configFile,
        },
        produceCalls: () => standin.calls.get('POST messages') ?? 0,
        close: () => standin.close(),
      };
    },
  ],
];

describe.each(BACKENDS)('end-to-end pipeline %s', (_name, backend) => {
  let server: TestServer;
  let stream: Backend;
  const base = Date.now() - 60_000;

  beforeAll(async () => {
    stream = await backend();
    server = await startTestServer(stream.env);
    for (const id of ['boiler-1', 'boiler-2', 'fridge-1']) {
      await server.ok(RegisterDeviceDocument, { input: { id, name: `Device ${id}`, tags: id.startsWith('boiler') ? ['heating'] : ['cold'] } });
    }
  });
  afterAll(async () => {
    await server.close();
    await stream.close();
  });

  it('delivers readings ingested by mutation and by POST /ingest to subscribers, after they are stored', async () => {
    const client = connect(server.app.wsUrl, server.adminKey);
    const sub = subscribe(client, ReadingAddedDocument, { deviceId: 'boiler-1' });
    await eventually(() => (server.app.hub.activeSubscriptions === 1 ? true : undefined), 5000, 'subscription registered');

    const viaMutation = await server.ok(IngestReadingDocument, {
      reading: {
        deviceId: 'boiler-1',
        timestamp: iso(base),
        metrics: [
          { name: 'temperature', value: 61.5 },
          { name: 'pressure', value: 1.2 },
        ],
      },
    });
    expect(viaMutation.ingestReading).toMatchObject({ acceptedCount: 1, rejectedCount: 0 });

    const viaHttp = await fetch(`${server.baseUrl}/ingest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.adminKey}`, 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify([
        {
          specversion: '1.0',
          id: 'ce-1',
          source: '/devices/boiler-1',
          type: 'io.telemetry.reading.v1',
          time: iso(base + 1000),
          data: { metrics: { temperature: 62 } },
        },
        {
          specversion: '1.0',
          id: 'ce-2',
          subject: 'fridge-1',
          source: '/gateways/g1',
          type: 'io.telemetry.reading.v1',
          time: iso(base + 1000),
          data: { metrics: [{ name: 'temperature', value: 4 }] },
        },
      ]),
    });
    expect(viaHttp.status).toBe(202);
    expect(await viaHttp.json()).toMatchObject({ acceptedCount: 2, rejectedCount: 0 });

    const events = await eventually(() => (sub.received.length >= 2 ? sub.received : undefined), 10_000, 'two boiler-1 events');
    const readings = events.map((e) => e.data!.readingAdded);
    expect(readings.map((r) => r.eventId)).toEqual([viaMutation.ingestReading.accepted[0]!.eventId, 'ce-1']);
    expect(readings[0]!.metrics).toEqual([
      { name: 'temperature', value: 61.5 },
      { name: 'pressure', value: 1.2 },
    ]);
    expect(readings.every((r) => r.deviceId === 'boiler-1')).toBe(true);

    // Persist, then publish: what the subscriber saw is already queryable.
    const stored = await server.ok(ReadingsDocument, { deviceId: 'boiler-1', metric: 'temperature', order: 'OLDEST_FIRST' });
    expect(stored.readings.edges.map((e) => [e.node.timestamp, e.node.value])).toEqual([
      [iso(base), 61.5],
      [iso(base + 1000), 62],
    ]);
    sub.stop();
    await client.dispose();
    await eventually(() => (server.app.hub.activeSubscriptions === 0 ? true : undefined), 5000, 'subscription cleanup');
  });

  it('lists devices with tag and name filters, cursor pagination and their latest values', async () => {
    await server.ok(IngestReadingDocument, { reading: { deviceId: 'boiler-2', timestamp: iso(base + 5000), metrics: [{ name: 'temperature', value: 70 }] } });
    const heating = await eventually(async () => {
      const page = await server.ok(DevicesDocument, { filter: { tag: 'heating' }, first: 10 });
      return page.devices.edges.every((e) => e.node.latest.length > 0) ? page : undefined;
    });
    expect(heating.devices.edges.map((e) => e.node.id)).toEqual(['boiler-1', 'boiler-2']);
    expect(heating.devices.edges[1]!.node.latest).toEqual([{ metric: 'temperature', value: 70, timestamp: iso(base + 5000) }]);

    const first = await server.ok(DevicesDocument, { first: 2 });
    expect(first.devices.pageInfo.hasNextPage).toBe(true);
    const second = await server.ok(DevicesDocument, { first: 2, after: first.devices.pageInfo.endCursor });
    expect(second.devices.edges.map((e) => e.node.id)).toEqual(['fridge-1']);
    expect(second.devices.pageInfo.hasNextPage).toBe(false);

    const byName = await server.ok(DevicesDocument, { filter: { nameContains: 'FRIDGE' } });
    expect(byName.devices.edges.map((e) => e.node.id)).toEqual(['fridge-1']);
    expect((await server.ok(DeviceDocument, { id: 'nope' })).device).toBeNull();
  });

  it('pages raw readings newest or oldest first within a time range', async () => {
    const readings = Array.from({ length: 25 }, (_, i) => ({
      deviceId: 'fridge-1',
      timestamp: iso(base + 10_000 + i * 1000),
      metrics: [{ name: 'door', value: i }],
    }));
    expect((await server.ok(IngestReadingsDocument, { readings })).ingestReadings.acceptedCount).toBe(25);
    await eventually(async () =>
      (await server.ok(ReadingsDocument, { deviceId: 'fridge-1', metric: 'door', first: 100 })).readings.edges.length === 25 ? true : undefined,
    );

    const seen: number[] = [];
    let after: string | null | undefined;
    for (;;) {
      const page = await server.ok(ReadingsDocument, { deviceId: 'fridge-1', metric: 'door', first: 10, after, order: 'NEWEST_FIRST' });
      seen.push(...page.readings.edges.map((e) => e.node.value));
      if (!page.readings.pageInfo.hasNextPage) break;
      after = page.readings.pageInfo.endCursor;
    }
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => 24 - i));

    const window = await server.ok(ReadingsDocument, {
      deviceId: 'fridge-1',
      metric: 'door',
      from: iso(base + 12_000),
      to: iso(base + 15_000),
      order: 'OLDEST_FIRST',
    });
    expect(window.readings.edges.map((e) => e.node.value)).toEqual([2, 3, 4]);
  });

  it('resumes a subscription from a cursor with no gap and no duplicate while readings keep arriving', async () => {
    const devices = ['boiler-1', 'boiler-2', 'fridge-1'];
    const received: ReadingAddedSubscription['readingAdded'][] = [];
    const first = connect(server.app.wsUrl, server.adminKey);
    const sub1 = subscribe(first, ReadingAddedDocument, { deviceIds: devices, metric: 'seq' });
    await eventually(() => (server.app.hub.activeSubscriptions === 1 ? true : undefined), 5000, 'subscription registered');
    const sent: string[] = [];
    let t = base + 100_000;
    let producing = true as boolean; // not `true`: the loop below runs on after this function sets it to false
    const producer = (async () => {
      while (producing) {
        const batch = devices.map((deviceId) => ({ deviceId, timestamp: iso(t), metrics: [{ name: 'seq', value: t }] }));
        t += 1;
        const result = await server.ok(IngestReadingsDocument, { readings: batch });
        sent.push(...result.ingestReadings.accepted.map((a) => a.eventId));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();

    await eventually(() => (sub1.received.length >= 30 ? true : undefined), 15_000, 'first 30 events');
    sub1.stop();
    await first.dispose();
    received.push(...sub1.received.map((e) => e.data!.readingAdded));
    const cursor = received.at(-1)!.cursor;

    // Disconnected while the producer keeps going.
    const sentBeforeResume = sent.length;
    await eventually(() => (sent.length >= sentBeforeResume + 60 ? true : undefined), 15_000, 'readings while disconnected');

    const second = connect(server.app.wsUrl, server.adminKey);
    const sub2 = subscribe(second, ReadingAddedDocument, { deviceIds: devices, metric: 'seq', after: cursor });
    await eventually(() => (sub2.received.length >= 90 ? true : undefined), 15_000, 'replayed and live events');
    producing = false;
    await producer;
    await eventually(() => (received.length + sub2.received.length >= sent.length ? true : undefined), 15_000, `every sent reading`).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}: sent ${sent.length}, received ${received.length} + ${sub2.received.length}`);
    });
    sub2.stop();
    await second.dispose();
    received.push(...sub2.received.map((e) => e.data!.readingAdded));

    const ids = received.map((r) => r.eventId);
    expect(new Set(ids).size).toBe(ids.length); // no duplicate
    expect(new Set(ids)).toEqual(new Set(sent)); // no gap
    for (const deviceId of devices) {
      const times = received.filter((r) => r.deviceId === deviceId).map((r) => Date.parse(r.timestamp));
      expect(times).toEqual([...times].sort((a, b) => a - b)); // per-device order
    }
    expect(received.every((r) => r.metrics.length === 1 && r.metrics[0]!.name === 'seq')).toBe(true);
  });

  // Last: by now every test above has produced.
  it('went through the configured stream backend', () => {
    const calls = stream.produceCalls();
    if (calls !== undefined) expect(calls).toBeGreaterThan(0);
  });
});

/**
 * Two `--role all` nodes on one OCI stream (stand-in) and one database: their consumers split
 * the partitions, so each node's subscribers must be fed from the events topic, not only by
 * the node's own consumer.
 */
describe('two role-all nodes on a shared stream', () => {
  it('deliver to a subscriber on one node every reading ingested through the other, whichever consumer stored it', async () => {
    const identity = createOciTestIdentity();
    const standin = await startStreamingStandin({ partitions: 4, keyId: identity.keyId, publicKeyPem: identity.publicKeyPem });
    const env = {
      TELEMETRY_STREAM: 'oci',
      TELEMETRY_OCI_MESSAGES_ENDPOINT: standin.endpoint,
      TELEMETRY_OCI_READINGS_STREAM_OCID: 'ocid1.stream.oc1.eu-frankfurt-1.readings',
      TELEMETRY_OCI_EVENTS_STREAM_OCID: 'ocid1.stream.oc1.eu-frankfurt-1.events',
      TELEMETRY_OCI_CONFIG_FILE: identity.configFile,
      TELEMETRY_OCI_TAIL_READS_PER_SECOND: '5',
    };
    const a = await startTestServer({ ...env, TELEMETRY_CONSUMER_INSTANCE: 'node-a' });
    const b = await startTestServer({ ...env, TELEMETRY_CONSUMER_INSTANCE: 'node-b', TELEMETRY_ADMIN_KEY: a.adminKey }, a.dataDir);
    try {
      const devices = Array.from({ length: 8 }, (_, i) => `shared-${i}`);
      for (const id of devices) await a.ok(RegisterDeviceDocument, { input: { id } });
      const client = connect(a.app.wsUrl, a.adminKey);
      const sub = subscribe(client, ReadingAddedDocument, { deviceIds: devices });
      await eventually(() => (a.app.hub.activeSubscriptions === 1 ? true : undefined), 5000, 'subscription registered');
      const health = async (server: TestServer) =>
        (await (await fetch(`${server.baseUrl}/healthz`)).json()) as { consumer: { appliedReadings: number; positions?: Record<string, number> } };
      // Which partitions node B's consumer holds (its first stats report comes within 250 ms).
      const heldByB = await eventually(
        async () => {
          const held = Object.keys((await health(b)).consumer.positions ?? {}).map(Number); // no stats before the first report
          return held.length > 0 ? held : undefined;
        },
        15_000,
        "node B's consumer holding partitions",
      );
      const now = Date.now() - 10_000;
      const readings = Array.from({ length: 40 }, (_, i) => ({
        deviceId: devices[i % devices.length]!,
        timestamp: iso(now + i),
        metrics: [{ name: 'n', value: i }],
      }));
      const sent = await b.ok(IngestReadingsDocument, { readings });
      expect(sent.ingestReadings.acceptedCount).toBe(40);
      // Both consumers can store some only if the readings fall in partitions of each (more
      // than one partition in all was not enough: both could be A's).
      const partitions = new Set(sent.ingestReadings.accepted.map((item) => item.partition));
      expect([...partitions].some((partition) => heldByB.includes(partition))).toBe(true);
      expect([...partitions].some((partition) => !heldByB.includes(partition))).toBe(true);
      await eventually(() => (sub.received.length >= 40 ? true : undefined), 15_000, 'every reading on node A');
      // Each node's consumer stored some of them (they split the partitions).
      const applied = async (server: TestServer) => (await health(server)).consumer.appliedReadings;
      const [byA, byB] = await eventually(
        async () => {
          const counts = [await applied(a), await applied(b)];
          return counts[0]! + counts[1]! === 40 ? counts : undefined;
        },
        5000,
        'consumer stats',
      );
      expect(byA).toBeGreaterThan(0);
      expect(byB).toBeGreaterThan(0);
      const values = sub.received.map((r) => (r.data as ReadingAddedSubscription).readingAdded.metrics[0]!.value).sort((x, y) => x - y);
      expect(values).toEqual(readings.map((_, i) => i));
      await client.dispose();
    } finally {
      await b.app.close();
      await a.close();
      await standin.close();
    }
  });
});
