import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { CreateApiKeyDocument, ReadingAddedDocument, ReadingsDocument, RegisterDeviceDocument, RevokeApiKeyDocument } from '../generated/graphql';
import { parseExposition } from '../support/metrics';
import { eventually, startTestServer, type TestServer } from '../support/server';
import { createTenantWithCli } from '../support/service-process';
import { connect, subscribe } from '../support/ws-client';

/**
 * The built-in MQTT broker, driven by the real `mqtt` client against the started service:
 * what a device publishes is stored, what it may not do is refused, and nothing refused is stored.
 */

interface ErrorMessage {
  readonly topic: string;
  readonly error?: { code: string; message: string; retryable: boolean };
  readonly acceptedCount?: number;
  readonly rejected?: { index: number; code: string; message: string }[];
}

const minutesAgo = (minutes: number, plusMs = 0) => new Date(Date.now() - minutes * 60_000 + plusMs).toISOString();

describe('MQTT: the built-in broker', () => {
  let server: TestServer;
  let mqttUrl: string;
  const keys = new Map<string, string>();
  const clients: MqttClient[] = [];

  const device = async (id: string): Promise<string> => {
    const registered = await server.ok(RegisterDeviceDocument, { input: { id } });
    keys.set(id, registered.registerDevice.deviceKey);
    return registered.registerDevice.deviceKey;
  };
  const open = async (username: string, password: string, options: IClientOptions = {}, url = mqttUrl): Promise<MqttClient> => {
    const client = await connectAsync(url, { username, password, reconnectPeriod: 0, connectTimeout: 10_000, ...options });
    clients.push(client);
    return client;
  };
  /** Every message the client receives on devices/{id}/errors, once subscribed. */
  const errorsOf = async (client: MqttClient, deviceId: string): Promise<ErrorMessage[]> => {
    const received: ErrorMessage[] = [];
    client.on('message', (topic, payload) => {
      if (topic === `devices/${deviceId}/errors`) received.push(JSON.parse(payload.toString()) as ErrorMessage);
    });
    await client.subscribeAsync(`devices/${deviceId}/errors`, { qos: 1 });
    return received;
  };
  const stored = async (deviceId: string, metric: string) => {
    const result = await server.ok(ReadingsDocument, { deviceId, metric, first: 100 });
    return result.readings.edges.map((edge) => edge.node.value);
  };
  /** Waits until what was acknowledged before is applied: a sentinel sent after it is readable. */
  const applied = async (client: MqttClient, deviceId: string) => {
    const sentinel = `sentinel-${Math.random().toString(36).slice(2)}`;
    await client.publishAsync(`devices/${deviceId}/readings`, JSON.stringify({ timestamp: minutesAgo(1), metrics: { [sentinel.replace(/-/g, '_')]: 1 } }), {
      qos: 1,
    });
    await eventually(async () => ((await stored(deviceId, sentinel.replace(/-/g, '_'))).length === 1 ? true : undefined), 15_000, 'the sentinel reading');
  };
  const closed = (client: MqttClient) => new Promise<void>((resolve) => (client.connected ? client.once('close', () => resolve()) : resolve()));

  beforeAll(async () => {
    server = await startTestServer({ TELEMETRY_MQTT_PORT: '0', TELEMETRY_MQTT_MAX_PAYLOAD_BYTES: '2048', TELEMETRY_METRICS_PORT: '0' });
    mqttUrl = server.app.mqttUrl!;
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.endAsync(true)));
  });
  afterAll(() => server.close());

  it('stores a QoS 1 reading, acknowledged once the stream holds it, and delivers it to a readingAdded subscriber', async () => {
    const key = await device('mq-1');
    const ws = connect(server.app.wsUrl, server.adminKey);
    const subscription = subscribe(ws, ReadingAddedDocument, { deviceId: 'mq-1' });
    try {
      await eventually(() => (server.app.hub.activeSubscriptions > 0 ? true : undefined), 10_000, 'the subscription');
      const client = await open('mq-1', key);
      const packet = await client.publishAsync('devices/mq-1/readings', JSON.stringify({ timestamp: minutesAgo(5), metrics: { temperature: 21.5 } }), {
        qos: 1,
      });
      expect(packet?.cmd).toBe('publish');
      await eventually(async () => ((await stored('mq-1', 'temperature')).length === 1 ? true : undefined), 15_000, 'the stored reading');
      expect(await stored('mq-1', 'temperature')).toEqual([21.5]);
      await eventually(() => (subscription.received.length > 0 ? true : undefined), 15_000, 'the subscription event');
      expect(subscription.received[0]?.data?.readingAdded).toMatchObject({ deviceId: 'mq-1', metrics: [{ name: 'temperature', value: 21.5 }] });
    } finally {
      subscription.stop();
      await ws.dispose();
    }
  });

  it('takes every payload POST /ingest takes: a batch, a CloudEvent, deviceId from the topic or given', async () => {
    const key = await device('mq-forms');
    const client = await open('mq-forms', key);
    const errors = await errorsOf(client, 'mq-forms');
    const cloudEvent = {
      specversion: '1.0',
      id: 'mq-forms-ce-1',
      source: '/devices/mq-forms',
      type: 'io.telemetry.reading.v1',
      time: minutesAgo(4),
      data: { metrics: { v: 3 } },
    };
    await client.publishAsync(
      'devices/mq-forms/readings',
      JSON.stringify([
        { timestamp: minutesAgo(6), metrics: { v: 1 } },
        { deviceId: 'mq-forms', timestamp: minutesAgo(5), metrics: [{ name: 'v', value: 2 }] },
      ]),
      { qos: 1 },
    );
    await client.publishAsync('devices/mq-forms/readings', JSON.stringify(cloudEvent), { qos: 1 });
    await client.publishAsync('devices/mq-forms/readings', JSON.stringify({ timestamp: minutesAgo(3), metrics: { v: 4 } }), { qos: 0 });
    await eventually(async () => ((await stored('mq-forms', 'v')).length === 4 ? true : undefined), 15_000, 'four readings');
    expect((await stored('mq-forms', 'v')).sort()).toEqual([1, 2, 3, 4]);
    expect(errors).toEqual([]);
  });

  it('tells every connection of the device listening on its errors topic (a mosquitto_sub beside a mosquitto_pub), and no other device', async () => {
    const key = await device('mq-listen');
    const otherKey = await device('mq-listen-other');
    const listener = await open('mq-listen', key);
    const heard = await errorsOf(listener, 'mq-listen');
    const other = await open('mq-listen-other', otherKey);
    const otherHeard = await errorsOf(other, 'mq-listen-other');
    const publisher = await open('mq-listen', key);
    await publisher.publishAsync('devices/mq-listen/readings', 'not json', { qos: 1 });
    await eventually(() => (heard.length === 1 ? true : undefined), 10_000, 'the listening connection told');
    expect(heard[0]).toMatchObject({ topic: 'devices/mq-listen/readings', error: { code: 'BAD_USER_INPUT' } });
    // The other device hears only its own refusal (had the first reached it, it would have come first).
    await other.publishAsync('devices/mq-listen-other/readings', 'not json either', { qos: 1 });
    await eventually(() => (otherHeard.length === 1 ? true : undefined), 10_000, 'the other device told of its own message');
    expect(otherHeard[0]).toMatchObject({ topic: 'devices/mq-listen-other/readings' });
    expect(heard).toHaveLength(1);
  });

  it('answers bad payloads on devices/{id}/errors with the codes POST /ingest gives, and stores none of them', async () => {
    const key = await device('mq-bad');
    const client = await open('mq-bad', key);
    const errors = await errorsOf(client, 'mq-bad');
    const topic = 'devices/mq-bad/readings';
    await client.publishAsync(topic, '{"timestamp": ', { qos: 1 });
    await client.publishAsync(topic, Buffer.from([0xff, 0xfe]), { qos: 1 });
    await client.publishAsync(topic, JSON.stringify({ timestamp: 'yesterday', metrics: { bad: 1 } }), { qos: 1 });
    await client.publishAsync(topic, JSON.stringify({ timestamp: minutesAgo(1), metrics: { bad: 'hot' } }), { qos: 1 });
    await client.publishAsync(topic, JSON.stringify({ deviceId: 'mq-1', timestamp: minutesAgo(1), metrics: { bad: 1 } }), { qos: 1 });
    await client.publishAsync(topic, JSON.stringify([]), { qos: 1 });
    await client.publishAsync(topic, JSON.stringify({ timestamp: minutesAgo(1), metrics: { bad: 1 }, padding: 'x'.repeat(4096) }), { qos: 1 });
    await eventually(() => (errors.length === 7 ? true : undefined), 10_000, 'seven error messages');
    expect(errors.map((message) => message.error?.code ?? message.rejected?.map((item) => item.code).join())).toEqual([
      'BAD_USER_INPUT',
      'BAD_USER_INPUT',
      'INVALID_TIMESTAMP',
      'INVALID_VALUE',
      'UNKNOWN_DEVICE',
      'BAD_USER_INPUT',
      'PAYLOAD_TOO_LARGE',
    ]);
    expect(errors[0]).toMatchObject({ topic, error: { code: 'BAD_USER_INPUT', message: expect.stringContaining('the MQTT payload is not valid JSON') } });
    expect(errors[4]).toMatchObject({
      acceptedCount: 0,
      rejected: [{ index: 0, code: 'UNKNOWN_DEVICE', message: 'readings sent as device "mq-bad" may name only that device, not "mq-1"' }],
    });
    expect(errors[6]?.error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', message: 'the MQTT payload exceeds 2048 bytes' });
    await applied(client, 'mq-bad');
    expect(await stored('mq-bad', 'bad')).toEqual([]);
    expect(await stored('mq-1', 'bad')).toEqual([]);
  });

  it('closes the connection, unread, on a packet over twice the payload limit (plus 64 KiB); nothing is stored', async () => {
    const key = await device('mq-huge');
    const client = await open('mq-huge', key);
    const gone = closed(client);
    client.publish('devices/mq-huge/readings', JSON.stringify({ timestamp: minutesAgo(1), metrics: { huge: 1 }, padding: 'x'.repeat(80 * 1024) }), { qos: 1 });
    await gone;
    const again = await open('mq-huge', key);
    await applied(again, 'mq-huge');
    expect(await stored('mq-huge', 'huge')).toEqual([]);
  });

  it('refuses credentials that are not a device and its own key', async () => {
    const key = await device('mq-auth');
    await device('mq-other');
    const reader = await server.ok(CreateApiKeyDocument, { input: { role: 'READER', label: 'dashboard' } });
    const refusal = (username: string, password: string) =>
      open(username, password).then(
        () => 'connected',
        (error: unknown) => (error as { code?: number }).code,
      );
    expect(await refusal('mq-auth', 'tk_not-a-key')).toBe(4);
    expect(await refusal('mq-other', key)).toBe(4);
    expect(await refusal('mq-auth', reader.createApiKey.secret)).toBe(5);
    expect(await refusal('mq-auth', server.adminKey)).toBe(5);
    expect(await refusal('mq-auth', key)).toBe('connected');
  });

  it('speaks MQTT 3.1.1 and 3.1; refuses an MQTT 5 CONNECT with return code 1 (unacceptable protocol version)', async () => {
    const key = await device('mq-versions');
    const attempt = (protocolVersion: 3 | 4 | 5) =>
      open('mq-versions', key, { protocolVersion, clientId: `mq-versions-v${protocolVersion}` }).then(
        () => 'connected',
        (error: unknown) => (error as { code?: number }).code,
      );
    expect(await attempt(4)).toBe('connected');
    expect(await attempt(3)).toBe('connected');
    expect(await attempt(5)).toBe(1);
  });

  it("closes the connection of a device publishing to another device's topic, or with QoS 2; nothing is stored", async () => {
    const key = await device('mq-acl');
    await device('mq-victim');
    for (const [topic, qos] of [
      ['devices/mq-victim/readings', 1],
      ['devices/mq-acl/errors', 1],
      ['devices/mq-acl/readings', 2],
    ] as const) {
      const client = await open('mq-acl', key);
      const gone = closed(client);
      client.publish(topic, JSON.stringify({ deviceId: 'mq-victim', timestamp: minutesAgo(1), metrics: { stolen: 1 } }), { qos });
      await gone;
    }
    const client = await open('mq-victim', keys.get('mq-victim')!);
    await applied(client, 'mq-victim');
    expect(await stored('mq-victim', 'stolen')).toEqual([]);
  });

  it('takes command responses on devices/{id}/commands/{commandId}/response: never ingested, bad ones and unknown commands told on errors', async () => {
    const key = await device('mq-answer');
    await device('mq-answer-other');
    const client = await open('mq-answer', key);
    const errors = await errorsOf(client, 'mq-answer');
    const topic = 'devices/mq-answer/commands/0190aa00-0000-7000-8000-000000000000/response';
    // A reading-shaped payload: were it ingested, `hijack` would be stored.
    const readingShaped = JSON.stringify({ timestamp: minutesAgo(1), metrics: { hijack: 1 } });
    for (const payload of ['not json', '[1]', '{"status":"DONE"}', readingShaped, '{"status":"SUCCEEDED","result":{"ok":true}}'])
      await client.publishAsync(topic, payload, { qos: 1 });
    await eventually(() => (errors.length === 5 ? true : undefined), 10_000, 'five error messages');
    expect(errors.map((message) => message.error?.code)).toEqual(['BAD_USER_INPUT', 'BAD_USER_INPUT', 'BAD_USER_INPUT', 'BAD_USER_INPUT', 'NOT_FOUND']);
    expect(errors[2]).toMatchObject({ topic, error: { message: 'a command response status must be "SUCCEEDED" or "FAILED"' } });
    await applied(client, 'mq-answer');
    expect(await stored('mq-answer', 'hijack')).toEqual([]);
    // Answering another device's command closes the connection, as any foreign topic does.
    const gone = closed(client);
    client.publish('devices/mq-answer-other/commands/0190aa00-0000-7000-8000-000000000000/response', '{"status":"SUCCEEDED"}', { qos: 1 });
    await gone;
  });

  it('grants subscriptions under the own prefix only: wildcards over other devices are refused (SUBACK 0x80)', async () => {
    const key = await device('mq-sub');
    const client = await open('mq-sub', key);
    // mqtt.js fails a SUBSCRIBE when any filter is refused: one filter per SUBSCRIBE.
    const grant = (filter: string, qos: 0 | 1 | 2 = 1) =>
      client.subscribeAsync(filter, { qos }).then(
        (granted) => granted[0]?.qos,
        (error: unknown) => (error as { packet?: { granted?: number[] } }).packet?.granted?.[0],
      );
    const filters = ['devices/mq-sub/#', 'devices/mq-sub/commands/+', '#', '+/+/errors', 'devices/+/errors', 'devices/mq-sub', 'devices/mq-sub/', '$SYS/#'];
    const granted: Record<string, number | undefined> = {};
    for (const filter of filters) granted[filter] = await grant(filter);
    expect(granted).toEqual({
      'devices/mq-sub/#': 1,
      'devices/mq-sub/commands/+': 1,
      '#': 128,
      '+/+/errors': 128,
      'devices/+/errors': 128,
      'devices/mq-sub': 128,
      'devices/mq-sub/': 128,
      '$SYS/#': 128,
    });
    // The service publishes nothing above QoS 1, so a QoS 2 subscription is harmless: granted.
    expect(await grant('devices/mq-sub/errors', 2)).toBe(2);
    expect(client.connected).toBe(true);
  });

  it("never forwards one device's readings to another subscriber", async () => {
    const key = await device('mq-echo');
    const listener = await open('mq-echo', key, { clientId: 'mq-echo-listener' });
    const seen: string[] = [];
    listener.on('message', (topic) => seen.push(topic));
    await listener.subscribeAsync('devices/mq-echo/#', { qos: 1 });
    const publisher = await open('mq-echo', key, { clientId: 'mq-echo-publisher' });
    await publisher.publishAsync('devices/mq-echo/readings', JSON.stringify({ timestamp: minutesAgo(2), metrics: { echo: 1 } }), { qos: 1, retain: true });
    await applied(publisher, 'mq-echo');
    const late = await open('mq-echo', key, { clientId: 'mq-echo-late' });
    const lateSeen: string[] = [];
    late.on('message', (topic) => lateSeen.push(topic));
    await late.subscribeAsync('devices/mq-echo/#', { qos: 1 });
    // A round trip on each connection after the publishes: anything forwarded would have arrived.
    await listener.subscribeAsync('devices/mq-echo/errors', { qos: 1 });
    await late.subscribeAsync('devices/mq-echo/errors', { qos: 1 });
    expect(seen).toEqual([]);
    expect(lateSeen).toEqual([]);
  });

  it("closes a device's connections at once when its key is revoked", async () => {
    await device('mq-revoked');
    const rotated = await server.ok(CreateApiKeyDocument, { input: { role: 'DEVICE', deviceId: 'mq-revoked', label: 'second key' } });
    const client = await open('mq-revoked', rotated.createApiKey.secret);
    const gone = closed(client);
    await server.ok(RevokeApiKeyDocument, { id: rotated.createApiKey.key.id });
    await gone;
    const again = await open('mq-revoked', rotated.createApiKey.secret).then(
      () => 'connected',
      (error: unknown) => (error as { code?: number }).code,
    );
    expect(again).toBe(4);
  });

  it("keeps tenants apart: two tenants' devices with one id and one client id neither see nor displace each other", async () => {
    const ourKey = await device('shared-id');
    const theirAdmin = await createTenantWithCli(server.dataDir, 'tenant-mqtt-b');
    const theirs = await server.gql(RegisterDeviceDocument, { input: { id: 'shared-id' } }, theirAdmin);
    const theirKey = theirs.data!.registerDevice.deviceKey;
    const ours = await open('shared-id', ourKey, { clientId: 'same-client' });
    const ourErrors = await errorsOf(ours, 'shared-id');
    const them = await open('shared-id', theirKey, { clientId: 'same-client' });
    const theirErrors = await errorsOf(them, 'shared-id');
    await them.publishAsync('devices/shared-id/readings', '{"not json', { qos: 1 });
    await them.publishAsync('devices/shared-id/readings', JSON.stringify({ timestamp: minutesAgo(1), metrics: { tenantB: 2 } }), { qos: 1 });
    await eventually(() => (theirErrors.length === 1 ? true : undefined), 10_000, "tenant B's error message");
    await applied(ours, 'shared-id');
    // Our connection is still open (same client id, other tenant), heard nothing of theirs, and sees none of their readings.
    expect(ours.connected).toBe(true);
    expect(ourErrors).toEqual([]);
    expect(await stored('shared-id', 'tenantB')).toEqual([]);
    const theirReadings = await server.gql(ReadingsDocument, { deviceId: 'shared-id', metric: 'tenantB', first: 10 }, theirAdmin);
    expect(theirReadings.data?.readings.edges.map((edge) => edge.node.value)).toEqual([2]);
  });

  it('counts MQTT readings under path="mqtt" in the ingest metrics', async () => {
    const response = await fetch(server.app.metricsUrl!);
    const samples = parseExposition(await response.text());
    const accepted = samples.find((sample) => sample.name === 'telemetry_ingest_readings_accepted_total' && sample.labels['path'] === 'mqtt');
    const rejected = samples.filter((sample) => sample.name === 'telemetry_ingest_readings_rejected_total' && sample.labels['path'] === 'mqtt');
    expect(accepted?.value).toBeGreaterThan(0);
    expect(rejected.map((sample) => sample.labels['code'])).toEqual(expect.arrayContaining(['INVALID_TIMESTAMP', 'INVALID_VALUE', 'UNKNOWN_DEVICE']));
  });

  it('speaks MQTT over WebSocket on the HTTP port at /mqtt', async () => {
    const key = await device('mq-ws');
    const client = await open('mq-ws', key, {}, server.app.wsUrl.replace(/\/graphql$/, '/mqtt'));
    await client.publishAsync('devices/mq-ws/readings', JSON.stringify({ timestamp: minutesAgo(2), metrics: { viaWs: 7 } }), { qos: 1 });
    await eventually(async () => ((await stored('mq-ws', 'viaWs')).length === 1 ? true : undefined), 15_000, 'the reading sent over WebSocket');
  });
});

