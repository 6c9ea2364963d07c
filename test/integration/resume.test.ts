import {
  IngestReadingsDocument,
  ReadingAddedDocument,
  ReadingCursorDocument,
  RegisterDeviceDocument,
  type ReadingAddedSubscription,
} from '../generated/graphql';
import { connect, subscribe } from '../support/ws-client';
import { eventually, startTestServer, type TestServer } from '../support/server';

type ReadingEvent = ReadingAddedSubscription['readingAdded'];

const iso = (ms: number) => new Date(ms).toISOString();
const DEVICES = ['resume-0', 'resume-1', 'resume-2', 'resume-3', 'resume-4'];
const BATCH = 500;

/** Consumer progress from /healthz: how many readings the database holds. */
async function applied(server: TestServer): Promise<number> {
  const health = (await (await fetch(`${server.baseUrl}/healthz`)).json()) as { consumer: { appliedReadings: number } };
  return health.consumer.appliedReadings;
}

/**
 * Waits until `count()` reaches `target`, failing only when it stops growing for `stallMs`: a slow
 * machine takes longer, a stalled delivery fails fast.
 */
async function whileProgressing(count: () => number | Promise<number>, target: number, what: string, stallMs = 15_000): Promise<void> {
  let last = -1;
  let lastChange = Date.now();
  for (let now = await count(); now < target; now = await count()) {
    if (now !== last) [last, lastChange] = [now, Date.now()];
    if (Date.now() - lastChange > stallMs) throw new Error(`${what}: stalled at ${last} of ${target}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Resuming a subscription after a real outage (issue 10 §1): a subscriber 100,000 readings behind
 * used to receive nothing (the replay waited for a client that could not read before the replay
 * ended) while live events piled up without bound.
 */
describe('resuming readingAdded from far behind', () => {
  let server: TestServer;
  let t = Date.now() - 3_600_000;

  /** Ingests `count` readings (round-robin over the devices), two requests in flight; returns their event ids. */
  async function ingest(count: number): Promise<string[]> {
    const ids: string[] = [];
    const batches = Array.from({ length: Math.ceil(count / BATCH) }, (_, b) =>
      Array.from({ length: Math.min(BATCH, count - b * BATCH) }, (_, i) => ({
        deviceId: DEVICES[i % DEVICES.length]!,
        timestamp: iso(t + b * BATCH + i),
        metrics: [{ name: 'n', value: i }],
      })),
    );
    t += batches.length * BATCH;
    for (let b = 0; b < batches.length; b += 2) {
      const results = await Promise.all(batches.slice(b, b + 2).map((readings) => server.ok(IngestReadingsDocument, { readings })));
      for (const result of results) {
        expect(result.ingestReadings.rejectedCount).toBe(0);
        ids.push(...result.ingestReadings.accepted.map((item) => item.eventId));
      }
    }
    return ids;
  }

  beforeAll(async () => {
    server = await startTestServer();
    for (const id of DEVICES) await server.ok(RegisterDeviceDocument, { input: { id } });
  });

  afterAll(async () => {
    await server.close();
  });

  // Timeouts: 110,000 readings go through the whole service; the waits fail fast on a stall instead.
  it('delivers 100,000 missed readings in order, then live ones while ingest continues, with no gap and no duplicate', async () => {
    // A first session: one event gives the cursor the client keeps.
    const first = connect(server.app.wsUrl, server.adminKey);
    const live = subscribe(first, ReadingAddedDocument, { deviceIds: DEVICES });
    await eventually(() => (server.app.hub.activeSubscriptions === 1 ? true : undefined), 5000, 'subscription registered');
    await ingest(DEVICES.length);
    await eventually(() => (live.received.length === DEVICES.length ? true : undefined), 15_000, 'the first events');
    const cursor = live.received.at(-1)!.data!.readingAdded.cursor;
    await first.dispose();

    // The outage: 100,000 readings are stored while the client is away.
    const missed = await ingest(100_000);
    const stored = DEVICES.length + missed.length;
    await whileProgressing(() => applied(server), stored, 'the missed readings stored');

    // Back online: resume, while devices keep sending.
    const second = connect(server.app.wsUrl, server.adminKey);
    const resumed = subscribe(second, ReadingAddedDocument, { deviceIds: DEVICES, after: cursor });
    const more = await ingest(10_000);
    const expected = [...missed, ...more];
    await whileProgressing(() => resumed.received.length, expected.length, 'every reading after the cursor');
    resumed.stop();
    await second.dispose();

    expect(resumed.received.every((event) => !event.errors)).toBe(true);
    const events = resumed.received.map((event) => event.data!.readingAdded);
    const ids = events.map((event) => event.eventId);
    expect(ids.length).toBe(expected.length); // no duplicate
    expect(new Set(ids)).toEqual(new Set(expected)); // no gap
    // Commit order within each partition, which is also each device's order.
    const lastOffset = new Map<number, number>();
    const outOfOrder = events.filter((event: ReadingEvent) => {
      const before = lastOffset.get(event.partition) ?? -1;
      lastOffset.set(event.partition, event.offset);
      return event.offset <= before;
    });
    expect(outOfOrder).toEqual([]);
    await eventually(() => (server.app.hub.activeSubscriptions === 0 ? true : undefined), 5000, 'subscriptions cleaned up');
  }, 300_000);

  it('gives a cursor, read before readings are stored, from which a later subscription receives exactly those readings', async () => {
    const stored = await applied(server);
    const before = await ingest(10);
    await whileProgressing(() => applied(server), stored + before.length, 'readings before the cursor');
    const { readingCursor } = await server.ok(ReadingCursorDocument, {});
    const after = await ingest(25);
    const client = connect(server.app.wsUrl, server.adminKey);
    try {
      const resumed = subscribe(client, ReadingAddedDocument, { deviceIds: DEVICES, after: readingCursor });
      const events = await eventually(() => (resumed.received.length >= after.length ? resumed.received : undefined), 20_000, 'readings after the cursor');
      const ids = events.map((event) => event.data!.readingAdded.eventId);
      expect(new Set(ids)).toEqual(new Set(after));
      expect(ids.some((id) => before.includes(id))).toBe(false);
    } finally {
      await client.dispose();
    }
  });

  it('refuses a cursor ahead of what is stored, or naming a partition that does not exist, instead of waiting in silence', async () => {
    const client = connect(server.app.wsUrl, server.adminKey);
    try {
      const partitions = server.config.partitions;
      const cursorOf = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
      for (const after of [cursorOf('v1:0=999999999'), cursorOf(`v1:${partitions}=0`)]) {
        const sub = subscribe(client, ReadingAddedDocument, { deviceIds: DEVICES, after });
        // A subscription refused at its start answers one result with the error, then completes.
        expect(await sub.finished).toBe('complete');
        expect(sub.received).toHaveLength(1);
        expect(sub.received[0]!.data ?? null).toBeNull();
        expect(sub.received[0]!.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'after', reason: 'CURSOR_UNKNOWN' });
      }
      expect(server.app.hub.activeSubscriptions).toBe(0);
    } finally {
      await client.dispose();
    }
  });
});
