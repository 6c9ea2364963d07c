// A device that speaks MQTT: connects to the service's built-in broker as itself (username =
// its id, password = the device key registerDevice returned), listens on its errors topic, and
// publishes readings with QoS 1. A PUBACK means the service holds the reading durably; a reading
// whose PUBACK never came (the connection dropped) is sent again with the same eventId, which
// the service stores once. It also takes commands (sendCommand): `ping`, and `set-interval`
// with `{"ms": …}`; any other is answered FAILED. Uses the `mqtt` package (npm install mqtt).
//
//   DEVICE_KEY=tk_... DEVICE_ID=boiler-1 node examples/mqtt-device/device.mjs
//
// Settings (environment): MQTT_URL (mqtt://127.0.0.1:1883; mqtts://… for TLS, ws://…/mqtt over
// WebSocket), READINGS (10), INTERVAL_MS (1000), COMMANDS (0: how many commands to wait for and
// answer after the readings before it exits).
import mqtt from 'mqtt';

const { DEVICE_KEY, DEVICE_ID } = process.env;
if (!DEVICE_KEY || !DEVICE_ID) {
  console.error('set DEVICE_KEY to the device key registerDevice returned, and DEVICE_ID to its device');
  process.exit(2);
}
const url = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883';
const readings = Number(process.env.READINGS ?? 10);
let intervalMs = Number(process.env.INTERVAL_MS ?? 1000);
const commandsToAnswer = Number(process.env.COMMANDS ?? 0);

const client = await mqtt.connectAsync(url, { username: DEVICE_ID, password: DEVICE_KEY, clientId: `${DEVICE_ID}-example` }).catch((error) => {
  // CONNACK 4: wrong id or key; 5: not a device key.
  console.error(`cannot connect to ${url}: ${error.message}`);
  process.exit(1);
});
let refused = 0;
let answered = 0;
const commandsPrefix = `devices/${DEVICE_ID}/commands/`;
client.on('message', (topic, payload) => {
  if (topic.startsWith(commandsPrefix)) void answer(topic.slice(commandsPrefix.length), JSON.parse(payload.toString()));
  else {
    refused++;
    console.log(`refused (${topic}): ${payload}`);
  }
});
await client.subscribeAsync(`devices/${DEVICE_ID}/errors`, { qos: 1 });

// A command arrives as {"commandId", "payload"} on devices/{id}/commands/{name}; the answer goes to
// devices/{id}/commands/{commandId}/response. The service may send a command twice (a connection
// lost before its PUBACK): act once per commandId.
const done = new Set();
async function answer(name, { commandId, payload }) {
  if (done.has(commandId)) return;
  done.add(commandId);
  let response;
  if (name === 'ping') response = { status: 'SUCCEEDED', result: { pong: true } };
  else if (name === 'set-interval' && Number.isInteger(payload?.ms) && payload.ms >= 0) {
    intervalMs = payload.ms;
    response = { status: 'SUCCEEDED', result: { intervalMs } };
  } else response = { status: 'FAILED', result: `unknown command ${name}` };
  await client.publishAsync(`${commandsPrefix}${commandId}/response`, JSON.stringify(response), { qos: 1 });
  answered++;
  console.log(`answered ${name} (${commandId}): ${response.status}`);
}
await client.subscribeAsync(`${commandsPrefix}+`, { qos: 1 });
console.log(`listening for commands on ${commandsPrefix}+`);

for (let i = 1; i <= readings; i++) {
  const timestamp = Date.now();
  const reading = { eventId: `${DEVICE_ID}-${timestamp}`, timestamp, metrics: { temperature: Number((20 + 2 * Math.sin(i / 3)).toFixed(2)) } };
  // Resolves on PUBACK; mqtt.js re-sends it after a reconnect until then.
  await client.publishAsync(`devices/${DEVICE_ID}/readings`, JSON.stringify(reading), { qos: 1 });
  console.log(`acknowledged ${reading.eventId}`);
  if (i < readings) await new Promise((resolve) => setTimeout(resolve, intervalMs));
}
while (answered < commandsToAnswer) await new Promise((resolve) => setTimeout(resolve, 50));
// One round trip more: an errors message sent for the last reading has arrived by then.
await client.subscribeAsync(`devices/${DEVICE_ID}/errors`, { qos: 1 });
await client.endAsync();
console.log(refused === 0 ? `ok: ${readings} readings acknowledged` : `${refused} of ${readings} readings refused`);
process.exit(refused === 0 ? 0 : 1);
