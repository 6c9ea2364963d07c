/**
 * Fleet simulator: registers devices and sends readings through the public GraphQL API, so a
 * newcomer sees data flowing. Usage:
 *
 *   npm run simulate -- --devices 50 --rate 10 [--duration 60] [--anomalies] [--url http://127.0.0.1:4000/graphql] [--key <admin key>] [--mqtt [--mqtt-url mqtt://127.0.0.1:1883]]
 *
 * The signals are a random walk that the default detection rules leave alone; --anomalies
 * injects spikes, stuck values and silences into every fifth device (simulated-fleet.ts).
 * --rate is readings per second per device. The key defaults to $TELEMETRY_ADMIN_KEY. Like a
 * device, it rides out restarts of the service: a batch that fails because the service is away
 * is sent again, with backoff, until it is accepted (readings are keyed by device, metric and
 * timestamp, so a batch stored before its answer was lost is not stored twice).
 */
import { parseArgs } from 'node:util';
import { backoffDelay, type RetryPolicy } from '../domain/retry';
import { connectMqttFleet, type MqttFleet } from './mqtt-fleet';
import { FAULT_RULE, HEARTBEAT_TIMEOUT_SECONDS, faultAt, faulty, isFaulty, newDevice, walk, type SimulatedDevice } from './simulated-fleet';

const HELP = `usage: npm run simulate -- [--devices N] [--rate R] [--duration S] [--anomalies] [--url URL] [--key KEY] [--mqtt [--mqtt-url URL]]

  --devices N    devices to register and simulate (default 10)
  --rate R       readings per second per device (default 1)
  --duration S   stop after S seconds (default: run until Ctrl-C)
  --anomalies    every fifth device (sim-001, sim-006, ...) gets a spike, a stuck value and a
                 silence each minute, from 25 s on: ZSCORE, RATE_OF_CHANGE, THRESHOLD and
                 SILENCE anomalies within a minute (sets a rule and a ${HEARTBEAT_TIMEOUT_SECONDS} s
                 heartbeat timeout on those devices)
  --url URL      the service (http://127.0.0.1:4000) or its GraphQL endpoint (…/graphql); default
                 http://127.0.0.1:$PORT/graphql, PORT defaulting to 4000
  --key KEY      admin API key (default: $TELEMETRY_ADMIN_KEY)
  --mqtt         devices send their readings over MQTT (QoS 1), each with its own device key,
                 instead of GraphQL (devices are still registered over GraphQL)
  --mqtt-url URL the built-in broker (default mqtt://127.0.0.1:1883)`;

class SimulatorError extends Error {}

/**
 * A failure a device rides out: the service restarting (connection refused or reset), a proxy
 * answering 5xx, or an error the API marks retryable (its stream unavailable).
 */
class TransientError extends Error {}

/** Backoff between attempts while the service is away: full jitter, at most 5 s apart. */
const RECONNECT: RetryPolicy = { initialDelayMs: 100, maxDelayMs: 5000, multiplier: 2 };

/** Whether the service has answered once: until then a failure to connect is a setup mistake, reported at once. */
let reachedOnce = false;

/**
 * The GraphQL endpoint of --url: the service's base address (what export, import and the
 * examples take) gets /graphql; any other path is used as given.
 */
function graphqlEndpoint(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SimulatorError(`--url ${url} is not a URL (e.g. http://127.0.0.1:4000)`);
  }
  if (parsed.pathname === '/' || parsed.pathname === '') parsed.pathname = '/graphql';
  return parsed.toString();
}