describe('MQTT: limits', () => {
  let server: TestServer;
  const clients: MqttClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.endAsync(true)));
  });
  beforeAll(async () => {
    server = await startTestServer({
      TELEMETRY_MQTT_PORT: '0',
      TELEMETRY_RATE_LIMIT_PER_SECOND: '1',
      TELEMETRY_RATE_LIMIT_BURST: '3',
      TELEMETRY_MQTT_MAX_CONNECTIONS_PER_TENANT: '1',
    });
  });
  afterAll(() => server.close());

  it("slows a flooding device to its key's rate (PUBACK held, RATE_LIMITED on its errors topic), losing nothing, and caps connections per tenant", async () => {
    const { registerDevice } = await server.ok(RegisterDeviceDocument, { input: { id: 'flood' } });
    const client = await connectAsync(server.app.mqttUrl!, { username: 'flood', password: registerDevice.deviceKey, reconnectPeriod: 0 });
    clients.push(client);
    const errors: ErrorMessage[] = [];
    client.on('message', (_topic, payload) => errors.push(JSON.parse(payload.toString()) as ErrorMessage));
    await client.subscribeAsync('devices/flood/errors', { qos: 1 });
    // Burst 3 (the SUBSCRIBE spent none), then 1 per second: the last ones wait for their PUBACK.
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        client.publishAsync('devices/flood/readings', JSON.stringify({ timestamp: minutesAgo(10, i * 1000), metrics: { n: i } }), { qos: 1 }),
      ),
    );
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]?.error).toMatchObject({ code: 'RATE_LIMITED', retryable: true, retryAfterSeconds: expect.any(Number) });
    // Every acknowledged message is stored.
    await eventually(
      async () => ((await server.ok(ReadingsDocument, { deviceId: 'flood', metric: 'n', first: 10 })).readings.edges.length === 6 ? true : undefined),
      15_000,
      'six readings',
    );

    const second = await connectAsync(server.app.mqttUrl!, { username: 'flood', password: registerDevice.deviceKey, reconnectPeriod: 0 }).then(
      (extra) => {
        clients.push(extra);
        return 'connected';
      },
      (error: unknown) => (error as { code?: number }).code,
    );
    expect(second).toBe(3);
  });
});
