import { connectAsync, type MqttClient } from 'mqtt';
import {
  CommandDocument,
  CommandsDocument,
  CommandUpdatedDocument,
  CreateApiKeyDocument,
  RegisterDeviceDocument,
  SendCommandDocument,
  type CommandUpdatedSubscription,
} from '../generated/graphql';
import { allNodes } from '../support/paging';
import { eventually, startTestServer, type TestServer } from '../support/server';
import { createTenantWithCli } from '../support/service-process';
import { connect, subscribe, type Subscription } from '../support/ws-client';

/**
 * Commands to devices, end to end, with the real `mqtt` client as the device and `graphql-ws`
 * as the operator's console: sent by `sendCommand`, received on the device's command topic,
 * DELIVERED on its PUBACK, answered on its response topic, expired by the consumer's sweep,
 * each change pushed on `commandUpdated`.
 */

interface CommandMessage {
  readonly commandId: string;
  readonly payload: unknown;
}

describe('commands to devices over MQTT', () => {
  let server: TestServer;
  const clients: MqttClient[] = [];
  const keys = new Map<string, string>();

  beforeAll(async () => {
    // A short sweep interval: the expiry test waits for EXPIRED on the subscription, not on a timer of its own.
    server = await startTestServer({ TELEMETRY_MQTT_PORT: '0', TELEMETRY_COMMAND_EXPIRY_CHECK_MS: '100' });
    for (const id of ['cmd-1', 'cmd-2', 'cmd-offline', 'cmd-expire', 'cmd-other', 'cmd-paged', 'cmd-qos0'])
      keys.set(id, (await server.ok(RegisterDeviceDocument, { input: { id } })).registerDevice.deviceKey);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.endAsync(true)));
  });
  afterAll(() => server.close());

  /** The device connected, subscribed to its commands at `qos`; `commands` collects what it receives there. */
  const device = async (id: string, qos: 0 | 1 = 1) => {
    const client = await connectAsync(server.app.mqttUrl!, { username: id, password: keys.get(id)!, reconnectPeriod: 0, connectTimeout: 10_000 });
    clients.push(client);
    const commands: { topic: string; message: CommandMessage }[] = [];
    const errors: { error?: { code: string; message: string } }[] = [];
    client.on('message', (topic, payload) => {
      if (topic === `devices/${id}/errors`) errors.push(JSON.parse(payload.toString()) as (typeof errors)[number]);
      else commands.push({ topic, message: JSON.parse(payload.toString()) as CommandMessage });
    });
    await client.subscribeAsync(`devices/${id}/errors`, { qos: 1 });
    const subscribeToCommands = () => client.subscribeAsync(`devices/${id}/commands/+`, { qos });
    const answer = (commandId: string, body: unknown) => client.publishAsync(`devices/${id}/commands/${commandId}/response`, JSON.stringify(body), { qos: 1 });
    return { client, commands, errors, subscribeToCommands, answer };
  };

  /** Follows one device's commands on commandUpdated (registered before it returns). */
  const watch = async (deviceId?: string, key = server.adminKey) => {
    // Every test closes its watchers: once the last one's is gone, a new registration is seen as 0 -> 1.
    await eventually(() => (server.app.commandHub.subscriberCount === 0 ? true : undefined), 10_000, 'earlier watchers cleaned up');
    const ws = connect(server.app.wsUrl, key);
    const subscription: Subscription<CommandUpdatedSubscription> = subscribe(ws, CommandUpdatedDocument, deviceId ? { deviceId } : {});
    await eventually(() => (server.app.commandHub.subscriberCount > 0 ? true : undefined), 10_000, 'commandUpdated registered');
    const statusesOf = (commandId: string) =>
      subscription.received.filter((r) => r.data?.commandUpdated.id === commandId).map((r) => r.data!.commandUpdated.status);
    const until = (commandId: string, status: CommandUpdatedSubscription['commandUpdated']['status']) =>
      eventually(() => (statusesOf(commandId).includes(status) ? statusesOf(commandId) : undefined), 15_000, `${status} on commandUpdated`);
    return { subscription, statusesOf, until, close: () => ws.dispose() };
  };

  const send = async (deviceId: string, name: string, payload: unknown, timeoutSeconds = 600) => {
    const result = await server.gql(SendCommandDocument, { deviceId, name, payload, timeoutSeconds });
    if (result.errors) throw new Error(JSON.stringify(result.errors));
    return result.data!.sendCommand;
  };

  it('round trip: the device receives the command on its topic, acknowledges it (DELIVERED) and answers (SUCCEEDED, FAILED), each change pushed', async () => {
    const watcher = await watch('cmd-1');
    try {
      const pump = await device('cmd-1');
      await pump.subscribeToCommands();
      const sent = await send('cmd-1', 'reboot', { delaySeconds: 5 });
      expect(sent).toMatchObject({ deviceId: 'cmd-1', name: 'reboot', payload: { delaySeconds: 5 }, status: 'PENDING', result: null });
      const received = await eventually(() => pump.commands[0], 15_000, 'the command on the device');
      expect(received).toEqual({ topic: 'devices/cmd-1/commands/reboot', message: { commandId: sent.id, payload: { delaySeconds: 5 } } });
      await watcher.until(sent.id, 'DELIVERED');
      expect((await server.ok(CommandDocument, { id: sent.id })).command?.status).toBe('DELIVERED');

      await pump.answer(sent.id, { status: 'SUCCEEDED', result: { uptime: 0 } });
      expect(await watcher.until(sent.id, 'SUCCEEDED')).toEqual(['PENDING', 'DELIVERED', 'SUCCEEDED']);
      expect((await server.ok(CommandDocument, { id: sent.id })).command).toMatchObject({ status: 'SUCCEEDED', result: { uptime: 0 } });
      // A repeated answer (QoS 1 resend) changes nothing.
      await pump.answer(sent.id, { status: 'FAILED' });

      const second = await send('cmd-1', 'calibrate', null);
      await eventually(() => pump.commands[1], 15_000, 'the second command');
      expect(pump.commands[1]).toEqual({ topic: 'devices/cmd-1/commands/calibrate', message: { commandId: second.id, payload: null } });
      await pump.answer(second.id, { status: 'FAILED', result: 'sensor stuck' });
      await watcher.until(second.id, 'FAILED');
      expect((await server.ok(CommandDocument, { id: second.id })).command).toMatchObject({ status: 'FAILED', result: 'sensor stuck' });
      expect((await server.ok(CommandDocument, { id: sent.id })).command?.status).toBe('SUCCEEDED');
      expect(pump.errors).toEqual([]);
    } finally {
      await watcher.close();
    }
  });

  it('is DELIVERED on the PUBACK, not on writing: a command whose connection closed before its PUBACK is written again on the next subscription', async () => {
    const watcher = await watch('cmd-2');
    try {
      // This connection receives the command but never acknowledges it: mqtt.js sends a PUBACK
      // when its handleMessage hook calls back (its documented hook for backpressure), and this one never does.
      const held: string[] = [];
      const silent = await connectAsync(server.app.mqttUrl!, { username: 'cmd-2', password: keys.get('cmd-2')!, reconnectPeriod: 0 });
      silent.handleMessage = (packet, callback) => {
        if (packet.topic.includes('/commands/')) held.push((JSON.parse(packet.payload.toString()) as CommandMessage).commandId);
        else callback();
      };
      clients.push(silent);
      await silent.subscribeAsync('devices/cmd-2/commands/#', { qos: 1 });
      const sent = await send('cmd-2', 'firmware', { version: '2.1' });
      await eventually(() => (held.includes(sent.id) ? true : undefined), 15_000, 'the command on the silent connection');
      expect((await server.ok(CommandDocument, { id: sent.id })).command?.status).toBe('PENDING');
      silent.stream.destroy();

      const again = await device('cmd-2');
      await again.subscribeToCommands();
      await watcher.until(sent.id, 'DELIVERED');
      expect(again.commands.map((c) => c.message.commandId)).toEqual([sent.id]);
      expect(watcher.statusesOf(sent.id)).toEqual(['PENDING', 'DELIVERED']);
      await again.answer(sent.id, { status: 'SUCCEEDED' });
      await watcher.until(sent.id, 'SUCCEEDED');
    } finally {
      await watcher.close();
    }
  });

  it('a device subscribed at QoS 0 gets the command at QoS 0, DELIVERED once written', async () => {
    const watcher = await watch('cmd-qos0');
    try {
      const sensor = await device('cmd-qos0', 0);
      const qos: number[] = [];
      sensor.client.on('packetreceive', (packet) => packet.cmd === 'publish' && packet.topic.includes('/commands/') && qos.push(packet.qos));
      await sensor.subscribeToCommands();
      const sent = await send('cmd-qos0', 'blink', 3);
      await watcher.until(sent.id, 'DELIVERED');
      await eventually(() => sensor.commands[0], 15_000, 'the command on the device');
      expect(sensor.commands.map((c) => c.message.commandId)).toEqual([sent.id]);
      expect(qos).toEqual([0]);
    } finally {
      await watcher.close();
    }
  });

  it('keeps a command to an offline device PENDING, and delivers what waits, oldest first, once it subscribes', async () => {
    const watcher = await watch('cmd-offline');
    try {
      const first = await send('cmd-offline', 'open-valve', { valve: 1 });
      const second = await send('cmd-offline', 'close-valve', { valve: 2 });
      expect((await server.ok(CommandDocument, { id: first.id })).command?.status).toBe('PENDING');
      // Connected but not yet listening for commands: still nothing to deliver to.
      const valve = await device('cmd-offline');
      expect((await server.ok(CommandDocument, { id: second.id })).command?.status).toBe('PENDING');
      await valve.subscribeToCommands();
      await watcher.until(first.id, 'DELIVERED');
      await watcher.until(second.id, 'DELIVERED');
      expect(valve.commands.map((c) => [c.topic, c.message.commandId])).toEqual([
        ['devices/cmd-offline/commands/open-valve', first.id],
        ['devices/cmd-offline/commands/close-valve', second.id],
      ]);
    } finally {
      await watcher.close();
    }
  });

  it('expires a command not answered within its timeout, pushes EXPIRED, and ignores a late answer', async () => {
    const watcher = await watch('cmd-expire');
    try {
      const late = await device('cmd-expire');
      await late.subscribeToCommands();
      const sent = await send('cmd-expire', 'selftest', {}, 1);
      expect(Date.parse(sent.expiresAt) - Date.parse(sent.createdAt)).toBe(1000);
      await eventually(() => late.commands[0], 15_000, 'the command on the device');
      expect(await watcher.until(sent.id, 'EXPIRED')).toEqual(['PENDING', 'DELIVERED', 'EXPIRED']);
      await late.answer(sent.id, { status: 'SUCCEEDED' });
      // The answer is acknowledged and changes nothing: a later command's change arrives, the expired one's never does.
      const barrier = await send('cmd-expire', 'barrier', {});
      await watcher.until(barrier.id, 'DELIVERED');
      expect(watcher.statusesOf(sent.id)).toEqual(['PENDING', 'DELIVERED', 'EXPIRED']);
      expect((await server.ok(CommandDocument, { id: sent.id })).command?.status).toBe('EXPIRED');
    } finally {
      await watcher.close();
    }
  });

  it("tells a device that answers a command not its own NOT_FOUND on its errors topic, and the command's status stays", async () => {
    const owner = await device('cmd-2');
    await owner.subscribeToCommands();
    const sent = await send('cmd-2', 'reboot', {});
    await eventually(() => owner.commands[0], 15_000, 'the command on its device');
    const other = await device('cmd-other');
    await other.answer(sent.id, { status: 'FAILED' });
    await other.answer('01234567-0000-7000-8000-00000000ffff', { status: 'FAILED' });
    await other.answer(sent.id, { status: 'DONE' });
    const errors = await eventually(() => (other.errors.length >= 3 ? other.errors : undefined), 10_000, 'three errors');
    expect(errors.map((e) => e.error?.code)).toEqual(['NOT_FOUND', 'NOT_FOUND', 'BAD_USER_INPUT']);
    expect((await server.ok(CommandDocument, { id: sent.id })).command?.status).toBe('DELIVERED');
  });

  it('pages commands newest first, every command on exactly one page', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await send('cmd-paged', `step-${i}`, i)).id);
    const listed = await allNodes(async (after) => (await server.ok(CommandsDocument, { deviceId: 'cmd-paged', first: 3, after })).commands);
    expect(listed.map((node) => node.id)).toEqual([...ids].reverse());
  });

  it('refuses bad input with the field at fault, reader and device keys, and unknown devices, storing nothing', async () => {
    const bad = async (variables: { name: string; timeoutSeconds: number; payload?: unknown }) =>
      (await server.gql(SendCommandDocument, { deviceId: 'cmd-paged', ...variables })).errors?.[0]?.extensions;
    const before = (await server.ok(CommandsDocument, { deviceId: 'cmd-paged', first: 100 })).commands.edges.length;
    expect(await bad({ name: 'a/b', timeoutSeconds: 10 })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name' });
    expect(await bad({ name: '#', timeoutSeconds: 10 })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name' });
    expect(await bad({ name: 'ok', timeoutSeconds: 0 })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'timeoutSeconds' });
    expect(await bad({ name: 'ok', timeoutSeconds: 10, payload: 'x'.repeat(17_000) })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'payload' });
    const unknown = await server.gql(SendCommandDocument, { deviceId: 'no-such-device', name: 'ok', timeoutSeconds: 10 });
    expect(unknown.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND' });
    expect((await server.gql(CommandsDocument, { deviceId: 'no-such-device' })).errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND' });
    const reader = (await server.ok(CreateApiKeyDocument, { input: { role: 'READER', label: 'commands reader' } })).createApiKey.secret;
    for (const key of [reader, keys.get('cmd-paged')!]) {
      const refused = await server.gql(SendCommandDocument, { deviceId: 'cmd-paged', name: 'ok', timeoutSeconds: 10 }, key);
      expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN' });
    }
    // A reader may follow and read commands.
    expect((await server.gql(CommandsDocument, { deviceId: 'cmd-paged', first: 100 }, reader)).data?.commands.edges).toHaveLength(before);
  });

  it("keeps another tenant's admin from sending to, reading or following this tenant's commands", async () => {
    const otherAdmin = await createTenantWithCli(server.dataDir, 'tenant-commands-b');
    const own = await watch(undefined, otherAdmin);
    try {
      const sent = await send('cmd-paged', 'secret-step', { secret: true });
      const refused = await server.gql(SendCommandDocument, { deviceId: 'cmd-paged', name: 'ok', timeoutSeconds: 10 }, otherAdmin);
      expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND' });
      expect((await server.gql(CommandDocument, { id: sent.id }, otherAdmin)).data?.command).toBeNull();
      expect((await server.gql(CommandsDocument, { deviceId: 'cmd-paged' }, otherAdmin)).errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND' });
      // Its own device's command reaches its subscription; this tenant's, sent before, never did.
      await server.gql(RegisterDeviceDocument, { input: { id: 'cmd-paged' } }, otherAdmin);
      const its = await server.gql(SendCommandDocument, { deviceId: 'cmd-paged', name: 'its-own', timeoutSeconds: 10 }, otherAdmin);
      await own.until(its.data!.sendCommand.id, 'PENDING');
      expect(own.subscription.received.map((r) => r.data?.commandUpdated.id)).toEqual([its.data!.sendCommand.id]);
    } finally {
      await own.close();
    }
  });
});