async function graphql<T>(url: string, key: string, query: string, variables: object): Promise<T> {
  let lostAt: number | undefined;
  for (let attempt = 0; ; attempt++) {
    let result: Awaited<ReturnType<typeof graphqlOnce>>;
    try {
      result = await graphqlOnce(url, key, query, variables);
    } catch (error) {
      if (!(error instanceof TransientError)) throw error;
      if (!reachedOnce) throw new SimulatorError(`cannot reach ${url} (${error.message}); is the service running (npm start)?`);
      if (lostAt === undefined) {
        lostAt = Date.now();
        console.error(`${new Date().toISOString()}  service unavailable (${error.message}); retrying with backoff`);
      }
      await sleep(backoffDelay(RECONNECT, Math.min(attempt, 16)));
      continue;
    }
    reachedOnce = true;
    if (lostAt !== undefined) {
      console.error(`${new Date().toISOString()}  service back after ${((Date.now() - lostAt) / 1000).toFixed(1)} s; carrying on`);
      lostAt = undefined;
    }
    if ('retryAfterSeconds' in result) await sleep(result.retryAfterSeconds * 1000);
    // The answer to `query`, whose shape the caller states as T.
    else return result.data as T;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One request; over the key's rate it says how long to wait instead of failing. */
async function graphqlOnce(url: string, key: string, query: string, variables: object): Promise<{ data: unknown } | { retryAfterSeconds: number }> {
  let response: Response;
  let body: { data?: unknown; errors?: { message: string; extensions?: { code?: string; retryable?: boolean; retryAfterSeconds?: number } }[] };
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query, variables }),
    });
    body = (await response.json()) as typeof body;
  } catch (error) {
    // Refused, reset, or cut off in the middle of the answer: the service is (re)starting.
    const cause = (error as Error).cause as NodeJS.ErrnoException | undefined;
    throw new TransientError(cause?.code ?? cause?.message ?? (error as Error).message);
  }
  if (body.errors?.length) {
    const error = body.errors[0]!;
    if (error.extensions?.code === 'RATE_LIMITED') return { retryAfterSeconds: error.extensions.retryAfterSeconds ?? 1 };
    if (error.extensions?.code === 'UNAUTHENTICATED')
      throw new SimulatorError('the API key was refused: pass --key or export TELEMETRY_ADMIN_KEY (printed by npm start on first run)');
    if (error.extensions?.retryable) throw new TransientError(`${error.extensions.code ?? 'ERROR'}: ${error.message}`);
    throw new SimulatorError(`${error.extensions?.code ?? 'ERROR'}: ${error.message}`);
  }
  if (response.status >= 500 || !body.data) throw new TransientError(`HTTP ${response.status}`);
  return { data: body.data };
}

