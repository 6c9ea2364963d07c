import { readFileSync } from 'node:fs';
import path from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { ReadingsDocument, RegisterDeviceDocument } from '../generated/graphql';
import { recordingLogger, type LoggedLine } from '../support/logger';
import { parseExposition, total } from '../support/metrics';
import { eventsOf, startTestBroker, type TestBroker } from '../support/mqtt-broker';
import { eventually, newDataDir, startTestServer, type TestServer } from '../support/server';
import { holdWriteLock } from '../support/write-lock';

/**
 * The bridge to an existing broker (TELEMETRY_MQTT_BRIDGE_URL): a real service subscribed to a
 * second broker (aedes, in its own process) that a real MQTT client publishes to.
 */

const CREDENTIALS = { username: 'telemetry-bridge', password: 'bridge-secret' };
const TOPIC = 'fleet/+deviceId/telemetry';
const iso = (offsetMs: number) => new Date(Date.now() - 120_000 + offsetMs).toISOString();

let bridgeSequence = 0;
const bridgeEnv = (broker: TestBroker, clientId: string): Record<string, string> => ({
  TELEMETRY_MQTT_BRIDGE_URL: broker.url,
  TELEMETRY_MQTT_BRIDGE_USERNAME: CREDENTIALS.username,
  TELEMETRY_MQTT_BRIDGE_PASSWORD: CREDENTIALS.password,
  TELEMETRY_MQTT_BRIDGE_TOPIC: TOPIC,
  TELEMETRY_MQTT_BRIDGE_CLIENT_ID: clientId,
  TELEMETRY_METRICS_PORT: '0',
});

/** The values stored for a device's metric, oldest first. */
async function storedValues(server: TestServer, deviceId: string, metric: string): Promise<number[]> {
  const page = await server.ok(ReadingsDocument, { deviceId, metric, first: 1000, order: 'OLDEST_FIRST' });
  return page.readings.edges.map((edge) => edge.node.value);
}

/** Waits until exactly `count` values are stored, then returns them. */
const eventuallyStored = (server: TestServer, deviceId: string, metric: string, count: number) =>
  eventually(
    async () => {
      const values = await storedValues(server, deviceId, metric);
      return values.length >= count ? values : undefined;
    },
    20_000,
    `${count} ${metric} readings of ${deviceId}`,
  );

const subscribedCount = (broker: TestBroker, clientId: string) => eventsOf(broker, 'subscribe').filter((event) => event.clientId === clientId).length;
const acksTo = (broker: TestBroker, clientId: string) => eventsOf(broker, 'ack').filter((event) => event.clientId === clientId);

async function bridgeMessages(server: TestServer, outcome: string): Promise<number> {
  const text = await (await fetch(server.app.metricsUrl!)).text();
  return total(parseExposition(text), 'telemetry_mqtt_bridge_messages_total', { outcome }) ?? 0;
}

