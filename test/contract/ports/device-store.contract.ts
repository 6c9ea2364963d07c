import { TelemetryError } from '../../../src/domain/errors';
import type { DeviceStore } from '../../../src/store/ports/device-store';
import { ensureTenantsAndDevices, T1, T2, type PortHarness, type TenantSetup } from './fixtures';

/** DeviceStore, plus ensureTenant (tenant-key port) for setup. */
export type DeviceStoreHarness = PortHarness<DeviceStore & TenantSetup>;

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
    });
  });
}
