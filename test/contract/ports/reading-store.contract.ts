import { applyBatch } from '../../../src/consumers/pipeline/apply-batch';
import type { BatchStore } from '../../../src/store/ports/batch-store';
import type { ReadingStore } from '../../../src/store/ports/reading-store';
import { ensureTenantsAndDevices, reading, slice, T1, T2, type DeviceSetup, type PortHarness } from './fixtures';

/** ReadingStore, plus the batch port that writes readings, and tenants and devices (tenant-key and device ports) for setup. */
export type ReadingStoreHarness = PortHarness<ReadingStore & BatchStore & DeviceSetup>;

/** The ReadingStore contract, against the port only (setup: ensureTenantsAndDevices). */
export function describeReadingStoreContract(name: string, create: () => Promise<ReadingStoreHarness>): void {
  describe(`ReadingStore contract: ${name}`, () => {
    let harness: ReadingStoreHarness;
    let store: ReadingStoreHarness['store'];
    beforeEach(async () => {
      harness = await create();
      store = harness.store;
      await ensureTenantsAndDevices(store);
    });
    afterEach(() => harness.close());

    describe('queries', () => {
      beforeEach(async () => {
        const items = Array.from({ length: 10 }, (_, i) => ({ ...reading('a', 1000 * (i + 1), { temp: i }), offset: i }));
        await applyBatch(store, { source: 'readings', partitions: [slice(0, items)] });
        await applyBatch(store, {
          source: 'readings',
          partitions: [
            slice(1, [
              { ...reading('b', 500, { temp: 100 }), offset: 0 },
              { ...reading('a', 500, { temp: -1 }, { tenantId: T2 }), offset: 1 },
            ]),
          ],
        });
      });

      it('pages readings in either order within [from, to)', async () => {
        const newest = await store.queryReadings(T1, { deviceId: 'a', metric: 'temp', first: 3, order: 'NEWEST_FIRST' });
        expect(newest).toMatchObject({ hasMore: true });
        expect(newest.items.map((p) => p.value)).toEqual([9, 8, 7]);
        const next = await store.queryReadings(T1, { deviceId: 'a', metric: 'temp', first: 3, order: 'NEWEST_FIRST', afterTimestamp: 8000 });
        expect(next.items.map((p) => p.value)).toEqual([6, 5, 4]);
        const range = await store.queryReadings(T1, { deviceId: 'a', metric: 'temp', first: 10, order: 'OLDEST_FIRST', from: 3000, to: 6000 });
        expect(range).toMatchObject({ hasMore: false });
        expect(range.items.map((p) => p.timestamp)).toEqual([3000, 4000, 5000]);
      });

      it('replays persisted events after per-partition positions, in offset order, for one tenant only', async () => {
        const events = await store.readingEventsAfter({
          tenantId: T1,
          deviceIds: ['a', 'b'],
          after: new Map([
            [0, 6],
            [1, -1],
          ]),
          limit: 100,
        });
        expect(events.map((e) => [e.partition, e.offset, e.deviceId])).toEqual([
          [0, 7, 'a'],
          [0, 8, 'a'],
          [0, 9, 'a'],
          [1, 0, 'b'],
        ]);
        const limited = await store.readingEventsAfter({ tenantId: T1, deviceIds: ['a'], after: new Map([[0, -1]]), limit: 4 });
        expect(limited.map((e) => e.offset)).toEqual([0, 1, 2, 3]);
        const other = await store.readingEventsAfter({
          tenantId: T2,
          deviceIds: ['a', 'b'],
          after: new Map([
            [0, -1],
            [1, -1],
          ]),
          limit: 100,
        });
        expect(other.map((e) => [e.tenantId, e.deviceId, e.metrics])).toEqual([[T2, 'a', [{ name: 'temp', value: -1 }]]]);
      });
    });

    describe('replaying events to a resuming subscriber', () => {
      it('pages through every event of the named devices, in offset order, however sparse they are in the partition', async () => {
        // Partition 2: 3,000 offsets; device c holds every 97th, a and b the rest; T2 interleaved.
        const items = Array.from({ length: 3_000 }, (_, offset) => {
          const device = offset % 97 === 0 ? 'c' : offset % 2 === 0 ? 'a' : 'b';
          return { ...reading(device, 10_000 + offset, { n: offset }, offset % 5 === 0 ? { tenantId: T2 } : {}), offset };
        });
        for (let i = 0; i < items.length; i += 500) await applyBatch(store, { source: 'readings', partitions: [slice(2, items.slice(i, i + 500))] });
        const replay = async (deviceIds: string[], limit: number) => {
          const offsets: number[] = [];
          let after = -1;
          for (;;) {
            const page = await store.readingEventsAfter({ tenantId: T1, deviceIds, after: new Map([[2, after]]), limit });
            expect(page.length).toBeLessThanOrEqual(limit);
            offsets.push(...page.map((event) => event.offset));
            if (page.length < limit) return offsets;
            after = page.at(-1)!.offset;
          }
        };
        const expected = (devices: string[]) => items.filter((item) => item.tenantId === T1 && devices.includes(item.deviceId)).map((item) => item.offset);
        expect(await replay(['c'], 7)).toEqual(expected(['c']));
        expect(await replay(['a', 'c'], 500)).toEqual(expected(['a', 'c']));
        expect(await replay(['a', 'b', 'c'], 13)).toEqual(expected(['a', 'b', 'c']));
      });
    });
  });
}
