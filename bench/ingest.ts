/**
 * Ingest benchmark: drives the running service through its public API only.
 *
 *   npm run bench -- [--clients 8] [--batch 500] [--seconds 15] [--devices 100]
 *                    [--lag-rate 20000] [--lag-seconds 10] [--url URL --key KEY]
 *                    [--expired-share 0]
 *                    [--mqtt-connections 100] [--mqtt-batch 10] [--mqtt-url URL]
 *
 * Phase 1 (throughput): `clients` concurrent loops send `ingestReadings` batches as fast as
 * the service acknowledges them; reports readings/s accepted, and readings/s persisted (until
 * the consumer has applied everything that was accepted).
 * Phase 2 (lag): a paced load of `lag-rate` readings/s with a graphql-ws subscriber on every
 * device; reports the delay from ingest acknowledgement to subscriber receipt (p50/p99).
 * Phase 3 (MQTT): `mqtt-connections` devices, each on its own MQTT connection with its own
 * device key, publish messages of `mqtt-batch` readings with QoS 1 (a window of 10 unacknowledged
 * per connection) for `seconds`; reports readings/s acknowledged (PUBACK: in the stream).
 * `--mqtt-connections 0` skips it. Also reports the service's peak RSS. Without --url it starts its own service on a fresh
 * data directory (the embedded defaults, fsync on every stream commit).
 *
 * `--expired-share 0.5` dates that share of the readings two days back: with
 * `TELEMETRY_RETENTION_RAW_DAYS=1 TELEMETRY_RETENTION_INTERVAL_SECONDS=1` in the environment,
 * retention then deletes them while the load runs (the same load with a long interval measures
 * ingest without retention at work).
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { connectAsync, type MqttClient } from 'mqtt';
import { appliedReadings } from './api';
import { startOwnService, type OwnService } from './service';

const { values: args } = parseArgs({
  options: {
    clients: { type: 'string', default: '8' },
    batch: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '15' },
    devices: { type: 'string', default: '100' },
    'lag-rate': { type: 'string', default: '20000' },
    'lag-seconds': { type: 'string', default: '10' },
    url: { type: 'string' },
    key: { type: 'string' },
    'expired-share': { type: 'string', default: '0' },
    'mqtt-connections': { type: 'string', default: '100' },
    'mqtt-batch': { type: 'string', default: '10' },
    'mqtt-url': { type: 'string' },
  },
});
const CLIENTS = Number(args.clients);
const BATCH = Number(args.batch);
const SECONDS = Number(args.seconds);
const DEVICES = Array.from({ length: Number(args.devices) }, (_, i) => `bench-${String(i).padStart(4, '0')}`);
const LAG_RATE = Number(args['lag-rate']);
const LAG_SECONDS = Number(args['lag-seconds']);
const MQTT_CONNECTIONS = Math.min(Number(args['mqtt-connections']), DEVICES.length);
const MQTT_BATCH = Number(args['mqtt-batch']);
/** Unacknowledged QoS 1 messages per connection. */
const MQTT_WINDOW = 10;

/** Phase 2 needs each event id to match acknowledgements with deliveries. */
const INGEST = `mutation($r: [ReadingInput!]!) { ingestReadings(readings: $r) { acceptedCount rejectedCount accepted { eventId } } }`;
/** Phase 1 asks only for the counts, as a fire-and-forget device gateway would. */
const INGEST_COUNTS = `mutation($r: [ReadingInput!]!) { ingestReadings(readings: $r) { acceptedCount rejectedCount } }`;

const EXPIRED_SHARE = Number(args['expired-share']);

let clock = Date.now() - 3_600_000;
let expiredClock = Date.now() - 2 * 86_400_000;
function makeBatch(size: number): object[] {
  const expired = Math.round(size * EXPIRED_SHARE);
  return Array.from({ length: size }, (_, i) => ({
    deviceId: DEVICES[i % DEVICES.length],
    timestamp: i < expired ? expiredClock++ : clock++,
    metrics: [{ name: 'temperature', value: 20 + Math.random() * 5 }],
  }));
}

async function post(url: string, key: string, body: string): Promise<{ data?: any; errors?: unknown[] }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body });
  return (await response.json()) as { data?: any; errors?: unknown[] };
}

