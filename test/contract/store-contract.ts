import { applyBatch } from '../../src/consumers/pipeline/apply-batch';
import { TelemetryError } from '../../src/domain/errors';
import type { Reading } from '../../src/domain/reading';
import type { PartitionBatch } from '../../src/domain/consumer-batch';
import type { DeadLetter } from '../../src/domain/dead-letter';
import type { Store } from '../../src/store/store';

export interface StoreHarness {
  readonly store: Store;
  close(): Promise<void>;
}

const T1 = 'tenant-one';
const T2 = 'tenant-two';

let sequence = 0;
function reading(deviceId: string, timestamp: number, metrics: Record<string, number>, overrides: Partial<Reading> = {}): Reading {
  return {
    tenantId: T1,
    deviceId,
    eventId: `evt-${++sequence}`,
    timestamp,
    metrics: Object.entries(metrics).map(([name, value]) => ({ name, value })),
    ...overrides,
  };
}

function slice(partition: number, items: (Reading & { offset: number })[], extra: Partial<PartitionBatch> = {}): PartitionBatch {
  return { partition, lastOffset: Math.max(...items.map((i) => i.offset)), readings: items, deadLetters: [], ...extra };
}

/** The Store contract, against the interface only: SQLite now, Oracle when configured. */
export function describeStoreContract(name: string, create: () => Promise<StoreHarness>): void {
  describe(`Store contract: ${name}`, () => {
    let harness: StoreHarness;
    let store: Store;
    beforeEach(async () => {
      harness = await create();
      store = harness.store;
      await store.ensureTenant(T1, 'One');
      await store.ensureTenant(T2, 'Two');
      for (const id of ['a', 'b', 'c']) await store.registerDevice(T1, { id, name: `Device ${id.toUpperCase()}`, tags: id === 'c' ? ['cold'] : ['hot'] });
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

    describe('API keys', () => {
      it('finds keys by secret hash only, scoped to their tenant and role', async () => {
        expect(await store.countAdminKeys()).toBe(0);
        await store.createApiKey({ id: 'k1', tenantId: T1, role: 'admin', label: 'ops', secretHash: 'f'.repeat(64) });
        await store.createApiKey({ id: 'k2', tenantId: T2, role: 'device', deviceId: 'a', label: 'dev', secretHash: 'e'.repeat(64) });
        expect(await store.findApiKeyBySecretHash('f'.repeat(64))).toEqual({ id: 'k1', tenantId: T1, role: 'admin', deviceId: null, label: 'ops' });
        expect(await store.findApiKeyBySecretHash('e'.repeat(64))).toMatchObject({ tenantId: T2, role: 'device', deviceId: 'a' });
        expect(await store.findApiKeyBySecretHash('0'.repeat(64))).toBeUndefined();
        expect(await store.countAdminKeys()).toBe(1);
      });

      it("revokes any key but the tenant's last active admin key, in one transaction", async () => {
        await store.createApiKey({ id: 'a1', tenantId: T1, role: 'admin', label: 'one', secretHash: '1'.repeat(64) });
        await store.createApiKey({ id: 'a2', tenantId: T1, role: 'admin', label: 'two', secretHash: '2'.repeat(64) });
        await store.createApiKey({ id: 'r1', tenantId: T1, role: 'reader', label: 'reader', secretHash: '3'.repeat(64) });
        await store.createApiKey({ id: 'b1', tenantId: T2, role: 'admin', label: 'other tenant', secretHash: '4'.repeat(64) });
        // Both admins revoked "at once": the second finds the first already revoked.
        const outcomes = await Promise.all([store.revokeApiKey(T1, 'a1', 5), store.revokeApiKey(T1, 'a2', 5)]);
        expect(outcomes.map((o) => o.outcome)).toEqual(['REVOKED', 'LAST_ADMIN_KEY']);
        expect(outcomes[0]).toMatchObject({ key: { id: 'a1', revokedAt: 5 } });
        expect((await store.listApiKeys(T1, false)).map((k) => k.id).sort()).toEqual(['a2', 'r1']);
        expect(await store.revokeApiKey(T1, 'r1', 6)).toMatchObject({ outcome: 'REVOKED', key: { id: 'r1', revokedAt: 6 } });
        expect(await store.revokeApiKey(T1, 'b1', 6)).toEqual({ outcome: 'NOT_FOUND' }); // another tenant's
        expect(await store.revokeApiKey(T1, 'nope', 6)).toEqual({ outcome: 'NOT_FOUND' });
        expect((await store.listApiKeys(T2, false)).map((k) => k.id)).toEqual(['b1']);
      });
    });

    describe('webhooks', () => {
      it('creates webhooks up to the limit, counted with the insert', async () => {
        const hook = (id: string, tenantId = T1) => ({
          tenantId,
          id,
          url: `https://example.com/${id}`,
          minSeverity: 'WARNING' as const,
          createdAt: 1,
          secret: 's',
        });
        const outcomes = await Promise.all([store.createWebhook(hook('w1'), 2), store.createWebhook(hook('w2'), 2), store.createWebhook(hook('w3'), 2)]);
        expect(outcomes.map((o) => o.outcome)).toEqual(['CREATED', 'CREATED', 'LIMIT_REACHED']);
        expect((await store.listWebhooks(T1)).map((w) => w.id)).toEqual(['w1', 'w2']);
        expect(await store.createWebhook(hook('w4', T2), 2)).toMatchObject({ outcome: 'CREATED', webhook: { id: 'w4', tenantId: T2 } });
      });
    });
  });
}
