import path from 'node:path';
import { rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { print } from 'graphql';
import { connectAsync, type MqttClient } from 'mqtt';
import { RegisterDeviceDocument } from '../generated/graphql';
import { eventually, newDataDir, randomKey } from '../support/server';
import { killHard, startServiceProcess, stopGracefully, type ServiceProcess } from '../support/service-process';
import { postGraphQL } from '../support/graphql-post';

const MESSAGES = 600;
const IN_FLIGHT = 20;
const KILLS = 3;

/** The service's MQTT URL, from its "started" log line. */
async function mqttUrlOf(service: ServiceProcess): Promise<string> {
  return (await service.waitFor(/"mqttUrl":"(mqtt:\/\/[^"]+)"/))[1]!;
}

/**
 * kill -9 of the service while a device has QoS 1 messages in flight (published, no PUBACK yet),
 * many times; the device sends every message it got no PUBACK for again on its next connection,
 * as an MQTT device does. Every message is stored exactly once.
 */
describe('MQTT crash safety (kill -9 between PUBLISH and PUBACK)', () => {
  it('stores every message exactly once when the device re-sends what was not acknowledged', async () => {
    const dataDir = newDataDir();
    const adminKey = randomKey();
    const env = { TELEMETRY_DATA_DIR: dataDir, TELEMETRY_ADMIN_KEY: adminKey, TELEMETRY_MQTT_PORT: '0' };
    let service = await startServiceProcess(env);
    let mqttUrl = await mqttUrlOf(service);
    const registered = (await postGraphQL(service.url, adminKey, print(RegisterDeviceDocument), { input: { id: 'mq-crash' } })) as {
      data: { registerDevice: { deviceKey: string } };
    };
    const deviceKey = registered.data.registerDevice.deviceKey;

    const base = Date.now() - 3_600_000;
    const payloadOf = (n: number) => JSON.stringify({ eventId: `mq-crash-${n}`, timestamp: base + n, metrics: { value: n } });
    const unacknowledged = new Set<number>(Array.from({ length: MESSAGES }, (_, n) => n));
    const acknowledged = new Set<number>();
    let resent = 0;
    const sent = new Set<number>();

    /** One connection's life: publish (a window of IN_FLIGHT at a time) until done or disconnected. */
    const session = async (client: MqttClient) => {
      const lost = new Promise<void>((resolve) => client.once('close', () => resolve()));
      const queue = [...unacknowledged];
      const worker = async () => {
        for (let n = queue.shift(); n !== undefined; n = queue.shift()) {
          if (sent.has(n)) resent++;
          sent.add(n);
          const acked = await Promise.race([
            client.publishAsync('devices/mq-crash/readings', payloadOf(n), { qos: 1 }).then(() => true),
            lost.then(() => false),
          ]);
          if (!acked) return;
          unacknowledged.delete(n);
          acknowledged.add(n);
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    };
    let running = true as boolean;
    const device = (async () => {
      while (running && unacknowledged.size > 0) {
        let client: MqttClient | undefined;
        try {
          client = await connectAsync(mqttUrl, { username: 'mq-crash', password: deviceKey, reconnectPeriod: 0, connectTimeout: 5_000 });
          await session(client);
        } catch {
          // The service is down or restarting: try again (on the URL of the next incarnation).
          await new Promise((resolve) => setTimeout(resolve, 20));
        } finally {
          client?.end(true);
        }
      }
    })();

    for (let kill = 0; kill < KILLS; kill++) {
      const before = acknowledged.size;
      await eventually(() => (acknowledged.size > before + 50 ? true : undefined), 30_000, 'messages flowing');
      await killHard(service);
      service = await startServiceProcess(env);
      mqttUrl = await mqttUrlOf(service);
    }
    await eventually(() => (unacknowledged.size === 0 ? true : undefined), 60_000, 'every message acknowledged');
    running = false;
    await device;

    const storeDb = new Database(path.join(dataDir, 'telemetry.db'), { readonly: true });
    const count = () => (storeDb.prepare('SELECT COUNT(*) AS n FROM reading_events').get() as { n: number }).n;
    await eventually(() => (count() >= MESSAGES ? true : undefined), 30_000, 'the consumer to apply every message');
    expect(await stopGracefully(service)).toBe(0);

    const stored = storeDb.prepare('SELECT event_id, COUNT(*) AS n FROM reading_events GROUP BY event_id').all() as { event_id: string; n: number }[];
    expect(stored.filter((row) => row.n !== 1)).toEqual([]);
    expect(new Set(stored.map((row) => row.event_id))).toEqual(new Set(Array.from({ length: MESSAGES }, (_, n) => `mq-crash-${n}`)));
    expect((storeDb.prepare('SELECT COUNT(*) AS n FROM samples').get() as { n: number }).n).toBe(MESSAGES);
    // The kills fell between PUBLISH and PUBACK: the device had to send messages again.
    expect(resent).toBeGreaterThan(0);
    storeDb.close();
    rmSync(dataDir, { recursive: true, force: true });
  }, 180_000);
});