describe('MQTT bridge to an existing broker', () => {
  let broker: TestBroker;
  let device: MqttClient;
  const publish = (deviceId: string, payload: unknown) =>
    device.publishAsync(`fleet/${deviceId}/telemetry`, typeof payload === 'string' ? payload : JSON.stringify(payload), { qos: 1 });

  beforeAll(async () => {
    broker = await startTestBroker({ credentials: CREDENTIALS });
    device = await connectAsync(broker.url, { ...CREDENTIALS, clientId: 'device-simulator', reconnectPeriod: 100 });
  });
  afterAll(async () => {
    await device.endAsync(true);
    await broker.close();
  });

  describe('with a running service', () => {
    let server: TestServer;
    let logger: ReturnType<typeof recordingLogger>;
    const clientId = `bridge-${++bridgeSequence}`;

    beforeAll(async () => {
      logger = recordingLogger();
      server = await startTestServer(bridgeEnv(broker, clientId), newDataDir(), logger);
      for (const id of ['pump-1', 'pump-2']) await server.ok(RegisterDeviceDocument, { input: { id } });
      await eventually(() => (subscribedCount(broker, clientId) > 0 ? true : undefined), 15_000, 'the bridge to subscribe');
    });
    afterAll(() => server.close());

    it('subscribes with its credentials to the pattern as an MQTT filter', () => {
      expect(eventsOf(broker, 'subscribe').find((event) => event.clientId === clientId)?.topics).toEqual(['fleet/+/telemetry']);
    });

    it('stores every QoS 1 reading exactly once, in any form POST /ingest takes, the device named by the topic', async () => {
      // Plain readings without a deviceId (the topic's), a CloudEvent, and a batch of two.
      for (let value = 1; value <= 10; value++) await publish('pump-1', { timestamp: iso(value), metrics: { seq: value } });
      await publish('pump-1', {
        specversion: '1.0',
        id: 'pump-1-ce-11',
        source: '/devices/pump-1',
        type: 'io.telemetry.reading.v1',
        time: iso(11),
        data: { metrics: { seq: 11 } },
      });
      await publish('pump-1', [
        { timestamp: iso(12), metrics: { seq: 12 } },
        { deviceId: 'pump-1', timestamp: iso(13), metrics: { seq: 13 } },
      ]);
      expect(await eventuallyStored(server, 'pump-1', 'seq', 13)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
      // A reading published after them reaches the same partition later: once it is stored, nothing before it is pending.
      await publish('pump-1', { timestamp: iso(14), metrics: { marker: 1 } });
      await eventuallyStored(server, 'pump-1', 'marker', 1);
      expect(await storedValues(server, 'pump-1', 'seq')).toHaveLength(13);
      expect(await bridgeMessages(server, 'stored')).toBeGreaterThanOrEqual(13);
    });

    it('acknowledges, counts and logs what can never be stored: bad payloads, unknown devices, rejected readings; and keeps going', async () => {
      const badPayloads = await bridgeMessages(server, 'bad_payload');
      await publish('pump-2', 'not json');
      await publish('pump-2', '[]');
      await publish('pump-2', Buffer.from([0xff, 0xfe, 0x7b]).toString('latin1'));
      await publish('ghost', { timestamp: iso(1), metrics: { seq: 1 } });
      await publish('pump-2', { timestamp: 'yesterday', metrics: { seq: 1 } });
      // Another device's id in the payload is refused like a device key's (no existence leak).
      await publish('pump-2', { deviceId: 'pump-1', timestamp: iso(2), metrics: { seq: 99 } });
      await publish('pump-2', { timestamp: iso(3), metrics: { seq: 3 } });
      expect(await eventuallyStored(server, 'pump-2', 'seq', 1)).toEqual([3]);
      // Each was acknowledged (PUBACK): the broker will not redeliver them.
      await eventually(() => (acksTo(broker, clientId).filter((ack) => ack.topic === 'fleet/pump-2/telemetry').length >= 6 ? true : undefined));
      expect(await bridgeMessages(server, 'bad_payload')).toBe(badPayloads + 3);
      expect(await bridgeMessages(server, 'unknown_device')).toBe(2);
      expect(await bridgeMessages(server, 'rejected')).toBe(1);
      const warned = (fragment: string) => logger.lines.filter((line: LoggedLine) => line.level === 'warn' && line.message.includes(fragment));
      expect(warned('bad payload').map((line) => line.fields['reason'])).toEqual(
        expect.arrayContaining([expect.stringMatching(/^the MQTT payload is not valid JSON/), 'the batch is empty']),
      );
      expect(warned('readings rejected').map((line) => line.fields['rejections'])).toEqual(
        expect.arrayContaining([
          [expect.objectContaining({ code: 'UNKNOWN_DEVICE', message: 'no device "ghost" is registered' })],
          [expect.objectContaining({ code: 'INVALID_TIMESTAMP' })],
          [expect.objectContaining({ code: 'UNKNOWN_DEVICE', message: 'readings sent as device "pump-2" may name only that device, not "pump-1"' })],
        ]),
      );
      expect(await storedValues(server, 'pump-1', 'seq')).not.toContain(99);
    });

    it('reconnects after the broker restarts, subscribes again (the broker lost the session) and ingests', async () => {
      const subscriptions = subscribedCount(broker, clientId);
      await broker.restart();
      await eventually(() => (subscribedCount(broker, clientId) > subscriptions ? true : undefined), 30_000, 'the bridge to subscribe again');
      await eventually(() => (device.connected ? true : undefined), 10_000, 'the device to reconnect');
      await publish('pump-2', { timestamp: iso(4), metrics: { seq: 4 } });
      expect(await eventuallyStored(server, 'pump-2', 'seq', 2)).toEqual([3, 4]);
    });
  });

  it('holds the PUBACK while the stream refuses the readings; the broker redelivers them to the restarted service, stored once', async () => {
    const clientId = `bridge-${++bridgeSequence}`;
    const dataDir = newDataDir();
    const logger = recordingLogger();
    let server = await startTestServer(bridgeEnv(broker, clientId), dataDir, logger);
    await server.ok(RegisterDeviceDocument, { input: { id: 'pump-3' } });
    await eventually(() => (subscribedCount(broker, clientId) > 0 ? true : undefined), 15_000, 'the bridge to subscribe');
    const lock = holdWriteLock(path.join(dataDir, 'stream.db'));
    let locked = true;
    try {
      await publish('pump-3', { timestamp: iso(1), metrics: { stalled: 1 } });
      await eventually(
        () => (logger.lines.some((line) => line.message.includes('retrying, not acknowledged')) ? true : undefined),
        30_000,
        'the bridge to retry',
      );
      expect(acksTo(broker, clientId)).toEqual([]);
      // Stopped while retrying: the message stays unacknowledged in the broker's session.
      await server.app.close();
      expect(acksTo(broker, clientId)).toEqual([]);
      lock.release();
      locked = false;
      server = await startTestServer(bridgeEnv(broker, clientId), dataDir);
      expect(await eventuallyStored(server, 'pump-3', 'stalled', 1)).toEqual([1]);
      await eventually(() => (acksTo(broker, clientId).length === 1 ? true : undefined), 10_000, 'the PUBACK');
      await publish('pump-3', { timestamp: iso(2), metrics: { marker: 1 } });
      await eventuallyStored(server, 'pump-3', 'marker', 1);
      expect(await storedValues(server, 'pump-3', 'stalled')).toEqual([1]);
    } finally {
      if (locked) lock.release();
      await server.close();
    }
  }, 90_000);

  describe('over TLS (mqtts)', () => {
    /**
     * Test-only certificates (test/fixtures/mqtt-tls): a CA, and the broker's certificate for
     * IP 127.0.0.1 that it signed, valid until 2126; the CA's key was thrown away.
     */
    const FIXTURES = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'mqtt-tls');
    let tlsBroker: TestBroker;
    beforeAll(async () => {
      tlsBroker = await startTestBroker({ tls: { certFile: path.join(FIXTURES, 'broker.pem'), keyFile: path.join(FIXTURES, 'broker.key') } });
    });
    afterAll(() => tlsBroker.close());

    it('trusts the broker through TELEMETRY_MQTT_BRIDGE_CA_FILE, and ingests', async () => {
      const clientId = `bridge-${++bridgeSequence}`;
      const env = {
        TELEMETRY_MQTT_BRIDGE_URL: tlsBroker.url,
        TELEMETRY_MQTT_BRIDGE_CLIENT_ID: clientId,
        TELEMETRY_MQTT_BRIDGE_CA_FILE: path.join(FIXTURES, 'ca.pem'),
      };
      const server = await startTestServer(env);
      try {
        await server.ok(RegisterDeviceDocument, { input: { id: 'pump-tls' } });
        await eventually(() => (subscribedCount(tlsBroker, clientId) > 0 ? true : undefined), 15_000, 'the bridge to subscribe');
        const publisher = await connectAsync(tlsBroker.url, { clientId: 'tls-device', ca: readFileSync(path.join(FIXTURES, 'ca.pem')) });
        try {
          await publisher.publishAsync('devices/pump-tls/readings', JSON.stringify({ timestamp: iso(1), metrics: { seq: 1 } }), { qos: 1 });
        } finally {
          await publisher.endAsync();
        }
        expect(await eventuallyStored(server, 'pump-tls', 'seq', 1)).toEqual([1]);
      } finally {
        await server.close();
      }
    });

    it('does not connect to a broker whose certificate it cannot verify (no CA given), and says why', async () => {
      const clientId = `bridge-${++bridgeSequence}`;
      const logger = recordingLogger();
      const server = await startTestServer({ TELEMETRY_MQTT_BRIDGE_URL: tlsBroker.url, TELEMETRY_MQTT_BRIDGE_CLIENT_ID: clientId }, newDataDir(), logger);
      try {
        const failure = await eventually(() => logger.lines.find((line) => line.message === 'MQTT bridge connection failed'), 15_000, 'the connection to fail');
        expect((failure.fields['err'] as Error).message).toMatch(/certificate/);
        expect(eventsOf(tlsBroker, 'client').filter((event) => event.clientId === clientId)).toEqual([]);
      } finally {
        await server.close();
      }
    });

    it('stops start-up naming the variable when a PEM file cannot be read', async () => {
      await expect(startTestServer({ TELEMETRY_MQTT_BRIDGE_URL: tlsBroker.url, TELEMETRY_MQTT_BRIDGE_CA_FILE: '/nonexistent/ca.pem' })).rejects.toThrow(
        'TELEMETRY_MQTT_BRIDGE_CA_FILE=/nonexistent/ca.pem: cannot read it (ENOENT)',
      );
    });
  });
});
