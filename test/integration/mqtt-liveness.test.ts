import { connectAsync, type MqttClient } from 'mqtt';
import { DeviceStatusChangedDocument, RegisterDeviceDocument } from '../generated/graphql';
import { eventually, startTestServer, type TestServer } from '../support/server';
import { createTenantWithCli } from '../support/service-process';
import { connect, subscribe } from '../support/ws-client';

/**
 * A device's MQTT connections drive its status, with the real `mqtt` client against the
 * started service: connecting brings it ONLINE, losing its last connection (clean DISCONNECT
 * or a socket gone without one, when a broker publishes a last will) takes it OFFLINE at once,
 * each change heard on `deviceStatusChanged` like the liveness sweep's.
 */
describe('MQTT: connections drive device status', () => {
  let server: TestServer;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    // Two connections per tenant: the test of a device's two connections counts on the limit.
    server = await startTestServer({ TELEMETRY_MQTT_PORT: '0', TELEMETRY_MQTT_MAX_CONNECTIONS_PER_TENANT: '2' });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.endAsync(true)));
  });
  afterAll(() => server.close());

  const open = async (username: string, password: string): Promise<MqttClient> => {
    const client = await connectAsync(server.app.mqttUrl!, { username, password, reconnectPeriod: 0, connectTimeout: 10_000 });
    clients.push(client);
    return client;
  };

  /** Registers the device (as `adminKey`'s tenant) and follows its status changes. */
  const watched = async (deviceId: string, adminKey = server.adminKey) => {
    const registered = await server.gql(RegisterDeviceDocument, { input: { id: deviceId } }, adminKey);
    const key = registered.data!.registerDevice.deviceKey;
    const ws = connect(server.app.wsUrl, adminKey);
    const before = server.app.statusHub.subscriberCount;
    const statuses = subscribe(ws, DeviceStatusChangedDocument, { deviceId });
    await eventually(() => (server.app.statusHub.subscriberCount > before ? true : undefined), 10_000, 'subscribed');
    const changes = () => statuses.received.map((r) => [r.data!.deviceStatusChanged.previousStatus, r.data!.deviceStatusChanged.status]);
    const heard = (count: number) => eventually(() => (changes().length >= count ? changes() : undefined), 10_000, `${count} status changes`);
    const stop = async () => {
      statuses.stop();
      await ws.dispose();
    };
    return { key, changes, heard, received: statuses.received, stop };
  };

  it('goes ONLINE on connecting and OFFLINE on a clean DISCONNECT, with the times the sweep gives', async () => {
    const device = await watched('live-clean');
    try {
      const connectedAfter = Date.now();
      const client = await open('live-clean', device.key);
      expect(await device.heard(1)).toEqual([['NEVER_SEEN', 'ONLINE']]);
      const online = device.received[0]!.data!.deviceStatusChanged;
      expect(online).toMatchObject({ deviceId: 'live-clean', lastSeenAt: online.at });
      expect(Date.parse(online.at)).toBeGreaterThanOrEqual(connectedAfter - 1000);

      await client.endAsync();
      expect(await device.heard(2)).toEqual([
        ['NEVER_SEEN', 'ONLINE'],
        ['ONLINE', 'OFFLINE'],
      ]);
      expect(device.received[1]!.data!.deviceStatusChanged).toMatchObject({ deviceId: 'live-clean', lastSeenAt: online.at });
    } finally {
      await device.stop();
    }
  });

  it('goes OFFLINE when the socket is lost without a DISCONNECT (the last-will moment), and ONLINE again on reconnecting', async () => {
    const device = await watched('live-lost');
    try {
      const client = await open('live-lost', device.key);
      await device.heard(1);
      client.stream.destroy();
      expect(await device.heard(2)).toEqual([
        ['NEVER_SEEN', 'ONLINE'],
        ['ONLINE', 'OFFLINE'],
      ]);
      await open('live-lost', device.key);
      expect((await device.heard(3))[2]).toEqual(['OFFLINE', 'ONLINE']);
    } finally {
      await device.stop();
    }
  });

  it('stays ONLINE while another connection of the device is open', async () => {
    // A tenant of its own: its two-connection limit shows when the server saw a connection close.
    const adminKey = await createTenantWithCli(server.dataDir, 'tenant-liveness-two');
    const device = await watched('live-two', adminKey);
    try {
      const first = await open('live-two', device.key);
      await device.heard(1);
      const second = await open('live-two', device.key);
      await first.endAsync();
      // A third connection is admitted only once the server has counted the first one closed.
      const third = await eventually(() => open('live-two', device.key).catch(() => undefined), 10_000, 'a connection in the freed place');
      const lastOnesClosing = Date.now();
      await second.endAsync();
      await third.endAsync();
      // The one OFFLINE comes from the last connections closing: had the first close taken the
      // device OFFLINE, this second change would be dated before them.
      expect(await device.heard(2)).toEqual([
        ['NEVER_SEEN', 'ONLINE'],
        ['ONLINE', 'OFFLINE'],
      ]);
      expect(Date.parse(device.received[1]!.data!.deviceStatusChanged.at)).toBeGreaterThanOrEqual(lastOnesClosing);
    } finally {
      await device.stop();
    }
  });
});