const gql = (url: string, key: string, query: string, variables: object) => post(url, key, JSON.stringify({ query, variables }));

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

async function throughputPhase(url: string, key: string) {
  const appliedBefore = await appliedReadings(url);
  // Request bodies are built before the clock starts: the benchmark measures the service,
  // and this client shares the machine's two cores with it.
  const bodies: string[] = [];
  const prepared = Math.ceil((SECONDS * 120_000) / BATCH);
  for (let i = 0; i < prepared; i++) bodies.push(JSON.stringify({ query: INGEST_COUNTS, variables: { r: makeBatch(BATCH) } }));
  let accepted = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  const latencies: number[] = [];
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (performance.now() < deadline && bodies.length > 0) {
        const t0 = performance.now();
        const result = await post(url, key, bodies.pop()!);
        latencies.push(performance.now() - t0);
        if (result.errors) throw new Error(JSON.stringify(result.errors));
        accepted += (result.data as { ingestReadings: { acceptedCount: number } }).ingestReadings.acceptedCount;
      }
    }),
  );
  const acceptSeconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const clientCpu = (cpu.user + cpu.system) / 1e6 / acceptSeconds;
  while ((await appliedReadings(url)) - appliedBefore < accepted) await new Promise((resolve) => setTimeout(resolve, 50));
  const persistSeconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { accepted, acceptSeconds, persistSeconds, clientCpu, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

async function lagPhase(url: string, key: string) {
  const acked = new Map<string, number>();
  const early = new Map<string, number>();
  const lags: number[] = [];
  const client = createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${key}` },
    retryAttempts: 0,
  });
  let received = 0;
  const unsubscribe = client.subscribe(
    { query: 'subscription($d: [ID!]) { readingAdded(deviceIds: $d) { eventId } }', variables: { d: DEVICES } },
    {
      next: (value) => {
        const now = performance.now();
        received++;
        const id = (value.data as { readingAdded: { eventId: string } }).readingAdded.eventId;
        const ackedAt = acked.get(id);
        if (ackedAt === undefined) early.set(id, now);
        else lags.push(now - ackedAt);
      },
      error: (error) => console.error('subscription error', error),
      complete: () => {},
    },
  );
  await new Promise((resolve) => setTimeout(resolve, 500));
  const tickMs = 50;
  const perTick = Math.max(1, Math.round((LAG_RATE * tickMs) / 1000));
  let sent = 0;
  const start = performance.now();
  const inflight: Promise<void>[] = [];
  for (let tick = 0; performance.now() - start < LAG_SECONDS * 1000; tick++) {
    const due = start + tick * tickMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    for (let remaining = perTick; remaining > 0; remaining -= BATCH) {
      const batch = makeBatch(Math.min(BATCH, remaining));
      sent += batch.length;
      inflight.push(
        gql(url, key, INGEST, { r: batch }).then((result) => {
          if (result.errors) throw new Error(`ingest failed: ${JSON.stringify(result.errors)}`);
          const now = performance.now();
          for (const { eventId } of result.data.ingestReadings.accepted as { eventId: string }[]) {
            acked.set(eventId, now);
            // Delivered before the HTTP response reached the client: zero lag from the client's view.
            if (early.has(eventId)) lags.push(0);
          }
        }),
      );
    }
  }
  const sendSeconds = (performance.now() - start) / 1000;
  await Promise.all(inflight);
  const deadline = performance.now() + 10_000;
  while (received < sent && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  unsubscribe();
  await client.dispose();
  lags.sort((a, b) => a - b);
  return { sent, received, rate: sent / sendSeconds, p50: percentile(lags, 50), p99: percentile(lags, 99), max: lags.at(-1) ?? Number.NaN };
}

async function mqttPhase(mqttUrl: string, deviceKeys: ReadonlyMap<string, string>) {
  const devices = DEVICES.slice(0, MQTT_CONNECTIONS);
  const clients: MqttClient[] = [];
  for (const id of devices) clients.push(await connectAsync(mqttUrl, { username: id, password: deviceKeys.get(id)!, reconnectPeriod: 0 }));
  let acknowledged = 0;
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  await Promise.all(
    clients.flatMap((client, index) =>
      Array.from({ length: MQTT_WINDOW }, async () => {
        const topic = `devices/${devices[index]!}/readings`;
        while (performance.now() < deadline) {
          const payload = JSON.stringify(
            Array.from({ length: MQTT_BATCH }, () => ({ timestamp: clock++, metrics: [{ name: 'temperature', value: 20 + Math.random() * 5 }] })),
          );
          const t0 = performance.now();
          await client.publishAsync(topic, payload, { qos: 1 });
          latencies.push(performance.now() - t0);
          acknowledged += MQTT_BATCH;
        }
      }),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(clients.map((client) => client.endAsync()));
  latencies.sort((a, b) => a - b);
  return { acknowledged, seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

async function main(): Promise<void> {
  let own: OwnService | undefined;
  let url = args.url;
  let key = args.key ?? process.env['TELEMETRY_ADMIN_KEY'];
  if (!url) {
    own = await startOwnService();
    url = own.service.url;
    key = own.key;
  }
  if (!key) throw new Error('pass --key or set TELEMETRY_ADMIN_KEY when benchmarking a running service');
  // Each device's key, for the MQTT phase (a device registered by an earlier run gets a new one).
  const deviceKeys = new Map<string, string>();
  for (const id of DEVICES) {
    const registered = await gql(url, key, 'mutation($id: ID!) { registerDevice(input: { id: $id }) { deviceKey } }', { id });
    const deviceKey = (registered.data as { registerDevice: { deviceKey: string } } | null)?.registerDevice.deviceKey;
    if (deviceKey) deviceKeys.set(id, deviceKey);
    else if (MQTT_CONNECTIONS > 0) {
      const rotated = await gql(url, key, 'mutation($id: ID!) { rotateDeviceKey(deviceId: $id) { secret } }', { id });
      deviceKeys.set(id, (rotated.data as { rotateDeviceKey: { secret: string } }).rotateDeviceKey.secret);
    }
  }

  console.log(`ingest benchmark: ${CLIENTS} clients x batches of ${BATCH}, ${SECONDS}s; ${DEVICES.length} devices; ${url}`);
  const throughput = await throughputPhase(url, key);
  console.log(
    `throughput: ${Math.round(throughput.accepted / throughput.acceptSeconds).toLocaleString('en')} readings/s accepted ` +
      `(${throughput.accepted.toLocaleString('en')} in ${throughput.acceptSeconds.toFixed(1)}s; request p50 ${throughput.p50.toFixed(1)} ms, p99 ${throughput.p99.toFixed(1)} ms), ` +
      `${Math.round(throughput.accepted / throughput.persistSeconds).toLocaleString('en')} readings/s persisted; ` +
      `benchmark client used ${(throughput.clientCpu * 100).toFixed(0)}% of a core`,
  );
  const lag = await lagPhase(url, key);
  console.log(
    `lag at ${Math.round(lag.rate).toLocaleString('en')} readings/s: ack -> subscriber p50 ${lag.p50.toFixed(1)} ms, p99 ${lag.p99.toFixed(1)} ms, max ${lag.max.toFixed(1)} ms ` +
      `(${lag.received.toLocaleString('en')}/${lag.sent.toLocaleString('en')} received)`,
  );
  const mqttUrl = args['mqtt-url'] ?? own?.service.mqttUrl;
  if (MQTT_CONNECTIONS > 0 && mqttUrl) {
    const mqtt = await mqttPhase(mqttUrl, deviceKeys);
    console.log(
      `mqtt: ${Math.round(mqtt.acknowledged / mqtt.seconds).toLocaleString('en')} readings/s acknowledged over QoS 1 ` +
        `(${MQTT_CONNECTIONS} connections x ${MQTT_WINDOW} in flight, ${MQTT_BATCH} readings per message; PUBACK p50 ${mqtt.p50.toFixed(1)} ms, p99 ${mqtt.p99.toFixed(1)} ms)`,
    );
  } else if (MQTT_CONNECTIONS > 0) console.log('mqtt: skipped (pass --mqtt-url for a running service)');
  if (own) {
    console.log(`service peak RSS: ${own.service.peakRssMiB().toFixed(0)} MiB`);
    await own.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
