import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { print } from 'graphql';
import { ReadingsDocument, RegisterDeviceDocument, type ReadingsQuery } from '../generated/graphql';
import { postGraphQL } from '../support/graphql-post';
import { hasMosquittoClients, logLines, mosquittoBinary, startMosquitto, type Mosquitto } from '../support/mosquitto';
import { eventually, newDataDir, randomKey, startTestServer } from '../support/server';
import { killHard, startServiceProcess, stopGracefully, type ServiceProcess } from '../support/service-process';
import { holdWriteLock } from '../support/write-lock';

const run = promisify(execFile);

/**
 * The bridge (TELEMETRY_MQTT_BRIDGE_URL) against a real Mosquitto 2, configured as the README
 * says (a listener, a password file for the bridge and the devices, no anonymous clients), with
 * devices publishing through Debian's `mosquitto_pub`, as in the README's example.
 * test/integration/mqtt-bridge.test.ts covers the rest of the bridge against aedes.
 */

const BRIDGE = { username: 'telemetry-bridge', password: 'bridge-secret' };
const DEVICE = { username: 'boiler-1', password: 'device-secret' };

const bridgeEnv = (broker: Mosquitto, clientId: string): Record<string, string> => ({
  TELEMETRY_MQTT_BRIDGE_URL: broker.url,
  TELEMETRY_MQTT_BRIDGE_USERNAME: BRIDGE.username,
  TELEMETRY_MQTT_BRIDGE_PASSWORD: BRIDGE.password,
  TELEMETRY_MQTT_BRIDGE_TOPIC: 'fleet/+deviceId/telemetry',
  TELEMETRY_MQTT_BRIDGE_CLIENT_ID: clientId,
});

const reading = (n: number, metric = 'temperature') =>
  JSON.stringify({ timestamp: new Date(Date.now() - 600_000 + n * 1000).toISOString(), metrics: { [metric]: n } });

/** `mosquitto_pub -q 1 -l`: one QoS 1 message per line, as boiler-1; resolves once the broker acknowledged them all. */
async function publish(broker: Mosquitto, messages: readonly string[]): Promise<void> {
  const args = ['-h', '127.0.0.1', '-p', String(broker.port), '-u', DEVICE.username, '-P', DEVICE.password, '-q', '1', '-t', 'fleet/boiler-1/telemetry', '-l'];
  const child = execFile('mosquitto_pub', args);
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.stdin!.end(messages.map((message) => `${message}\n`).join(''));
  expect(await exited).toBe(0);
}

/** The values stored for boiler-1's metric, oldest first (a service started as a process). */
async function storedValues(url: string, key: string, metric: string): Promise<number[]> {
  const body = (await postGraphQL(url, key, print(ReadingsDocument), { deviceId: 'boiler-1', metric, first: 1000, order: 'OLDEST_FIRST' })) as {
    data: ReadingsQuery;
  };
  return body.data.readings.edges.map((edge) => edge.node.value);
}

const storedAtLeast = (url: string, key: string, metric: string, count: number) =>
  eventually(
    async () => {
      const values = await storedValues(url, key, metric);
      return values.length >= count ? values : undefined;
    },
    30_000,
    `${count} ${metric} readings stored`,
  );

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

