import { openAnomalyFeed } from '../../src/subscriptions/anomaly-feed';
import { TenantHub } from '../../src/subscriptions/tenant-hub';
import type { Anomaly } from '../../src/domain/anomalies/anomaly';
import type { AnomalyStore } from '../../src/store/ports/anomaly-store';
import { fakePort } from '../support/fake-port';

const T = 'tenant-a';
const anomaly = (seq: number, tenantId = T): Anomaly =>
  ({ seq, tenantId, deviceId: seq % 3 === 0 ? 'pump-3' : 'pump-1', severity: seq % 2 ? 'WARNING' : 'CRITICAL' }) as unknown as Anomaly;

/** The anomaly adapter of the resumable feed over a store that holds many anomalies. */
describe('anomalyDetected resume', () => {
  it('replays 25,000 missed anomalies of the tenant, page by page, in seq order (it used to end with SLOW_SUBSCRIBER past 10,000)', async () => {
    const stored = Array.from({ length: 30_000 }, (_, i) => anomaly(i + 1, i % 6 === 5 ? 'tenant-b' : T));
    let reads = 0;
    const store = fakePort<AnomalyStore>({
      anomaliesAfter: async (tenantId: string, afterSeq: number, limit: number) => {
        reads++;
        const page: Anomaly[] = [];
        for (let i = afterSeq; i < stored.length && page.length < limit; i++) if (stored[i]!.tenantId === tenantId) page.push(stored[i]!); // seq n is at index n - 1
        return page;
      },
      lastAnomalySeq: async () => stored.length,
      prunedAnomalySeq: async () => 0,
    });
    const expected = stored.filter((a) => a.tenantId === T && a.seq > 10).map((a) => a.seq);
    const feed = await openAnomalyFeed({ hub: new TenantHub<Anomaly>(), store, tenantId: T, afterSeq: 10 });
    const seqs: number[] = [];
    const cursors: string[] = [];
    for await (const item of feed) {
      seqs.push(item.anomaly.seq);
      cursors.push(item.cursor);
      if (seqs.length === expected.length) break;
    }
    expect(seqs).toEqual(expected);
    expect(JSON.parse(Buffer.from(cursors.at(-1)!, 'base64url').toString('utf8'))).toBe(expected.at(-1));
    expect(reads).toBeGreaterThan(40); // 25,000 of the tenant's anomalies, 500 per page
  });

  it('filters by device after moving the position', async () => {
    const stored = Array.from({ length: 2_000 }, (_, i) => anomaly(i + 1));
    const store = fakePort<AnomalyStore>({
      anomaliesAfter: async (_t: string, afterSeq: number, limit: number) => stored.filter((a) => a.seq > afterSeq).slice(0, limit),
      lastAnomalySeq: async () => stored.length,
      prunedAnomalySeq: async () => 0,
    });
    const feed = await openAnomalyFeed({ hub: new TenantHub<Anomaly>(), store, tenantId: T, deviceId: 'pump-3', afterSeq: 0, replayPageSize: 7 });
    const seqs: number[] = [];
    for await (const item of feed) if (seqs.push(item.anomaly.seq) === 666) break;
    expect(seqs).toEqual(stored.filter((a) => a.deviceId === 'pump-3').map((a) => a.seq));
  });

  it('refuses a cursor beyond the last stored anomaly', async () => {
    const hub = new TenantHub<Anomaly>();
    const store = fakePort<AnomalyStore>({ anomaliesAfter: async () => [], lastAnomalySeq: async () => 7 });
    await expect(openAnomalyFeed({ hub, store, tenantId: T, afterSeq: 8 })).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      details: { reason: 'CURSOR_UNKNOWN' },
    });
    expect(hub.subscriberCount).toBe(0);
  });

  it('claims a range of seqs free of changes on their way only when every change through its end has reached the hub', async () => {
    const store = fakePort<AnomalyStore>({
      anomaliesAfter: async () => [],
      lastAnomalySeq: async () => 20,
      prunedAnomalySeq: async () => 0,
    });
    let publishedThrough = 15;
    const ordered = await openAnomalyFeed({ hub: new TenantHub<Anomaly>(), store, tenantId: T, afterSeq: 10, publishedThrough: () => publishedThrough });
    // seq 16-20 may be stored and not yet published (or replaced before it is): not provably settled.
    expect(await ordered.storedIn(new Map([[0, [10, 20]]]))).toBe(true);
    expect(await ordered.storedIn(new Map([[0, [10, 15]]]))).toBe(false);
    publishedThrough = 20;
    expect(await ordered.storedIn(new Map([[0, [10, 20]]]))).toBe(false);
    expect(await ordered.storedIn(new Map())).toBe(false);
    // Without the hub's order to ask, never: such a subscription joins only at equal positions.
    const unordered = await openAnomalyFeed({ hub: new TenantHub<Anomaly>(), store, tenantId: T, afterSeq: 10 });
    expect(await unordered.storedIn(new Map([[0, [10, 11]]]))).toBe(true);
    await ordered.return();
    await unordered.return();
  });
});
