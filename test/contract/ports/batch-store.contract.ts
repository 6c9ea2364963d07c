import { applyBatch } from '../../../src/consumers/pipeline/apply-batch';
import type { BatchStore } from '../../../src/store/ports/batch-store';
import type { ReadingStore } from '../../../src/store/ports/reading-store';
import { ensureTenantsAndDevices, reading, slice, T1, type DeviceSetup, type PortHarness } from './fixtures';

/** BatchStore (the write path), plus the reading port to read back what it wrote, and tenants and devices (tenant-key and device ports) for setup. */
export type BatchStoreHarness = PortHarness<BatchStore & Pick<ReadingStore, 'watermarks' | 'latestReadings' | 'queryReadings'> & DeviceSetup>;

/** The BatchStore contract, against the port only (setup: ensureTenantsAndDevices). */
export function describeBatchStoreContract(name: string, create: () => Promise<BatchStoreHarness>): void {
  describe(`BatchStore contract: ${name}`, () => {
    let harness: BatchStoreHarness;
    let store: BatchStoreHarness['store'];
    beforeEach(async () => {
      harness = await create();
      store = harness.store;
      await ensureTenantsAndDevices(store);
    });
    afterEach(() => harness.close());

    describe('applying consumer batches', () => {
      it('stores readings, the watermark and the latest values in one batch', async () => {
        const r1 = { ...reading('a', 1000, { temp: 20, hum: 40 }), offset: 0 };
        const r2 = { ...reading('a', 2000, { temp: 21 }), offset: 1 };
        const result = await applyBatch(store, { source: 'readings', partitions: [slice(0, [r1, r2])] });
        expect(result.persisted.map((p) => [p.eventId, p.partition, p.offset])).toEqual([
          [r1.eventId, 0, 0],
          [r2.eventId, 0, 1],
        ]);
        expect(await store.watermarks('readings')).toEqual(new Map([[0, 1]]));
        const latest = await store.latestReadings(T1, ['a', 'b']);
        expect(latest.get('a')).toEqual([
          { deviceId: 'a', metric: 'hum', timestamp: 1000, value: 40 },
          { deviceId: 'a', metric: 'temp', timestamp: 2000, value: 21 },
        ]);
        expect(latest.has('b')).toBe(false);
      });

      it('skips messages at or below the watermark, so a replayed batch changes nothing', async () => {
        const batch = {
          source: 'readings',
          partitions: [
            slice(2, [
              { ...reading('b', 1000, { temp: 1 }), offset: 5 },
              { ...reading('b', 2000, { temp: 2 }), offset: 6 },
            ]),
          ],
        };
        await applyBatch(store, batch);
        const replay = await applyBatch(store, batch);
        expect(replay).toMatchObject({ persisted: [], skippedAsReplayed: 2 });
        // A batch that overlaps the watermark applies only what lies beyond it.
        const overlap = await applyBatch(store, {
          source: 'readings',
          partitions: [
            slice(2, [
              { ...reading('b', 2000, { temp: 2 }), offset: 6 },
              { ...reading('b', 3000, { temp: 3 }), offset: 7 },
            ]),
          ],
        });
        expect(overlap.persisted.map((p) => p.offset)).toEqual([7]);
        const stored = await store.queryReadings(T1, { deviceId: 'b', metric: 'temp', first: 10, order: 'OLDEST_FIRST' });
        expect(stored.items.map((p) => p.value)).toEqual([1, 2, 3]);
      });

      it('deduplicates by event id and by (device, metric, timestamp)', async () => {
        const original = reading('a', 5000, { temp: 30, hum: 50 });
        await applyBatch(store, { source: 'readings', partitions: [slice(0, [{ ...original, offset: 0 }])] });
        // The same event id re-sent (client retry) at a new offset: nothing stored, nothing published.
        const retried = await applyBatch(store, { source: 'readings', partitions: [slice(0, [{ ...original, offset: 1 }])] });
        expect(retried).toMatchObject({ persisted: [], duplicateEvents: 1 });
        // A new event id for an already stored (device, metric, timestamp): only the new metric counts.
        const overlapping = { ...reading('a', 5000, { temp: 99, pressure: 1 }), offset: 2 };
        const result = await applyBatch(store, { source: 'readings', partitions: [slice(0, [overlapping])] });
        expect(result.persisted).toHaveLength(1);
        expect(result.persisted[0]!.metrics).toEqual([{ name: 'pressure', value: 1 }]);
        const temps = await store.queryReadings(T1, { deviceId: 'a', metric: 'temp', first: 10, order: 'OLDEST_FIRST' });
        expect(temps.items.map((p) => p.value)).toEqual([30]);
        // Within one batch the lower offset wins a natural-key tie.
        const x = { ...reading('c', 7000, { v: 1 }), offset: 3 };
        const y = { ...reading('c', 7000, { v: 2 }), offset: 4 };
        const tie = await applyBatch(store, { source: 'readings', partitions: [slice(0, [x, y])] });
        expect(tie.persisted.map((p) => p.eventId)).toEqual([x.eventId]);
        expect((await store.queryReadings(T1, { deviceId: 'c', metric: 'v', first: 10, order: 'OLDEST_FIRST' })).items.map((p) => p.value)).toEqual([1]);
      });

      it('keeps the newest value as latest when readings arrive out of order', async () => {
        await applyBatch(store, { source: 'readings', partitions: [slice(1, [{ ...reading('a', 9000, { temp: 9 }), offset: 0 }])] });
        await applyBatch(store, { source: 'readings', partitions: [slice(1, [{ ...reading('a', 4000, { temp: 4 }), offset: 1 }])] });
        expect((await store.latestReadings(T1, ['a'])).get('a')).toEqual([{ deviceId: 'a', metric: 'temp', timestamp: 9000, value: 9 }]);
      });
    });
  });
}
