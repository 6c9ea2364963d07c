import { EmbeddedStream } from '../../src/stream/embedded/embedded-stream';
import { toEnvelope } from '../../src/domain/cloud-event';
import { streamFile } from '../../src/composition/backends';
import {
  DeleteDeviceDocument,
  DeadLettersDocument,
  DevicesDocument,
  IngestReadingsDocument,
  ReadingAddedDocument,
  ReadingsDocument,
  RegisterDeviceDocument,
  ReplayDeadLetterDocument,
} from '../generated/graphql';
import { eventually, randomKey, startTestServer, type TestServer } from '../support/server';
import { connect, subscribe } from '../support/ws-client';

const iso = (ms: number) => new Date(ms).toISOString();

describe('bad input gets a precise error and writes nothing', () => {
  let server: TestServer;
  const now = Date.now();

  beforeAll(async () => {
    server = await startTestServer({
      TELEMETRY_MAX_BATCH_SIZE: '10',
      TELEMETRY_MAX_BODY_BYTES: '20000',
      TELEMETRY_MAX_QUERY_DEPTH: '4',
      TELEMETRY_MAX_SUBSCRIPTIONS_PER_CONNECTION: '2',
    });
    await server.ok(RegisterDeviceDocument, { input: { id: 'meter-1' } });
    await server.ok(RegisterDeviceDocument, { input: { id: 'meter-2' } });
  });
  afterAll(() => server.close());

  it('stores only the valid items of a mixed batch and reports each invalid one by index and code', async () => {
    const good = (deviceId: string, offset: number, value: number) => ({ deviceId, timestamp: iso(now - offset), metrics: [{ name: 'power', value }] });
    const readings = [
      good('meter-1', 3000, 1),
      { deviceId: 'ghost', timestamp: iso(now), metrics: [{ name: 'power', value: 1 }] },
      { deviceId: 'meter-1', timestamp: iso(now + 3_600_000), metrics: [{ name: 'power', value: 1 }] },
      { deviceId: 'meter-1', timestamp: iso(now - 400 * 86_400_000), metrics: [{ name: 'power', value: 1 }] },
      { deviceId: 'meter-1', timestamp: iso(now), metrics: [] },
      { deviceId: 'meter-1', timestamp: iso(now), metrics: [{ name: 'bad name', value: 1 }] },
      {
        deviceId: 'meter-1',
        timestamp: iso(now),
        metrics: [
          { name: 'x', value: 1 },
          { name: 'x', value: 2 },
        ],
      },
      { deviceId: 'bad id!', timestamp: iso(now), metrics: [{ name: 'x', value: 1 }] },
      good('meter-2', 2000, 2),
      { ...good('meter-2', 1000, 3), eventId: 'has space' },
    ];
    const result = await server.ok(IngestReadingsDocument, { readings });
    expect(result.ingestReadings.accepted.map((a) => a.index)).toEqual([0, 8]);
    expect(result.ingestReadings.rejected.map((r) => [r.index, r.code])).toEqual([
      [1, 'UNKNOWN_DEVICE'],
      [2, 'TIMESTAMP_IN_FUTURE'],
      [3, 'TIMESTAMP_TOO_OLD'],
      [4, 'INVALID_METRIC_COUNT'],
      [5, 'INVALID_METRIC_NAME'],
      [6, 'DUPLICATE_METRIC'],
      [7, 'INVALID_DEVICE_ID'],
      [9, 'INVALID_EVENT_ID'],
    ]);
    expect(result.ingestReadings.rejected.every((r) => r.message.length > 0)).toBe(true);
    const stored = await eventually(async () => {
      const [one, two] = await Promise.all(['meter-1', 'meter-2'].map((deviceId) => server.ok(ReadingsDocument, { deviceId, metric: 'power' })));
      return one!.readings.edges.length > 0 && two!.readings.edges.length > 0 ? [one!, two!] : undefined;
    });
    expect(stored.map((page) => page.readings.edges.map((e) => e.node.value))).toEqual([[1], [2]]);
  });

  it('rejects duplicate event ids inside one batch and deduplicates a re-sent event id', async () => {
    const reading = { deviceId: 'meter-2', timestamp: iso(now - 500), metrics: [{ name: 'energy', value: 5 }], eventId: 'meter-2-0001' };
    const result = await server.ok(IngestReadingsDocument, { readings: [reading, { ...reading, timestamp: iso(now - 400) }] });
    expect(result.ingestReadings.rejected.map((r) => [r.index, r.code])).toEqual([[1, 'DUPLICATE_EVENT_ID']]);
    // A client retry of the same event (new request) is accepted by the stream but stored once.
    await server.ok(IngestReadingsDocument, { readings: [{ ...reading, timestamp: iso(now - 300), metrics: [{ name: 'energy', value: 6 }] }] });
    await server.ok(IngestReadingsDocument, { readings: [{ deviceId: 'meter-2', timestamp: iso(now - 200), metrics: [{ name: 'energy', value: 7 }] }] });
    const stored = await eventually(async () => {
      const page = await server.ok(ReadingsDocument, { deviceId: 'meter-2', metric: 'energy', order: 'OLDEST_FIRST' });
      return page.readings.edges.length >= 2 ? page : undefined;
    });
    expect(stored.readings.edges.map((e) => e.node.value)).toEqual([5, 7]);
  });

  it.each([
    [
      'a batch over the limit',
      { readings: Array.from({ length: 11 }, () => ({ deviceId: 'meter-1', timestamp: iso(now), metrics: [{ name: 'p', value: 1 }] })) },
      'PAYLOAD_TOO_LARGE',
    ],
    ['an empty batch', { readings: [] }, 'BAD_USER_INPUT'],
    ['a malformed timestamp', { readings: [{ deviceId: 'meter-1', timestamp: 'noon', metrics: [{ name: 'p', value: 1 }] }] }, 'BAD_USER_INPUT'],
    ['a string value', { readings: [{ deviceId: 'meter-1', timestamp: iso(now), metrics: [{ name: 'p', value: 'hot' }] }] }, 'BAD_USER_INPUT'],
    ['a missing field', { readings: [{ deviceId: 'meter-1', metrics: [{ name: 'p', value: 1 }] }] }, 'BAD_USER_INPUT'],
  ])('refuses %s as a whole with a coded GraphQL error', async (_label, variables, code) => {
    const result = await server.gql(IngestReadingsDocument, variables as never);
    expect(result.errors?.[0]?.extensions?.['code']).toBe(code);
    expect(JSON.stringify(result)).not.toMatch(/at .*\.js:\d+/); // no stack trace
  });

  it('answers plain HTTP problems with status codes and JSON errors', async () => {
    const ingest = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${server.baseUrl}/ingest`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.adminKey}`, 'content-type': 'application/json', ...headers },
        body,
      });
    expect((await ingest('{not json')).status).toBe(400);
    expect((await ingest('[]')).status).toBe(400);
    expect((await ingest('{}', { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await ingest('x'.repeat(30_000))).status).toBe(413);
    expect((await ingest(JSON.stringify({ deviceId: 'meter-1', timestamp: now, metrics: [] }))).status).toBe(422);
    const mixed = await ingest(
      JSON.stringify([
        { deviceId: 'meter-1', timestamp: now - 10, metrics: { p: 1 } },
        'nonsense',
        { specversion: '0.3' },
        { deviceId: 'meter-1', timestamp: now, metrics: { p: Infinity } },
      ]),
    );
    expect(mixed.status).toBe(202);
    const body = (await mixed.json()) as { rejected: { index: number; code: string }[] };
    expect(body.rejected.map((r) => [r.index, r.code])).toEqual([
      [1, 'INVALID_ENVELOPE'],
      [2, 'INVALID_ENVELOPE'],
      [3, 'INVALID_VALUE'],
    ]);
    const unauthenticated = await fetch(`${server.baseUrl}/ingest`, { method: 'POST', body: '{}' });
    expect(unauthenticated.status).toBe(401);
    expect(await unauthenticated.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
    expect((await fetch(`${server.baseUrl}/nowhere`)).status).toBe(404);
  });

  it('refuses unknown keys, deep queries and bad cursors', async () => {
    const wrongKey = await server.gql(DevicesDocument, {}, randomKey());
    expect(wrongKey.status).toBe(401);
    expect(wrongKey.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
    const noKey = await server.gql(DevicesDocument, {}, null);
    expect(noKey.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');

    // Depth 5 > the configured 4: devices > edges > node > latest > metric.
    const deep = await server.gql(DevicesDocument, {});
    expect(deep.errors?.[0]?.extensions?.['code']).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(deep.errors?.[0]?.message).toMatch(/deeper than the limit of 4/);

    const badCursor = await server.gql(ReadingsDocument, { deviceId: 'meter-1', metric: 'p', after: 'garbage' });
    expect(badCursor.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    const tooMany = await server.gql(ReadingsDocument, { deviceId: 'meter-1', metric: 'p', first: 100_000 });
    expect(tooMany.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    const unknownDevice = await server.gql(ReadingsDocument, { deviceId: 'ghost', metric: 'p' });
    expect(unknownDevice.errors?.[0]?.extensions?.['code']).toBe('NOT_FOUND');
    const duplicate = await server.gql(RegisterDeviceDocument, { input: { id: 'meter-1' } });
    expect(duplicate.errors?.[0]?.extensions?.['code']).toBe('ALREADY_EXISTS');
  });

  it('refuses WebSocket connections without a valid key, saying which, and subscriptions to unknown devices', async () => {
    const anonymous = connect(server.app.wsUrl, randomKey());
    const refused = subscribe(anonymous, ReadingAddedDocument, { deviceId: 'meter-1' });
    expect(await refused.finished).toMatchObject({ code: 4403, reason: 'unknown or revoked API key, or an invalid or expired token' });
    await anonymous.dispose();
    // No key at all (graphql-ws alone would say a bare "Forbidden" in both cases).
    const keyless = connect(server.app.wsUrl, undefined);
    const keylessRefused = subscribe(keyless, ReadingAddedDocument, { deviceId: 'meter-1' });
    expect(await keylessRefused.finished).toMatchObject({ code: 4403, reason: 'no API key: send connectionParams {"authorization": "Bearer <key>"}' });
    await keyless.dispose();

    const client = connect(server.app.wsUrl, server.adminKey);
    const unknown = subscribe(client, ReadingAddedDocument, { deviceId: 'ghost' });
    await unknown.finished;
    expect(unknown.received[0]?.errors?.[0]?.extensions?.['code']).toBe('NOT_FOUND');
    const badCursor = subscribe(client, ReadingAddedDocument, { deviceId: 'meter-1', after: 'not-a-cursor' });
    await badCursor.finished;
    expect(badCursor.received[0]?.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    await client.dispose();
    await eventually(() => (server.app.hub.activeSubscriptions === 0 ? true : undefined));
  });

  it('limits subscriptions per connection and frees each one when it ends', async () => {
    const client = connect(server.app.wsUrl, server.adminKey);
    const first = subscribe(client, ReadingAddedDocument, { deviceId: 'meter-1' });
    const second = subscribe(client, ReadingAddedDocument, { deviceId: 'meter-2' });
    await eventually(() => (server.app.hub.activeSubscriptions === 2 ? true : undefined));
    const third = subscribe(client, ReadingAddedDocument, { deviceId: 'meter-1' });
    const refused = (await third.finished) as { extensions?: Record<string, unknown> }[];
    expect(refused[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    first.stop();
    await eventually(() => (server.app.hub.activeSubscriptions === 1 ? true : undefined));
    const fourth = subscribe(client, ReadingAddedDocument, { deviceId: 'meter-1' });
    await eventually(() => (server.app.hub.activeSubscriptions === 2 ? true : undefined));
    second.stop();
    fourth.stop();
    await client.dispose();
    await eventually(() => (server.app.hub.activeSubscriptions === 0 ? true : undefined));
  });

  it('sends a poison message in the stream to dead letters and keeps the partition flowing', async () => {
    // Another producer writes straight into the log: garbage, a reading for an unknown device, then a good reading.
    const producer = new EmbeddedStream({ file: streamFile(server.config), partitions: server.config.partitions });
    const key = 'default/meter-1';
    const envelope = (deviceId: string, timestamp: number, eventId: string) =>
      JSON.stringify(
        toEnvelope({ tenantId: 'default', deviceId, eventId, timestamp, metrics: [{ name: 'poison_test', value: timestamp % 1000 }] }, 'io.telemetry'),
      );
    // A device deleted before the consumer reads its readings: the reason says so, and how to get
    // them back (it said UNKNOWN_DEVICE when the consumer's device lookup ran before the transaction).
    await server.ok(RegisterDeviceDocument, { input: { id: 'deleted-meter' } });
    await server.ok(DeleteDeviceDocument, { id: 'deleted-meter', keepData: true });
    await producer.produce('readings', [
      { key, value: '{"this is": "not a CloudEvent"' },
      { key, value: envelope('never-registered', now - 50, 'ghost-event') },
      { key, value: envelope('deleted-meter', now - 45, 'deleted-event') },
      { key, value: envelope('meter-1', now - 40, 'after-poison') },
    ]);
    await producer.close();

    const stored = await eventually(async () => {
      const page = await server.ok(ReadingsDocument, { deviceId: 'meter-1', metric: 'poison_test' });
      return page.readings.edges.length > 0 ? page : undefined;
    });
    expect(stored.readings.edges).toHaveLength(1);
    const letters = await server.ok(DeadLettersDocument, { first: 10 });
    const reasons = letters.deadLetters.edges.map((e) => e.node.reason);
    // The malformed message has no readable tenant, so only operators see it; the unknown device is the tenant's.
    expect(reasons.sort()).toEqual([
      expect.stringMatching(/^DEVICE_DELETED: device "deleted-meter" of tenant "default" was deleted; register it again, then replay/),
      expect.stringMatching(/^UNKNOWN_DEVICE: no device "never-registered"/),
    ]);
    const ghost = letters.deadLetters.edges.find((edge) => edge.node.reason.startsWith('UNKNOWN_DEVICE'))!;
    expect(ghost.node.payload).toContain('never-registered');

    // Once the device exists, the dead letter can be sent back and is stored like any reading.
    await server.ok(RegisterDeviceDocument, { input: { id: 'never-registered' } });
    const letterId = ghost.node.id;
    const replay = await server.ok(ReplayDeadLetterDocument, { id: letterId });
    expect(replay.replayDeadLetter).toMatchObject({ deadLetterId: letterId });
    const replayed = await eventually(async () => {
      const page = await server.ok(ReadingsDocument, { deviceId: 'never-registered', metric: 'poison_test' });
      return page.readings.edges.length > 0 ? page : undefined;
    });
    expect(replayed.readings.edges).toHaveLength(1);
    const after = await server.ok(DeadLettersDocument, { first: 10 });
    expect(after.deadLetters.edges[0]!.node.replayedAt).not.toBeNull();
    const missing = await server.gql(ReplayDeadLetterDocument, { id: '999999' });
    expect(missing.errors?.[0]?.extensions?.['code']).toBe('NOT_FOUND');
  });
});
