// A Node.js client of the telemetry API: registers a device, sends readings with the device's
// own key, and follows them live with `readingAdded`. Halfway through it drops its connection
// on purpose and resumes from the last cursor it received: every reading sent while it was
// away still arrives, once and in order, which it checks before exiting.
//
//   TELEMETRY_ADMIN_KEY=tk_... node examples/node/client.mjs
//
// Settings (environment): TELEMETRY_URL (http://127.0.0.1:4000), DEVICE_ID (node-example),
// READINGS (20), INTERVAL_MS (500). Needs Node.js 20 (global fetch) and the packages graphql-ws
// and ws (both dependencies of this repository).
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const baseUrl = process.env.TELEMETRY_URL ?? 'http://127.0.0.1:4000';
const key = process.env.TELEMETRY_ADMIN_KEY;
const deviceId = process.env.DEVICE_ID ?? 'node-example';
const total = Number(process.env.READINGS ?? 20);
const intervalMs = Number(process.env.INTERVAL_MS ?? 500);
if (!key) {
  console.error('set TELEMETRY_ADMIN_KEY to the admin key the service printed on first start');
  process.exit(2);
}
const httpUrl = `${baseUrl}/graphql`;
const wsUrl = httpUrl.replace(/^http/, 'ws');

/** One GraphQL request over HTTP; throws on any error. */
async function graphql(authKey, query, variables) {
  const response = await fetch(httpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${authKey}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (!body.errors && !body.data) throw new Error(`${httpUrl} answered HTTP ${response.status} without a GraphQL result: is TELEMETRY_URL the service's base URL (no /graphql)?`);
  if (body.errors) {
    const error = new Error(body.errors.map((e) => `${e.extensions?.code}: ${e.message}`).join('; '));
    error.code = body.errors[0].extensions?.code;
    throw error;
  }
  return body.data;
}

/** Registers the device, or gives it a new key when it exists already (keys are shown once). */
async function deviceKeyFor(id) {
  try {
    const data = await graphql(key, 'mutation($id: ID!, $name: String!) { registerDevice(input: { id: $id, name: $name }) { deviceKey } }', { id, name: id });
    return data.registerDevice.deviceKey;
  } catch (error) {
    if (error.code !== 'ALREADY_EXISTS') throw error;
    const data = await graphql(key, 'mutation($id: ID!) { rotateDeviceKey(deviceId: $id) { secret } }', { id });
    return data.rotateDeviceKey.secret;
  }
}

const deviceKey = await deviceKeyFor(deviceId);
const sent = []; // timestamps (ISO) of the readings the service acknowledged, in order
const received = []; // timestamps of the readings the subscription delivered
let dropped = false;

function show(reading) {
  received.push(reading.timestamp);
  console.log(reading.timestamp, reading.metrics.map((m) => `${m.name}=${m.value}`).join(' '));
  if (received.length === 3 && !dropped) {
    dropped = true;
    console.log('dropping the connection; the readings sent meanwhile arrive when it resumes');
    client.terminate(); // as a network failure would: the subscription ends with an error
  }
}

const client = createClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${key}` }, retryAttempts: 0 });
let cursor; // the last event's cursor: where to resume
let stopped = false;
function follow() {
  if (stopped) return;
  client.subscribe(
    { query: 'subscription($deviceId: ID!, $after: String) { readingAdded(deviceId: $deviceId, after: $after) { timestamp metrics { name value } cursor } }', variables: { deviceId, after: cursor } },
    {
      next: ({ data }) => {
        cursor = data.readingAdded.cursor;
        show(data.readingAdded);
      },
      error: (error) => {
        // A refusal that the same call cannot get past ends the client: the key refused or revoked (the
        // server closes the connection with 4401 or 4403), a forbidden device, an expired cursor. A dropped
        // connection or a retryable end (SLOW_SUBSCRIBER) subscribes again after the last cursor.
        if (error?.code === 4401 || error?.code === 4403) {
          console.error(`connection refused: ${error.code} ${error.reason}: check the key (TELEMETRY_ADMIN_KEY)`);
          process.exit(1);
        }
        const refusal = Array.isArray(error) ? error.find((e) => e.extensions?.retryable === false) : undefined;
        if (refusal) {
          console.error(`subscription refused: ${refusal.extensions.code}: ${refusal.message}`);
          process.exit(1);
        }
        setTimeout(follow, 1000);
      },
      complete: () => setTimeout(follow, 1000),
    },
  );
}
follow();

// The device: one reading per interval, timestamps one second apart in the recent past.
const start = Date.now() - total * 10_000 - 60_000;
// It goes on past READINGS until the drop has happened (the subscription may start late).
for (let i = 0; i < total || (!dropped && i < total * 10); i++) {
  const timestamp = new Date(start + i * 1000).toISOString();
  const reading = { deviceId, timestamp, metrics: [{ name: 'temperature', value: 20 + Math.sin(i / 3) }] };
  await graphql(deviceKey, 'mutation($r: ReadingInput!) { ingestReading(reading: $r) { acceptedCount rejected { code message } } }', { r: reading });
  sent.push(timestamp);
  await new Promise((resolve) => setTimeout(resolve, intervalMs));
}

// Wait for the last reading, then check: everything from the first one received on arrived once, in order.
const deadline = Date.now() + 30_000;
while (received.at(-1) !== sent.at(-1) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
stopped = true;
await client.dispose();
const expected = sent.slice(sent.indexOf(received[0]));
if (!dropped || JSON.stringify(received) !== JSON.stringify(expected)) {
  console.error(`FAILED: sent ${JSON.stringify(expected)}, received ${JSON.stringify(received)}`);
  process.exit(1);
}
console.log(`ok: ${received.length} readings received in order, no gap across the dropped connection`);