(mosquittoBinary && hasMosquittoClients ? describe : describe.skip)(
  'MQTT bridge to a real Mosquitto (skipped: mosquitto or mosquitto-clients not installed)',
  () => {
    let broker: Mosquitto;
    beforeAll(async () => {
      broker = await startMosquitto({ [BRIDGE.username]: BRIDGE.password, [DEVICE.username]: DEVICE.password });
    });
    afterAll(() => broker.close());

    it('refuses a client without the password file’s credentials (allow_anonymous false)', async () => {
      const refused = await run('mosquitto_pub', [
        '-h',
        '127.0.0.1',
        '-p',
        String(broker.port),
        '-q',
        '1',
        '-t',
        'fleet/boiler-1/telemetry',
        '-m',
        reading(0),
      ]).then(
        () => 'accepted',
        (error: unknown) => (error as { code?: number }).code,
      );
      expect(refused).toBe(5); // CONNACK 5, not authorised
    });

    it('stores every reading devices publish at QoS 1 with mosquitto_pub exactly once, each acknowledged to Mosquitto once stored', async () => {
      const clientId = 'bridge-mosquitto-1';
      const server = await startTestServer(bridgeEnv(broker, clientId));
      try {
        await server.ok(RegisterDeviceDocument, { input: { id: 'boiler-1' } });
        await broker.waitForLog(new RegExp(`Received SUBSCRIBE from ${clientId}`));
        await publish(
          broker,
          range(1, 20).map((n) => reading(n)),
        );
        expect(await storedAtLeast(server.app.url, server.adminKey, 'temperature', 20)).toEqual(range(1, 20));
        // A message after them is stored after them: once it is, nothing before it is pending.
        await publish(broker, [reading(21, 'marker')]);
        await storedAtLeast(server.app.url, server.adminKey, 'marker', 1);
        expect(await storedValues(server.app.url, server.adminKey, 'temperature')).toEqual(range(1, 20));
        const pubacks = () => logLines(broker.log(), new RegExp(`Received PUBACK from ${clientId}`)).length;
        await eventually(() => (pubacks() >= 21 ? true : undefined), 10_000, 'a PUBACK from the bridge for each message');
        expect(pubacks()).toBe(21);
        // Persistent session (clean session off): Mosquitto logs the CONNECT as c0.
        expect(logLines(broker.log(), new RegExp(`New client connected .* as ${clientId} \\(p2, c0`))).toHaveLength(1);
      } finally {
        await server.close();
      }
    }, 60_000);

    it('kill -9 of the service while Mosquitto holds unacknowledged messages: after a restart every reading is stored once, none lost', async () => {
      const clientId = 'bridge-mosquitto-2';
      const dataDir = newDataDir();
      const adminKey = randomKey();
      const env = { TELEMETRY_DATA_DIR: dataDir, TELEMETRY_ADMIN_KEY: adminKey, ...bridgeEnv(broker, clientId) };
      let service: ServiceProcess = await startServiceProcess(env);
      const lock: { held?: ReturnType<typeof holdWriteLock> | undefined } = {};
      try {
        await postGraphQL(service.url, adminKey, print(RegisterDeviceDocument), { input: { id: 'boiler-1' } });
        await broker.waitForLog(new RegExp(`Received SUBSCRIBE from ${clientId}`));
        // The stream refuses writes (its file locked): the bridge holds the PUBACK and retries.
        lock.held = holdWriteLock(path.join(dataDir, 'stream.db'));
        await publish(
          broker,
          range(1, 5).map((n) => reading(n)),
        );
        await service.waitFor(/retrying, not acknowledged/);
        await broker.waitForLog(new RegExp(`Sending PUBLISH to ${clientId} \\(d0, q1`));
        expect(logLines(broker.log(), new RegExp(`Received PUBACK from ${clientId}`))).toEqual([]);
        await killHard(service);
        // While the service is down, devices go on publishing: Mosquitto queues them in the session.
        await publish(
          broker,
          range(6, 10).map((n) => reading(n)),
        );
        lock.held.release();
        lock.held = undefined;
        service = await startServiceProcess(env);
        // Mosquitto resumes the session and sends the unacknowledged messages again (DUP set).
        await service.waitFor(/"sessionPresent":true/);
        expect(await storedAtLeast(service.url, adminKey, 'temperature', 10)).toEqual(range(1, 10));
        await broker.waitForLog(new RegExp(`Sending PUBLISH to ${clientId} \\(d1, q1`));
        await publish(broker, [reading(11, 'marker')]);
        await storedAtLeast(service.url, adminKey, 'marker', 1);
        expect(await storedValues(service.url, adminKey, 'temperature')).toEqual(range(1, 10));
        expect(await stopGracefully(service)).toBe(0);
      } finally {
        lock.held?.release();
        await killHard(service);
      }
    }, 90_000);
  },
);
