import { applyBatch } from '../../../src/consumers/pipeline/apply-batch';
import type { DeadLetter } from '../../../src/domain/dead-letter';
import type { BatchStore } from '../../../src/store/ports/batch-store';
import type { DeadLetterStore } from '../../../src/store/ports/dead-letter-store';
import type { ReadingStore } from '../../../src/store/ports/reading-store';
import { ensureTenantsAndDevices, reading, T1, T2, type DeviceSetup, type PortHarness } from './fixtures';

/** DeadLetterStore, plus the batch port that writes dead letters, the watermarks (reading port), and tenants and devices for setup. */
export type DeadLetterStoreHarness = PortHarness<DeadLetterStore & BatchStore & Pick<ReadingStore, 'watermarks'> & DeviceSetup>;

/** The DeadLetterStore contract, against the port only (setup: ensureTenantsAndDevices). */
export function describeDeadLetterStoreContract(name: string, create: () => Promise<DeadLetterStoreHarness>): void {
  describe(`DeadLetterStore contract: ${name}`, () => {
    let harness: DeadLetterStoreHarness;
    let store: DeadLetterStoreHarness['store'];
    beforeEach(async () => {
      harness = await create();
      store = harness.store;
      await ensureTenantsAndDevices(store);
    });
    afterEach(() => harness.close());

    describe('applying consumer batches', () => {
      it('stores dead letters with their reason and payload, per tenant', async () => {
        await applyBatch(store, {
          source: 'readings',
          partitions: [
            {
              partition: 3,
              lastOffset: 11,
              readings: [{ ...reading('a', 1000, { temp: 1 }), offset: 11 }],
              deadLetters: [
                { tenantId: T1, topic: 'readings', partition: 3, offset: 10, reason: 'UNKNOWN_DEVICE: ghost', payload: '{"x":1}' },
                { tenantId: null, topic: 'readings', partition: 3, offset: 9, reason: 'MALFORMED: not JSON', payload: 'garbage' },
              ],
            },
          ],
        });
        const letters = await store.listDeadLetters(T1, { first: 10 });
        expect(letters.items).toEqual([
          expect.objectContaining({ tenantId: T1, partition: 3, offset: 10, reason: 'UNKNOWN_DEVICE: ghost', payload: '{"x":1}' }),
        ]);
        expect((await store.listDeadLetters(T2, { first: 10 })).items).toEqual([]);
        // Counted through the listing, every page of it: the tenant sees its letter only (the
        // tenantless one is kept for operators but listed to no tenant).
        const allLetters = async (tenantId: string) => {
          const found: DeadLetter[] = [];
          let afterKey: string | undefined;
          for (;;) {
            const page = await store.listDeadLetters(tenantId, { first: 1, afterKey });
            found.push(...page.items);
            if (!page.hasMore) return found;
            afterKey = String(page.items.at(-1)!.id);
          }
        };
        expect((await allLetters(T1)).map((l) => l.offset)).toEqual([10]);
        expect(await allLetters(T2)).toEqual([]);
        const [letter] = letters.items;
        expect(await store.getDeadLetter(T2, letter!.id)).toBeUndefined();
        await store.markDeadLetterReplayed(T2, letter!.id, 5);
        expect((await store.getDeadLetter(T1, letter!.id))?.replayedAt).toBeNull();
        await store.markDeadLetterReplayed(T1, letter!.id, 5);
        expect((await store.getDeadLetter(T1, letter!.id))?.replayedAt).toBe(5);
        expect(await store.watermarks('readings')).toEqual(new Map([[3, 11]]));
      });
    });
  });
}
