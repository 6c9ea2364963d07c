import {
  DeleteDeviceDocument,
  DeviceIdsDocument,
  IngestReadingDocument,
  ReadingAddedDocument,
  ReadingsDocument,
  RegisterDeviceDocument,
  RegisterDevicesDocument,
  UpdateDeviceDocument,
  ViewerDocument,
  CreateApiKeyDocument,
} from '../generated/graphql';
import { connect, subscribe } from '../support/ws-client';
import { eventually, startTestServer, type TestServer } from '../support/server';
import WebSocket from 'ws';

/** A graphql-ws connection, acknowledged; `closed` tells how the server ends it. */
function openSocket(url: string, key: string): Promise<{ closed: Promise<{ code: number; reason: string }> }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, 'graphql-transport-ws');
    const closed = new Promise<{ code: number; reason: string }>((done) => socket.once('close', (code, reason) => done({ code, reason: reason.toString() })));
    socket.once('error', reject);
    socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } })));
    socket.once('message', (data: Buffer) => {
      const text = data.toString('utf8');
      if ((JSON.parse(text) as { type: string }).type === 'connection_ack') resolve({ closed });
      else reject(new Error(`not acknowledged: ${text}`));
    });
  });
}

const at = (msAgo: number) => new Date(Date.now() - msAgo).toISOString();
const reading = (deviceId: string, msAgo = 1000) => ({ reading: { deviceId, timestamp: at(msAgo), metrics: [{ name: 'v', value: 1 }] } });

