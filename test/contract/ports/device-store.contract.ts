import { applyBatch } from '../../../src/consumers/pipeline/apply-batch';
import { attributeEntry } from '../../../src/domain/device-attributes';
import { TelemetryError } from '../../../src/domain/errors';
import type { AnomalyStore } from '../../../src/store/ports/anomaly-store';
import type { BatchStore } from '../../../src/store/ports/batch-store';
import type { DeadLetterStore } from '../../../src/store/ports/dead-letter-store';
import type { DeviceStore } from '../../../src/store/ports/device-store';
import type { ReadingStore } from '../../../src/store/ports/reading-store';
import type { TenantKeyStore } from '../../../src/store/ports/tenant-key-store';
import { ensureTenantsAndDevices, reading, slice, T1, T2, type PortHarness, type TenantSetup } from './fixtures';

/**
 * DeviceStore, plus ensureTenant (tenant-key port) for setup, and what deleting a device must
 * reach: keys, readings written by a batch, anomalies, dead letters.
 */
export type DeviceStoreHarness = PortHarness<
  DeviceStore &
    TenantSetup &
    BatchStore &
    Pick<ReadingStore, 'queryReadings' | 'latestReadings'> &
    Pick<TenantKeyStore, 'createApiKey' | 'listApiKeys'> &
    Pick<AnomalyStore, 'putAnomalyRule' | 'listAnomalies'> &
    Pick<DeadLetterStore, 'listDeadLetters'>
>;

