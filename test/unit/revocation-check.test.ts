import type { Device } from '../../src/domain/device';
import { RevocationCheck, type RevocationCheckOptions } from '../../src/keys/revocation-check';
import type { DeviceStore } from '../../src/store/ports/device-store';
import type { TenantKeyStore } from '../../src/store/ports/tenant-key-store';
import { ReadingHub, type SubscribedDevices } from '../../src/subscriptions/reading-hub';
import { fakePort } from '../support/fake-port';
import { recordingLogger, silentLogger } from '../support/logger';
import { eventually } from '../support/server';

const noSubscriptions = (): SubscribedDevices => ({ byTenant: new Map(), mark: 0 });

/** A check with nothing connected or subscribed unless the test says otherwise; `store` is given the methods it may call. */
function checkWith(options: Partial<Omit<RevocationCheckOptions, 'store'>> & { store: Partial<TenantKeyStore & DeviceStore> }): RevocationCheck {
  return new RevocationCheck({
    connectedKeyIds: () => [],
    revoked: () => {},
    subscribedDevices: noSubscriptions,
    deleted: () => {},
    intervalMs: 60_000,
    logger: silentLogger,
    ...options,
    store: fakePort<TenantKeyStore & DeviceStore>(options.store),
  });
}

const device = (tenantId: string, id: string) => ({ tenantId, id }) as Device;

describe('the periodic revocation check', () => {
  describe('keys holding connections', () => {
    it('asks the store nothing while no connection is open, and one question for every key holding one', async () => {
      const asked: string[][] = [];
      const closed: string[][] = [];
      let connected: string[] = [];
      const check = checkWith({
        store: {
          revokedApiKeyIds: async (ids) => {
            asked.push([...ids]);
            return ids.filter((id) => id.startsWith('gone'));
          },
        },
        connectedKeyIds: () => connected,
        revoked: (keyIds) => closed.push([...keyIds]),
      });
      expect(await check.check()).toEqual({ revokedKeyIds: [], deletedDevices: [] });
      expect(asked).toEqual([]);
      // A key with a WebSocket and an MQTT connection is asked about once.
      connected = ['k1', 'gone-2', 'k1', 'gone-3'];
      expect((await check.check()).revokedKeyIds).toEqual(['gone-2', 'gone-3']);
      expect(asked).toEqual([['k1', 'gone-2', 'gone-3']]);
      expect(closed).toEqual([['gone-2', 'gone-3']]);
      // Nothing revoked: nothing closed.
      connected = ['k1'];
      await check.check();
      expect(closed).toHaveLength(1);
    });
  });

  describe('devices of readings subscriptions', () => {
    it('asks the store nothing while no subscription is open, and one question per tenant for every device subscribed to', async () => {
      const asked: [string, string[]][] = [];
      const ended: [string, string[], number][] = [];
      let subscribed = noSubscriptions();
      const check = checkWith({
        store: {
          getDevices: async (tenantId, ids) => {
            asked.push([tenantId, [...ids]]);
            return ids.filter((id) => !id.startsWith('gone')).map((id) => device(tenantId, id));
          },
        },
        subscribedDevices: () => subscribed,
        deleted: (tenantId, deviceIds, mark) => ended.push([tenantId, [...deviceIds], mark]),
      });
      expect(await check.check()).toEqual({ revokedKeyIds: [], deletedDevices: [] });
      expect(asked).toEqual([]);

      subscribed = {
        byTenant: new Map([
          ['t1', ['d1', 'gone-1']],
          ['t2', ['d1']],
        ]),
        mark: 7,
      };
      expect((await check.check()).deletedDevices).toEqual([{ tenantId: 't1', deviceIds: ['gone-1'] }]);
      expect(asked).toEqual([
        ['t1', ['d1', 'gone-1']],
        ['t2', ['d1']],
      ]);
      expect(ended).toEqual([['t1', ['gone-1'], 7]]);
    });

    it("ends the subscriptions to a device found deleted, not another tenant's device of that id, nor a subscription opened during the check", async () => {
      const hub = new ReadingHub();
      const endings: Record<string, Error[]> = { before: [], otherTenant: [], during: [] };
      hub.subscribe(
        't1',
        ['valve'],
        () => {},
        (error) => endings['before']!.push(error),
      );
      hub.subscribe(
        't2',
        ['valve'],
        () => {},
        (error) => endings['otherTenant']!.push(error),
      );
      const check = checkWith({
        store: {
          getDevices: async (tenantId, ids) => {
            // The device is registered again while the check asks: a subscription to it opens.
            if (tenantId === 't1')
              hub.subscribe(
                't1',
                ['valve'],
                () => {},
                (error) => endings['during']!.push(error),
              );
            return tenantId === 't1' ? [] : ids.map((id) => device(tenantId, id));
          },
        },
        subscribedDevices: () => hub.subscribedDevices(),
        deleted: (tenantId, deviceIds, mark) => {
          for (const deviceId of deviceIds) hub.endDevice(tenantId, deviceId, new Error(`${deviceId} deleted`), mark);
        },
      });

      await check.check();
      expect(endings['before']!.map((error) => error.message)).toEqual(['valve deleted']);
      expect(endings['otherTenant']).toEqual([]);
      expect(endings['during']).toEqual([]);
    });

    it('leaves alone the subscriptions to a device deleted and registered again before the check', async () => {
      const deleted: string[] = [];
      const check = checkWith({
        store: { getDevices: async (tenantId, ids) => ids.map((id) => device(tenantId, id)) },
        subscribedDevices: () => ({ byTenant: new Map([['t1', ['valve']]]), mark: 1 }),
        deleted: (_tenantId, deviceIds) => deleted.push(...deviceIds),
      });
      expect((await check.check()).deletedDevices).toEqual([]);
      expect(deleted).toEqual([]);
    });

    it('still closes the connections of revoked keys when the device question fails (and the check fails)', async () => {
      const closed: string[] = [];
      const check = checkWith({
        store: {
          revokedApiKeyIds: async (ids) => [...ids],
          getDevices: async () => {
            throw new Error('database unavailable');
          },
        },
        connectedKeyIds: () => ['k1'],
        revoked: (keyIds) => closed.push(...keyIds),
        subscribedDevices: () => ({ byTenant: new Map([['t1', ['d1']]]), mark: 1 }),
      });
      await expect(check.check()).rejects.toThrow('database unavailable');
      expect(closed).toEqual(['k1']);
    });
  });

  it('runs every interval once started, and goes on after a failed check (logged)', async () => {
    const logger = recordingLogger();
    let calls = 0;
    const check = checkWith({
      store: {
        revokedApiKeyIds: async () => {
          calls++;
          if (calls === 1) throw new Error('database unavailable');
          return [];
        },
      },
      connectedKeyIds: () => ['k1'],
      intervalMs: 10,
      logger,
    });
    check.start();
    await eventually(() => (calls >= 3 ? true : undefined), 10_000, 'three checks');
    await check.stop();
    expect(logger.lines.filter((line) => line.level === 'warn').map((line) => line.message)).toEqual([
      'the periodic revocation check failed; retrying at the next one',
    ]);
  });
});