const REGISTER = 'mutation($input: RegisterDeviceInput!) { registerDevice(input: $input) { device { id } deviceKey } }';
const ROTATE = 'mutation($id: ID!) { rotateDeviceKey(deviceId: $id) { secret } }';
const SET_RULE = 'mutation($input: AnomalyRuleInput!) { setAnomalyRule(input: $input) { id } }';
const SET_HEARTBEAT = 'mutation($id: ID!, $seconds: Int) { setHeartbeatTimeout(deviceId: $id, seconds: $seconds) { id } }';
const INGEST = 'mutation($readings: [ReadingInput!]!) { ingestReadings(readings: $readings) { acceptedCount rejectedCount rejected { index code message } } }';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      devices: { type: 'string', default: '10' },
      rate: { type: 'string', default: '1' },
      duration: { type: 'string' },
      anomalies: { type: 'boolean', default: false },
      url: { type: 'string', default: `http://127.0.0.1:${process.env['PORT'] ?? '4000'}/graphql` },
      key: { type: 'string', default: process.env['TELEMETRY_ADMIN_KEY'] },
      mqtt: { type: 'boolean', default: false },
      'mqtt-url': { type: 'string', default: 'mqtt://127.0.0.1:1883' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const count = Number(values.devices);
  const rate = Number(values.rate);
  const duration = values.duration === undefined ? Number.POSITIVE_INFINITY : Number(values.duration);
  if (!Number.isInteger(count) || count < 1 || count > 100_000) throw new SimulatorError('--devices must be an integer from 1 to 100000');
  if (!(rate > 0 && rate <= 1000)) throw new SimulatorError('--rate must be a number of readings per second per device, above 0 and at most 1000');
  if (!(duration > 0)) throw new SimulatorError('--duration must be a positive number of seconds');
  if (!values.key) throw new SimulatorError('no API key: pass --key or export TELEMETRY_ADMIN_KEY (printed by npm start on first run)');
  const { key } = values as { key: string };
  const url = graphqlEndpoint(values.url);

  const devices: SimulatedDevice[] = [];
  // Each device's key, for MQTT: a device registered by an earlier run gets a new one.
  const deviceKeys = new Map<string, string>();
  for (let i = 1; i <= count; i++) {
    const id = `sim-${String(i).padStart(3, '0')}`;
    try {
      const registered = await graphql<{ registerDevice: { deviceKey: string } }>(url, key, REGISTER, {
        input: { id, name: `Simulated sensor ${i}`, tags: ['simulated', i % 2 ? 'floor-1' : 'floor-2'] },
      });
      deviceKeys.set(id, registered.registerDevice.deviceKey);
    } catch (error) {
      if (!(error instanceof SimulatorError && error.message.startsWith('ALREADY_EXISTS'))) throw error;
      if (values.mqtt) deviceKeys.set(id, (await graphql<{ rotateDeviceKey: { secret: string } }>(url, key, ROTATE, { id })).rotateDeviceKey.secret);
    }
    if (values.anomalies && isFaulty(i - 1)) {
      await graphql(url, key, SET_HEARTBEAT, { id, seconds: HEARTBEAT_TIMEOUT_SECONDS });
      await graphql(url, key, SET_RULE, { input: { ...FAULT_RULE, deviceId: id } });
    }
    devices.push(newDevice(id, Math.random));
  }
  if (values.anomalies) {
    console.log(`injecting faults into every fifth device (sim-001, sim-006, ...): spike, stuck value and silence each minute from 25 s on`);
  }
  let fleet: MqttFleet | undefined;
  if (values.mqtt) {
    try {
      fleet = await connectMqttFleet(values['mqtt-url'], deviceKeys);
    } catch (error) {
      throw new SimulatorError((error as Error).message, { cause: error });
    }
  }
  const target = fleet ? `${values['mqtt-url']} (MQTT, QoS 1)` : url;
  console.log(`registered ${count} devices (sim-001 ... sim-${String(count).padStart(3, '0')}); sending ${rate} reading(s)/s per device to ${target}`);
  console.log(`watch one: subscription { readingAdded(deviceId: "sim-001") { timestamp metrics { name value } cursor } }`);

  const tickMs = 100;
  const started = Date.now();
  let owed = 0;
  let sent = 0;
  let turn = 0;
  let rejected = 0;
  let lastReport = started;
  while (Date.now() - started < duration * 1000) {
    owed += (count * rate * tickMs) / 1000;
    const batchSize = Math.floor(owed);
    owed -= batchSize;
    const now = Date.now();
    const fault = values.anomalies ? faultAt((now - started) / 1000) : null;
    const readings = Array.from({ length: batchSize }, (_, i) => {
      const index = (turn + i) % devices.length;
      const device = devices[index]!;
      // A device sending several readings in one tick gets distinct milliseconds: readings are
      // keyed by (device, metric, timestamp), so equal timestamps would be stored once.
      const timestamp = now + Math.floor(i / devices.length);
      const { temperature, humidity } = walk(device, Math.random);
      const sentTemperature = isFaulty(index) ? faulty(fault, temperature) : temperature;
      if (sentTemperature === undefined) return undefined;
      return {
        deviceId: device.id,
        timestamp: new Date(timestamp).toISOString(),
        metrics: [
          { name: 'temperature', value: sentTemperature },
          { name: 'humidity', value: humidity },
        ],
      };
    }).filter((reading) => reading !== undefined);
    turn += batchSize;
    if (fleet) {
      sent += await publishByDevice(fleet, readings);
      rejected = fleet.rejected;
    } else
      for (let offset = 0; offset < readings.length; offset += 500) {
        const result = await graphql<{ ingestReadings: { acceptedCount: number; rejectedCount: number } }>(url, key, INGEST, {
          readings: readings.slice(offset, offset + 500),
        });
        sent += result.ingestReadings.acceptedCount;
        rejected += result.ingestReadings.rejectedCount;
      }
    if (Date.now() - lastReport >= 5000) {
      lastReport = Date.now();
      console.log(`${new Date().toISOString()}  ${sent} readings accepted${rejected ? `, ${rejected} rejected` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, tickMs - (Date.now() - now))));
  }
  await fleet?.close();
  if (fleet) rejected = fleet.rejected;
  // Over MQTT a PUBACK means the message was handled: refused readings are reported apart.
  console.log(`done: ${sent - rejected} readings accepted, ${rejected} rejected`);
}

/** One message per device per tick (its readings as an array, the topic naming the device); resolves once all are acknowledged. */
async function publishByDevice(fleet: MqttFleet, readings: readonly { deviceId: string }[]): Promise<number> {
  const byDevice = new Map<string, object[]>();
  for (const { deviceId, ...reading } of readings) byDevice.set(deviceId, [...(byDevice.get(deviceId) ?? []), reading]);
  await Promise.all([...byDevice].map(([deviceId, items]) => fleet.publish(deviceId, items)));
  return readings.length;
}

main().catch((error: unknown) => {
  console.error(error instanceof SimulatorError ? `simulate: ${error.message}` : error);
  process.exit(1);
});
