import { rmSync } from 'node:fs';
import { print } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { connectAsync, type MqttClient } from 'mqtt';
import {
  CommandDocument,
  CommandUpdatedDocument,
  RegisterDeviceDocument,
  SendCommandDocument,
  type CommandQuery,
  type CommandUpdatedSubscription,
  type RegisterDeviceMutation,
  type SendCommandMutation,
} from '../generated/graphql';
import { eventually, newDataDir, randomKey } from '../support/server';
import { startServiceProcess, stopGracefully, type ServiceProcess } from '../support/service-process';
import { connect, subscribe, untilLive } from '../support/ws-client';

async function post<T>(url: string, key: string, document: TypedDocumentNode<T, never>, variables: unknown): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: print(document), variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown[] };
  if (!body.data || body.errors) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
  return body.data;
}

/**
 * Commands across processes, as on several API nodes sharing the stream and the database: two
 * `--role api` processes and one `--role consumer`, started as `npm start -- --role ...` starts
 * them. The device holds its MQTT connection to node B; the operator talks to node A only.
 */
describe('commands across API nodes', () => {
  const dataDir = newDataDir();
  const key = randomKey();
  const env = { TELEMETRY_DATA_DIR: dataDir, TELEMETRY_ADMIN_KEY: key, TELEMETRY_STREAM_SYNC: 'normal', TELEMETRY_COMMAND_EXPIRY_CHECK_MS: '100' };
  let apiA: ServiceProcess;
  let apiB: ServiceProcess;
  let consumer: ServiceProcess;
  let mqttUrlOfB: string;
  let deviceKey: string;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    apiA = await startServiceProcess(env, ['--role', 'api']);
    apiB = await startServiceProcess({ ...env, TELEMETRY_MQTT_PORT: '0' }, ['--role', 'api']);
    consumer = await startServiceProcess(env, ['--role', 'consumer']);
    mqttUrlOfB = (await apiB.waitFor(/"mqttUrl":"(mqtt:\/\/[^"]+)"/))[1]!;
    deviceKey = (await post<RegisterDeviceMutation>(apiA.url, key, RegisterDeviceDocument, { input: { id: 'far-pump' } })).registerDevice.deviceKey;
    await post(apiA.url, key, RegisterDeviceDocument, { input: { id: 'far-probe' } });
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.endAsync(true)));
    await Promise.all([apiA, apiB, consumer].map((service) => stopGracefully(service)));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('reaches a device connected to node B when sent through node A; its acknowledgement, answer and expiry are seen from node A', async () => {
    const ws = connect(apiA.url.replace(/^http/, 'ws'), key);
    const updates = subscribe(ws, CommandUpdatedDocument, {});
    const statusesOf = (id: string) =>
      updates.received
        .map((r) => (r.data as CommandUpdatedSubscription).commandUpdated)
        .filter((c) => c.id === id)
        .map((c) => c.status);
    const until = (id: string, status: string) => eventually(() => (statusesOf(id).includes(status as never) ? statusesOf(id) : undefined), 20_000, status);
    const send = async (deviceId: string, name: string, timeoutSeconds = 600) =>
      (await post<SendCommandMutation>(apiA.url, key, SendCommandDocument, { deviceId, name, payload: { from: 'A' }, timeoutSeconds })).sendCommand;
    try {
      // The subscription on A is another process's: live once a probe command's change reaches it.
      await untilLive(
        () => send('far-probe', 'probe'),
        () => updates.received.length > 0,
        'commandUpdated live on node A',
      );

      const device = await connectAsync(mqttUrlOfB, { username: 'far-pump', password: deviceKey, reconnectPeriod: 0, connectTimeout: 10_000 });
      clients.push(device);
      const received: { topic: string; commandId: string; payload: unknown }[] = [];
      device.on('message', (topic, payload) => received.push({ topic, ...(JSON.parse(payload.toString()) as { commandId: string; payload: unknown }) }));
      await device.subscribeAsync('devices/far-pump/commands/+', { qos: 1 });

      const sent = await send('far-pump', 'open-valve');
      expect(sent.status).toBe('PENDING');
      await eventually(() => received[0], 20_000, 'the command on the device at node B');
      expect(received).toEqual([{ topic: 'devices/far-pump/commands/open-valve', commandId: sent.id, payload: { from: 'A' } }]);
      await until(sent.id, 'DELIVERED');
      await device.publishAsync(`devices/far-pump/commands/${sent.id}/response`, JSON.stringify({ status: 'SUCCEEDED', result: { open: true } }), { qos: 1 });
      expect(await until(sent.id, 'SUCCEEDED')).toEqual(['PENDING', 'DELIVERED', 'SUCCEEDED']);
      expect((await post<CommandQuery>(apiA.url, key, CommandDocument, { id: sent.id })).command).toMatchObject({
        status: 'SUCCEEDED',
        result: { open: true },
      });
      // Written once, though both nodes heard of it (B through the events topic; A tried first and holds no connection).
      expect(received).toHaveLength(1);

      // The consumer process expires what nobody answered; node A's subscriber hears it.
      const unanswered = await send('far-probe', 'never-answered', 1);
      expect(await until(unanswered.id, 'EXPIRED')).toEqual(['PENDING', 'EXPIRED']);
    } finally {
      updates.stop();
      await ws.dispose();
    }
  });
});