/** Devices that change: update, bulk registration, filters, and deletion (keys, subscriptions, data). */
describe('device lifecycle', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  const ids = async (filter: Record<string, unknown>) =>
    (await server.ok(DeviceIdsDocument, { filter })).devices.edges.map((edge) => edge.node.id).filter((id) => id.startsWith('lc-'));

  it('updates name, tags, heartbeat timeout and attributes, leaving out what is not given', async () => {
    await server.ok(RegisterDeviceDocument, { input: { id: 'lc-pump', tags: ['a'], attributes: { site: 'paris' } } as never });
    const renamed = (await server.ok(UpdateDeviceDocument, { id: 'lc-pump', input: { name: 'Pump 1', heartbeatTimeoutSeconds: 120 } })).updateDevice;
    expect(renamed).toMatchObject({ name: 'Pump 1', tags: ['a'], heartbeatTimeoutSeconds: 120, attributes: { site: 'paris' } });
    const changed = (
      await server.ok(UpdateDeviceDocument, {
        id: 'lc-pump',
        input: { tags: ['b', 'c'], heartbeatTimeoutSeconds: null, attributes: { site: 'lyon', rack: { row: 3, slots: [1, 2] }, active: true } },
      })
    ).updateDevice;
    expect(changed.name).toBe('Pump 1');
    expect(changed.tags).toEqual(['b', 'c']);
    expect(changed.heartbeatTimeoutSeconds).toBe(server.config.liveness.defaultHeartbeatTimeoutMs / 1000);
    expect(changed.attributes).toEqual({ site: 'lyon', rack: { row: 3, slots: [1, 2] }, active: true });
  });

  it('refuses bad changes with BAD_USER_INPUT naming the field, and unknown devices with NOT_FOUND', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ attributes: [1, 2] }, 'attributes'],
      [{ attributes: 'text' }, 'attributes'],
      [{ attributes: { 'has space': 1 } }, 'attributes'],
      [{ attributes: { big: 'x'.repeat(2000) } }, 'attributes'],
      [{ attributes: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, i])) }, 'attributes'],
      [{ name: '' }, 'name'],
      [{ tags: ['bad\ttag'] }, 'tags'],
      [{ heartbeatTimeoutSeconds: 0 }, 'heartbeatTimeoutSeconds'],
    ];
    for (const [input, field] of cases) {
      const answer = await server.gql(UpdateDeviceDocument, { id: 'lc-pump', input });
      expect([input, answer.errors?.[0]?.extensions]).toEqual([input, expect.objectContaining({ code: 'BAD_USER_INPUT', field })]);
    }
    expect((await server.gql(UpdateDeviceDocument, { id: 'lc-nope', input: { name: 'x' } })).errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND' });
    expect((await server.gql(DeleteDeviceDocument, { id: 'lc-nope', keepData: false })).errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('registers devices in bulk with an answer per item: refused ones do not stop the others', async () => {
    const results = (
      await server.ok(RegisterDevicesDocument, {
        inputs: [
          { id: 'lc-bulk-1', attributes: { site: 'oslo', floor: 2 } },
          { id: 'bad id!' },
          { id: 'lc-pump' },
          { id: 'lc-bulk-2', tags: ['t'], attributes: { site: 'oslo', floor: 3 } },
          { id: 'lc-bulk-3', attributes: { 'bad key': 1 } },
        ] as never,
      })
    ).registerDevices;
    expect(results.map((r) => [r.index, r.registered?.device.id ?? null, r.error?.code ?? null])).toEqual([
      [0, 'lc-bulk-1', null],
      [1, null, 'BAD_USER_INPUT'],
      [2, null, 'ALREADY_EXISTS'],
      [3, 'lc-bulk-2', null],
      [4, null, 'BAD_USER_INPUT'],
    ]);
    // Each registered device has its own working key.
    const key = results[3]!.registered!.deviceKey;
    expect((await server.gql(ViewerDocument, undefined, key)).data?.viewer).toMatchObject({ role: 'DEVICE', deviceId: 'lc-bulk-2' });
    expect((await server.gql(RegisterDevicesDocument, { inputs: [] })).errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('filters devices by attribute value and by status', async () => {
    expect(await ids({ attribute: { key: 'site', equals: 'oslo' } })).toEqual(['lc-bulk-1', 'lc-bulk-2']);
    expect(await ids({ attribute: { key: 'floor', equals: 3 } })).toEqual(['lc-bulk-2']);
    expect(await ids({ attribute: { key: 'rack', equals: { slots: [1, 2], row: 3 } } })).toEqual(['lc-pump']);
    expect(await ids({ attribute: { key: 'floor', equals: '3' } })).toEqual([]);
    expect(await ids({ attribute: { key: 'site', equals: 'oslo' }, tag: 't' })).toEqual(['lc-bulk-2']);
    await server.ok(IngestReadingDocument, reading('lc-bulk-1'));
    await eventually(async () => ((await ids({ status: 'ONLINE' })).includes('lc-bulk-1') ? true : undefined), 10_000, 'lc-bulk-1 online');
    expect(await ids({ status: 'ONLINE' })).toEqual(['lc-bulk-1']);
    expect(await ids({ status: 'NEVER_SEEN' })).toEqual(['lc-bulk-2', 'lc-pump']);
  });

  it("deletes a device: its key's WebSockets close, subscriptions to it end, its key is refused, its data is gone", async () => {
    const { deviceKey } = (await server.ok(RegisterDeviceDocument, { input: { id: 'lc-gone' } })).registerDevice;
    await server.ok(IngestReadingDocument, reading('lc-gone', 5000));
    const stored = async (id: string) => (await server.ok(ReadingsDocument, { deviceId: id, metric: 'v' })).readings.edges.length;
    await eventually(async () => ((await stored('lc-gone')) === 1 ? true : undefined), 10_000, 'reading stored');

    const readerKey = (await server.ok(CreateApiKeyDocument, { input: { role: 'READER', label: 'watcher' } })).createApiKey.secret;
    const watcher = connect(server.app.wsUrl, readerKey);
    const before = server.app.hub.activeSubscriptions;
    const watching = subscribe(watcher, ReadingAddedDocument, { deviceId: 'lc-gone' });
    // An identical subscription joins the first one's cohort (one shared feed): it ends too.
    const joined = subscribe(watcher, ReadingAddedDocument, { deviceId: 'lc-gone' });
    await eventually(() => (server.app.subscriptionCohorts().members === 2 ? true : undefined), 5000, 'subscribed');
    expect(server.app.hub.activeSubscriptions).toBe(before + 1);
    // The device's own connection (a device key may only ingest, so it holds no subscription).
    const deviceSocket = await openSocket(server.app.wsUrl, deviceKey);

    expect((await server.ok(DeleteDeviceDocument, { id: 'lc-gone', keepData: false })).deleteDevice).toEqual({
      id: 'lc-gone',
      keptData: false,
      removingData: true,
    });
    expect(await deviceSocket.closed).toEqual({ code: 4403, reason: 'API key revoked' });
    for (const subscription of [watching, joined])
      expect(await subscription.finished).toEqual([
        expect.objectContaining({
          message: 'device "lc-gone" was deleted',
          extensions: expect.objectContaining({ code: 'NOT_FOUND', reason: 'DEVICE_DELETED' }),
        }),
      ]);
    await eventually(() => (server.app.hub.activeSubscriptions === before ? true : undefined), 5000, 'subscriptions cleaned up');
    expect((await server.gql(IngestReadingDocument, reading('lc-gone'), deviceKey)).status).toBe(401);
    expect((await server.gql(ReadingsDocument, { deviceId: 'lc-gone', metric: 'v' })).errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND' });
    // Ingest through the admin key is refused at once (this node forgot the device).
    const refused = (await server.ok(IngestReadingDocument, reading('lc-gone'))).ingestReading;
    expect(refused.rejected.map((r) => r.code)).toEqual(['UNKNOWN_DEVICE']);

    // Registered again once its old data is removed (refused, retryable, until then), it starts empty.
    await eventually(
      async () => {
        const { errors } = await server.gql(RegisterDeviceDocument, { input: { id: 'lc-gone' } });
        if (!errors) return true;
        expect(errors[0]?.extensions).toMatchObject({ code: 'UNAVAILABLE', retryable: true, reason: 'DEVICE_DATA_REMOVAL', retryAfterSeconds: 5 });
        return undefined;
      },
      30_000,
      'registered again',
    );
    expect(await stored('lc-gone')).toBe(0);
    await watcher.dispose();
  });

  it('keeps the data when asked: registering the id again shows it', async () => {
    await server.ok(RegisterDeviceDocument, { input: { id: 'lc-kept' } });
    await server.ok(IngestReadingDocument, reading('lc-kept', 5000));
    const stored = async () => (await server.ok(ReadingsDocument, { deviceId: 'lc-kept', metric: 'v' })).readings.edges.length;
    await eventually(async () => ((await stored()) === 1 ? true : undefined), 10_000, 'reading stored');
    expect((await server.ok(DeleteDeviceDocument, { id: 'lc-kept', keepData: true })).deleteDevice).toEqual({
      id: 'lc-kept',
      keptData: true,
      removingData: false,
    });
    expect(await ids({})).not.toContain('lc-kept');
    await server.ok(RegisterDeviceDocument, { input: { id: 'lc-kept' } });
    expect(await stored()).toBe(1);
  });

  it('lets only admins change or delete devices', async () => {
    const readerKey = (await server.ok(CreateApiKeyDocument, { input: { role: 'READER', label: 'r' } })).createApiKey.secret;
    for (const [document, variables] of [
      [UpdateDeviceDocument, { id: 'lc-pump', input: { name: 'x' } }],
      [DeleteDeviceDocument, { id: 'lc-pump', keepData: true }],
      [RegisterDevicesDocument, { inputs: [{ id: 'lc-r' }] }],
    ] as const) {
      expect((await server.gql(document as never, variables as never, readerKey)).errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN' });
    }
  });
});

describe('device lifecycle: a deleted device whose data is still being removed', () => {
  let server: TestServer;
  beforeAll(async () => {
    // The removal never runs here (the longest check interval): the id stays refused.
    server = await startTestServer({ TELEMETRY_DELETED_DEVICE_DATA_CHECK_MS: '3600000' });
  });
  afterAll(() => server.close());

  it('refuses its id, alone or in bulk, with a retryable UNAVAILABLE naming the reason, and registers nothing; other ids go through', async () => {
    await server.ok(RegisterDeviceDocument, { input: { id: 'lc-removing' } });
    await server.ok(IngestReadingDocument, reading('lc-removing', 5000));
    await eventually(
      async () => ((await server.ok(ReadingsDocument, { deviceId: 'lc-removing', metric: 'v' })).readings.edges.length === 1 ? true : undefined),
      10_000,
      'reading stored',
    );
    expect((await server.ok(DeleteDeviceDocument, { id: 'lc-removing', keepData: false })).deleteDevice.removingData).toBe(true);
    const { errors } = await server.gql(RegisterDeviceDocument, { input: { id: 'lc-removing' } });
    expect(errors?.[0]).toMatchObject({
      message: 'device "lc-removing" was deleted and its data is still being removed; register it again in a few seconds',
      extensions: { code: 'UNAVAILABLE', retryable: true, reason: 'DEVICE_DATA_REMOVAL', retryAfterSeconds: 5 },
    });
    const bulk = (await server.ok(RegisterDevicesDocument, { inputs: [{ id: 'lc-removing' }, { id: 'lc-fresh' }] })).registerDevices;
    expect(bulk.map((item) => [item.index, item.error?.code ?? null, item.registered?.device.id ?? null])).toEqual([
      [0, 'UNAVAILABLE', null],
      [1, null, 'lc-fresh'],
    ]);
    const devices = (await server.ok(DeviceIdsDocument, {})).devices.edges.map((edge) => edge.node.id);
    expect(devices).toContain('lc-fresh');
    expect(devices).not.toContain('lc-removing');
  });

  it('frees the id at once when the device had nothing to remove (it never sent a reading)', async () => {
    await server.ok(RegisterDeviceDocument, { input: { id: 'lc-silent' } });
    expect((await server.ok(DeleteDeviceDocument, { id: 'lc-silent', keepData: false })).deleteDevice).toEqual({
      id: 'lc-silent',
      keptData: false,
      removingData: false,
    });
    expect((await server.ok(RegisterDeviceDocument, { input: { id: 'lc-silent' } })).registerDevice.device.id).toBe('lc-silent');
  });
});