/** The DeviceStore contract, against the port only (setup: ensureTenantsAndDevices). */
export function describeDeviceStoreContract(name: string, create: () => Promise<DeviceStoreHarness>): void {
  describe(`DeviceStore contract: ${name}`, () => {
    let harness: DeviceStoreHarness;
    let store: DeviceStoreHarness['store'];
    beforeEach(async () => {
      harness = await create();
      store = harness.store;
      await ensureTenantsAndDevices(store);
    });
    afterEach(() => harness.close());

    describe('devices', () => {
      it('refuses a second device with the same id in a tenant, but not in another tenant', async () => {
        await expect(store.registerDevice(T1, { id: 'a', name: 'again', tags: [] })).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
        await expect(store.registerDevice(T1, { id: 'a', name: 'again', tags: [] })).rejects.toBeInstanceOf(TelemetryError);
        await expect(store.registerDevice(T2, { id: 'a', name: 'other tenant', tags: [] })).resolves.toMatchObject({ tenantId: T2, id: 'a' });
      });

      it("never returns another tenant's devices", async () => {
        expect((await store.getDevices(T2, ['a', 'b'])).map((d) => d.id)).toEqual([]);
        expect((await store.listDevices(T2, {}, { first: 10 })).items).toEqual([]);
        expect((await store.getDevices(T1, ['b', 'zz'])).map((d) => d.name)).toEqual(['Device B']);
      });

      it('pages by id and filters by tag and name', async () => {
        const first = await store.listDevices(T1, {}, { first: 2 });
        expect(first.items.map((d) => d.id)).toEqual(['a', 'b']);
        expect(first.hasMore).toBe(true);
        const second = await store.listDevices(T1, {}, { first: 2, afterKey: 'b' });
        expect(second).toMatchObject({ items: [{ id: 'c', tags: ['cold'] }], hasMore: false });
        expect((await store.listDevices(T1, { tag: 'hot' }, { first: 10 })).items.map((d) => d.id)).toEqual(['a', 'b']);
        expect((await store.listDevices(T1, { nameContains: 'device c' }, { first: 10 })).items.map((d) => d.id)).toEqual(['c']);
      });

      it('filters by status and by attribute value (any JSON value, object keys in any order)', async () => {
        await store.registerDevice(T1, { id: 'd', name: 'Device D', tags: [], attributes: { site: 'paris', floor: 3, spec: { a: 1, b: [true, null] } } });
        await store.updateDevice(T1, 'b', { attributes: { site: 'lyon', floor: 3 } });
        await store.decommissionDevice(T1, 'c', 1);
        const ids = async (filter: Parameters<DeviceStore['listDevices']>[1]) => (await store.listDevices(T1, filter, { first: 10 })).items.map((d) => d.id);
        expect(await ids({ status: 'DECOMMISSIONED' })).toEqual(['c']);
        expect(await ids({ status: 'NEVER_SEEN' })).toEqual(['a', 'b', 'd']);
        expect(await ids({ attributeEntry: attributeEntry('floor', 3) })).toEqual(['b', 'd']);
        expect(await ids({ attributeEntry: attributeEntry('floor', '3') })).toEqual([]);
        expect(await ids({ attributeEntry: attributeEntry('site', 'paris') })).toEqual(['d']);
        expect(await ids({ attributeEntry: attributeEntry('spec', { b: [true, null], a: 1 }) })).toEqual(['d']);
        expect(await ids({ attributeEntry: attributeEntry('floor', 3), tag: 'hot' })).toEqual(['b']);
        expect((await store.listDevices(T2, { attributeEntry: attributeEntry('floor', 3) }, { first: 10 })).items).toEqual([]);
      });
    });

    describe('MQTT connections', () => {
      it('a connection brings a device ONLINE and the last one closing takes it OFFLINE, each change once', async () => {
        expect(await store.markConnection(T1, 'a', false, 500)).toBeUndefined();
        expect(await store.markConnection(T1, 'a', true, 1000)).toEqual({
          tenantId: T1,
          deviceId: 'a',
          status: 'ONLINE',
          previousStatus: 'NEVER_SEEN',
          at: 1000,
          lastSeenAt: 1000,
        });
        expect(await store.markConnection(T1, 'a', true, 1500)).toBeUndefined();
        expect(await store.markConnection(T1, 'a', false, 2000)).toEqual({
          tenantId: T1,
          deviceId: 'a',
          status: 'OFFLINE',
          previousStatus: 'ONLINE',
          at: 2000,
          lastSeenAt: 1000,
        });
        expect(await store.markConnection(T1, 'a', false, 2500)).toBeUndefined();
        expect((await store.getDevices(T1, ['a']))[0]).toMatchObject({ status: 'OFFLINE', lastSeenAt: 1000 });
        expect(await store.markConnection(T1, 'a', true, 3000)).toMatchObject({ status: 'ONLINE', previousStatus: 'OFFLINE', lastSeenAt: 3000 });
      });

      it('resolves open SILENCE anomalies on reconnecting, leaves a decommissioned device alone, and stays in the tenant', async () => {
        await store.markConnection(T1, 'a', true, 1000);
        await store.markSilentDevices(1000 + 10 * 60_000, 60_000);
        const silence = async () => (await store.listAnomalies(T1, { deviceId: 'a' }, { first: 10 })).items.map((a) => [a.kind, a.status]);
        expect(await silence()).toEqual([['SILENCE', 'OPEN']]);
        await store.markConnection(T1, 'a', true, 1000 + 11 * 60_000);
        expect(await silence()).toEqual([['SILENCE', 'RESOLVED']]);

        await store.decommissionDevice(T1, 'c', 1);
        expect(await store.markConnection(T1, 'c', true, 2000)).toBeUndefined();
        expect((await store.getDevices(T1, ['c']))[0]).toMatchObject({ status: 'DECOMMISSIONED' });
        expect(await store.markConnection(T2, 'b', true, 2000)).toBeUndefined();
        expect((await store.getDevices(T1, ['b']))[0]).toMatchObject({ status: 'NEVER_SEEN' });
      });
    });

    describe('changing and deleting devices', () => {
      it('updates only the fields named, a heartbeat timeout of null included, and only in the tenant', async () => {
        await store.setHeartbeatTimeout(T1, 'a', 60_000);
        expect(await store.updateDevice(T1, 'a', { name: 'Renamed' })).toMatchObject({
          name: 'Renamed',
          tags: ['hot'],
          heartbeatTimeoutMs: 60_000,
          attributes: {},
        });
        expect(await store.updateDevice(T1, 'a', { tags: ['x', 'y'], attributes: { k: [1, 'two'] } })).toMatchObject({
          name: 'Renamed',
          tags: ['x', 'y'],
          heartbeatTimeoutMs: 60_000,
          attributes: { k: [1, 'two'] },
        });
        expect(await store.updateDevice(T1, 'a', { heartbeatTimeoutMs: null })).toMatchObject({ heartbeatTimeoutMs: null, tags: ['x', 'y'] });
        expect(await store.updateDevice(T2, 'a', { name: 'not yours' })).toBeUndefined();
        expect(await store.updateDevice(T1, 'nope', { name: 'x' })).toBeUndefined();
        expect((await store.getDevices(T1, ['a']))[0]).toMatchObject({ name: 'Renamed', attributes: { k: [1, 'two'] } });
      });

      async function storeSomeData(): Promise<void> {
        await store.putAnomalyRule({
          tenantId: T1,
          id: 'r1',
          scope: { kind: 'tenant' },
          metric: 'temp',
          zScore: null,
          min: null,
          max: 10,
          maxRatePerSecond: null,
          severity: 'WARNING',
          clearAfterMs: null,
          updatedAt: 1,
        });
        await store.createApiKey({ id: 'ka', tenantId: T1, role: 'device', deviceId: 'a', label: 'a', secretHash: 'a'.repeat(64) });
        await store.createApiKey({ id: 'kb', tenantId: T1, role: 'device', deviceId: 'b', label: 'b', secretHash: 'b'.repeat(64) });
        await applyBatch(store, {
          source: 'readings',
          partitions: [
            slice(0, [
              { ...reading('a', 1000, { temp: 50 }), offset: 0 },
              { ...reading('b', 1000, { temp: 50 }), offset: 1 },
            ]),
          ],
        });
      }

      /** Runs removeDeletedDeviceData until it has nothing more to do; the steps it took. */
      async function removeAll(limit: number): Promise<{ steps: number; rows: number }> {
        let steps = 0;
        let rows = 0;
        for (let more = true; more; steps++) {
          if (steps > 1000) throw new Error('removeDeletedDeviceData never finished');
          const step = await store.removeDeletedDeviceData(limit);
          rows += step.removedRows;
          more = step.more;
        }
        return { steps, rows };
      }

      it("deletes a device with its data (the bulk in bounded steps after), revokes its keys, and touches no other device's", async () => {
        await storeSomeData();
        expect((await store.listAnomalies(T1, { deviceId: 'a' }, { first: 10 })).items).toHaveLength(1);
        expect(await store.removeDeletedDeviceData(100)).toEqual({ removedRows: 0, more: false });
        const deletion = await store.deleteDevice(T1, 'a', false, 5000);
        expect(deletion).toEqual({ revokedKeyIds: ['ka'], removingData: true });
        expect(await store.getDevices(T1, ['a'])).toEqual([]);
        // Gone in the deleting transaction: latest values and anomalies.
        expect((await store.latestReadings(T1, ['a'])).get('a') ?? []).toEqual([]);
        expect((await store.listAnomalies(T1, { deviceId: 'a' }, { first: 10 })).items).toEqual([]);
        // The raw value, its event id and its rollups (one per level): removed by the steps.
        expect((await store.queryReadings(T1, { deviceId: 'a', metric: 'temp', first: 10, order: 'OLDEST_FIRST' })).items).toHaveLength(1);
        const removal = await removeAll(1);
        expect(removal.rows).toBeGreaterThanOrEqual(3);
        // At most one row per table per step: several steps, the last one finding each table short.
        expect(removal.steps).toBeGreaterThanOrEqual(removal.rows / 3);
        expect((await store.queryReadings(T1, { deviceId: 'a', metric: 'temp', first: 10, order: 'OLDEST_FIRST' })).items).toEqual([]);
        expect(await store.removeDeletedDeviceData(100)).toEqual({ removedRows: 0, more: false });
        expect((await store.listApiKeys(T1, true)).find((k) => k.id === 'ka')?.revokedAt).toBe(5000);
        // Device b keeps everything.
        expect((await store.queryReadings(T1, { deviceId: 'b', metric: 'temp', first: 10, order: 'OLDEST_FIRST' })).items).toHaveLength(1);
        expect((await store.listAnomalies(T1, { deviceId: 'b' }, { first: 10 })).items).toHaveLength(1);
        expect((await store.listApiKeys(T1, false)).map((k) => k.id)).toContain('kb');
        expect(await store.deleteDevice(T1, 'a', false, 6000)).toBeUndefined();
      });

      it('keeps the data when asked, and a device of the same id in another tenant is untouched', async () => {
        await store.registerDevice(T2, { id: 'a', name: 'other', tags: [] });
        await storeSomeData();
        expect(await store.deleteDevice(T2, 'zz', false, 1)).toBeUndefined();
        const deletion = await store.deleteDevice(T1, 'a', true, 5000);
        expect(deletion).toEqual({ revokedKeyIds: ['ka'], removingData: false });
        expect(await store.removeDeletedDeviceData(100)).toEqual({ removedRows: 0, more: false });
        expect(await store.getDevices(T1, ['a'])).toEqual([]);
        expect((await store.queryReadings(T1, { deviceId: 'a', metric: 'temp', first: 10, order: 'OLDEST_FIRST' })).items).toHaveLength(1);
        expect(await store.getDevices(T2, ['a'])).toHaveLength(1);
      });

      it('refuses to register the id again while its data is being removed (retryable), then takes it; another tenant is untouched', async () => {
        await store.registerDevice(T2, { id: 'a', name: 'other', tags: [] });
        await storeSomeData();
        await applyBatch(store, { source: 'readings', partitions: [slice(0, [{ ...reading('a', 1000, { temp: 7 }, { tenantId: T2 }), offset: 2 }])] });
        await store.deleteDevice(T1, 'a', false, 5000);
        const refusal = await store.registerDevice(T1, { id: 'a', name: 'too soon', tags: [] }).then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(refusal).toBeInstanceOf(TelemetryError);
        expect(refusal).toMatchObject({ code: 'UNAVAILABLE', retryable: true, details: { reason: 'DEVICE_DATA_REMOVAL' } });
        // The refusal registered nothing.
        expect(await store.getDevices(T1, ['a'])).toEqual([]);
        await removeAll(1);
        expect(await store.registerDevice(T1, { id: 'a', name: 'again', tags: [] })).toMatchObject({ id: 'a', name: 'again' });
        expect((await store.queryReadings(T1, { deviceId: 'a', metric: 'temp', first: 10, order: 'OLDEST_FIRST' })).items).toEqual([]);
        expect((await store.queryReadings(T2, { deviceId: 'a', metric: 'temp', first: 10, order: 'OLDEST_FIRST' })).items.map((p) => p.value)).toEqual([7]);
        // A device that never sent a reading has nothing to remove: its id is free at once.
        expect(await store.deleteDevice(T1, 'c', false, 6000)).toEqual({ revokedKeyIds: [], removingData: false });
        expect(await store.registerDevice(T1, { id: 'c', name: 'again', tags: [] })).toMatchObject({ id: 'c' });
      });

      it('dead-letters readings of a deleted device in the batch transaction, and applies them again once its id is registered again', async () => {
        await store.deleteDevice(T1, 'a', false, 5000);
        const late = { ...reading('a', 2000, { temp: 1 }), offset: 0, payload: '{"the":"original message"}' };
        const other = { ...reading('b', 2000, { temp: 1 }), offset: 1 };
        const result = await applyBatch(store, { source: 'readings', partitions: [slice(0, [late, other])] });
        expect(result.persisted.map((r) => r.deviceId)).toEqual(['b']);
        const letters = (await store.listDeadLetters(T1, { first: 10 })).items;
        expect(letters).toHaveLength(1);
        expect(letters[0]).toMatchObject({ offset: 0, payload: '{"the":"original message"}' });
        expect(letters[0]!.reason).toMatch(/^DEVICE_DELETED: device "a" of tenant "tenant-one" was deleted/);

        await removeAll(100);
        await store.registerDevice(T1, { id: 'a', name: 'again', tags: [] });
        const again = { ...reading('a', 3000, { temp: 1 }), offset: 2 };
        expect((await applyBatch(store, { source: 'readings', partitions: [slice(0, [again])] })).persisted.map((r) => r.deviceId)).toEqual(['a']);
      });
    });
  });
}
