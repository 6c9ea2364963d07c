import { applyBatch } from '../../../src/consumers/pipeline/apply-batch';
import type { Anomaly, AnomalyTransition } from '../../../src/domain/anomalies/anomaly';
import type { AnomalyRule } from '../../../src/domain/anomalies/rules';
import { TelemetryError } from '../../../src/domain/errors';
import type { Reading } from '../../../src/domain/reading';
import type { AnomalyFilter, AnomalyStore } from '../../../src/store/ports/anomaly-store';
import type { BatchStore } from '../../../src/store/ports/batch-store';
import { allNodes } from '../../support/paging';
import { ensureTenantsAndDevices, reading, slice, T1, T2, type DeviceSetup, type PortHarness } from './fixtures';

/** AnomalyStore, plus the batch port whose detection raises anomalies, and tenants and devices (tenant-key and device ports) for setup. */
export type AnomalyStoreHarness = PortHarness<AnomalyStore & BatchStore & DeviceSetup>;

/** A rule with every detector off: each case turns on the one it means to fire. */
function rule(tenantId: string, id: string, scope: AnomalyRule['scope'], metric: string, settings: Partial<AnomalyRule> = {}): AnomalyRule {
  return {
    id,
    tenantId,
    scope,
    metric,
    zScore: null,
    min: null,
    max: null,
    maxRatePerSecond: null,
    severity: 'WARNING',
    clearAfterMs: null,
    updatedAt: 1,
    ...settings,
  };
}

const byId = (rules: readonly AnomalyRule[]) => [...rules].sort((x, y) => x.id.localeCompare(y.id));
const seqs = (anomalies: readonly Anomaly[]) => anomalies.map((a) => a.seq);
const newestFirst = (anomalies: readonly Anomaly[]) => [...anomalies].sort((x, y) => y.seq - x.seq);
const DETECTED_AT = Date.parse('2026-06-01T00:00:00Z');

/** The AnomalyStore contract, against the port only (setup: ensureTenantsAndDevices). */
export function describeAnomalyStoreContract(name: string, create: () => Promise<AnomalyStoreHarness>): void {
  describe(`AnomalyStore contract: ${name}`, () => {
    let harness: AnomalyStoreHarness;
    let store: AnomalyStoreHarness['store'];
    beforeEach(async () => {
      harness = await create();
      store = harness.store;
      await ensureTenantsAndDevices(store);
    });
    afterEach(() => harness.close());

    describe('rules', () => {
      it('creates a rule and returns it as stored, for each kind of scope', async () => {
        const rules = [
          rule(T1, 'r-tenant', { kind: 'tenant' }, '*', { zScore: { threshold: 2.5, window: 30, warmup: 10 }, severity: 'INFO' }),
          rule(T1, 'r-device', { kind: 'device', deviceId: 'a' }, 'temp', { min: -10.5, max: 40, severity: 'CRITICAL', updatedAt: 7 }),
          rule(T1, 'r-tag', { kind: 'tag', tag: 'cold' }, 'hum', { maxRatePerSecond: 0.25 }),
        ];
        for (const one of rules) expect(await store.putAnomalyRule(one)).toEqual(one);
        expect(byId(await store.listAnomalyRules(T1))).toEqual(byId(rules));
      });

      it('replaces the rule of the same (scope, metric), keeping its id; another scope or metric is another rule', async () => {
        const original = rule(T1, 'r1', { kind: 'device', deviceId: 'a' }, 'temp', { max: 40, updatedAt: 1 });
        await store.putAnomalyRule(original);
        const replacement = rule(T1, 'r2', { kind: 'device', deviceId: 'a' }, 'temp', {
          zScore: { threshold: 4, window: 20, warmup: 5 },
          min: 0,
          maxRatePerSecond: 3,
          severity: 'CRITICAL',
          updatedAt: 2,
        });
        const stored = await store.putAnomalyRule(replacement);
        expect(stored).toEqual({ ...replacement, id: 'r1' });
        expect(await store.listAnomalyRules(T1)).toEqual([stored]);

        const otherMetric = await store.putAnomalyRule(rule(T1, 'r3', { kind: 'device', deviceId: 'a' }, 'hum'));
        const otherDevice = await store.putAnomalyRule(rule(T1, 'r4', { kind: 'device', deviceId: 'b' }, 'temp'));
        const tagNamedLikeTheDevice = await store.putAnomalyRule(rule(T1, 'r5', { kind: 'tag', tag: 'a' }, 'temp'));
        expect(byId(await store.listAnomalyRules(T1))).toEqual([stored, otherMetric, otherDevice, tagNamedLikeTheDevice]);
      });

      it("lists only the tenant's own rules, and the same (scope, metric) in another tenant is another rule", async () => {
        const mine = await store.putAnomalyRule(rule(T1, 'r1', { kind: 'tenant' }, 'temp', { max: 10 }));
        const theirs = await store.putAnomalyRule(rule(T2, 'r2', { kind: 'tenant' }, 'temp', { max: 20 }));
        expect(theirs).toMatchObject({ id: 'r2', tenantId: T2, max: 20 });
        expect(await store.listAnomalyRules(T1)).toEqual([mine]);
        expect(await store.listAnomalyRules(T2)).toEqual([theirs]);
        expect(await store.listAnomalyRules('tenant-without-rules')).toEqual([]);
      });

      it("deletes a rule once (true, then false), and never another tenant's", async () => {
        await store.putAnomalyRule(rule(T1, 'r1', { kind: 'tenant' }, 'temp'));
        const theirs = await store.putAnomalyRule(rule(T2, 'r2', { kind: 'tenant' }, 'temp'));
        expect(await store.deleteAnomalyRule(T1, 'r2')).toBe(false);
        expect(await store.listAnomalyRules(T2)).toEqual([theirs]);
        expect(await store.deleteAnomalyRule(T1, 'no-such-rule')).toBe(false);
        expect(await store.deleteAnomalyRule(T1, 'r1')).toBe(true);
        expect(await store.deleteAnomalyRule(T1, 'r1')).toBe(false);
        expect(await store.listAnomalyRules(T1)).toEqual([]);
        expect(await store.listAnomalyRules(T2)).toEqual([theirs]);
      });
    });

    describe('anomalies', () => {
      /** Every change the batches below returned, batch by batch (an anomaly comes again each time a trigger updates it). */
      let batches: Anomaly[][];
      /** Each anomaly as its latest change left it, in seq order: what the store holds. */
      let raised: Anomaly[];
      let offset: number;
      const apply = async (...readings: Reading[]) => {
        const items = readings.map((one) => ({ ...one, offset: offset++ }));
        const { anomalies } = await applyBatch(store, { source: 'readings', partitions: [slice(0, items)] }, DETECTED_AT);
        batches.push(anomalies);
        const latest = new Map<number, Anomaly>();
        for (const anomaly of batches.flat()) latest.set(anomaly.id, anomaly);
        raised = [...latest.values()].sort((x, y) => x.seq - y.seq);
      };
      const t1 = () => raised.filter((a) => a.tenantId === T1);
      const t2 = () => raised.filter((a) => a.tenantId === T2);
      /** Every anomaly of T1 that `filter` lets through, read page by page (afterKey = the last seq) until hasMore is false. */
      const listAll = (filter: AnomalyFilter, first: number) =>
        allNodes(async (after) => {
          const page = await store.listAnomalies(T1, filter, { first, afterKey: after });
          expect(page.items.length).toBeLessThanOrEqual(first);
          return { edges: page.items.map((node) => ({ node })), pageInfo: { hasNextPage: page.hasMore, endCursor: page.items.at(-1)?.seq.toString() } };
        });
      const stored = async (tenantId: string, seq: number) => (await store.listAnomalies(tenantId, {}, { first: 100 })).items.find((a) => a.seq === seq);

      beforeEach(async () => {
        raised = [];
        batches = [];
        offset = 0;
        // Each device fires one detector at its own severity, so every filter selects a known set.
        await store.putAnomalyRule(rule(T1, 'a-max', { kind: 'device', deviceId: 'a' }, 'temp', { max: 50, severity: 'CRITICAL' }));
        await store.putAnomalyRule(rule(T1, 'b-rate', { kind: 'device', deviceId: 'b' }, 'temp', { maxRatePerSecond: 1, severity: 'INFO' }));
        await store.putAnomalyRule(rule(T1, 'cold-min', { kind: 'tag', tag: 'cold' }, '*', { min: 0, severity: 'WARNING' }));
        await store.putAnomalyRule(rule(T2, 't2-max', { kind: 'tenant' }, '*', { max: 50, severity: 'CRITICAL' }));
        // Batches alternate between the tenants, so their anomalies interleave in seq order. A
        // device's later triggers update its open anomaly of that kind (a: 3 triggers, b: 2, T2's a: 2).
        await apply(reading('a', 1000, { temp: 60 }), reading('b', 1000, { temp: 0 }), reading('c', 1000, { temp: -5 }));
        await apply(reading('a', 1000, { temp: 99 }, { tenantId: T2 }));
        await apply(reading('a', 2000, { temp: 70 }), reading('b', 2000, { temp: 10 }), reading('c', 2000, { hum: -1 }));
        await apply(reading('a', 2000, { temp: 80 }, { tenantId: T2 }));
        await apply(reading('a', 3000, { temp: 55 }), reading('b', 3000, { temp: 30 }));
      });

      it('raises the anomalies the setup means, updating the open one of a series and kind, with seqs rising in commit order', () => {
        expect(
          raised
            .map((a) => `${a.tenantId}/${a.deviceId}/${a.metric}@${a.timestamp}-${a.lastTimestamp}:${a.kind}:${a.severity}:${a.status}x${a.occurrences}`)
            .sort(),
        ).toEqual(
          [
            `${T1}/a/temp@1000-3000:THRESHOLD:CRITICAL:OPENx3`,
            `${T1}/b/temp@2000-3000:RATE_OF_CHANGE:INFO:OPENx2`,
            `${T1}/c/temp@1000-1000:THRESHOLD:WARNING:OPENx1`,
            `${T1}/c/hum@2000-2000:THRESHOLD:WARNING:OPENx1`,
            `${T2}/a/temp@1000-2000:THRESHOLD:CRITICAL:OPENx2`,
          ].sort(),
        );
        expect(raised.find((a) => a.deviceId === 'a' && a.tenantId === T1)).toMatchObject({ value: 60, lastValue: 55, score: 20 });
        // An update keeps the id and takes a new seq, above every seq before it.
        expect(batches.map((batch) => batch.map((a) => a.id))).toEqual([[1, 2], [3], [1, 5, 6], [3], [1, 5]]);
        const all = batches.flat();
        for (let i = 1; i < all.length; i++) expect(all[i]!.seq).toBeGreaterThan(all[i - 1]!.seq);
      });

      it("lists the tenant's anomalies newest first, as raised, and no other tenant's", async () => {
        const page = await store.listAnomalies(T1, {}, { first: 100 });
        expect(page).toEqual({ items: newestFirst(t1()), hasMore: false });
        expect((await store.listAnomalies(T2, {}, { first: 100 })).items).toEqual(newestFirst(t2()));
      });

      it('filters by device, status, kind and minimum severity, alone and together', async () => {
        await store.transitionAnomaly(T1, t1().find((a) => a.deviceId === 'c')!.id, { action: 'acknowledge', by: 'k', at: 1 });
        await store.transitionAnomaly(T1, t1().find((a) => a.deviceId === 'a')!.id, { action: 'resolve', by: 'k', at: 2 });
        const now = (await store.listAnomalies(T1, {}, { first: 100 })).items;
        const expectFilter = async (filter: AnomalyFilter, keep: (a: Anomaly) => boolean, count: number) => {
          const expected = now.filter(keep);
          expect(expected).toHaveLength(count); // the filter selects some, and not all
          expect((await store.listAnomalies(T1, filter, { first: 100 })).items).toEqual(expected);
        };
        await expectFilter({ deviceId: 'b' }, (a) => a.deviceId === 'b', 1);
        await expectFilter({ status: 'OPEN' }, (a) => a.status === 'OPEN', 2);
        await expectFilter({ status: 'ACKNOWLEDGED' }, (a) => a.status === 'ACKNOWLEDGED', 1);
        await expectFilter({ status: 'RESOLVED' }, (a) => a.status === 'RESOLVED', 1);
        await expectFilter({ kind: 'RATE_OF_CHANGE' }, (a) => a.kind === 'RATE_OF_CHANGE', 1);
        await expectFilter({ kind: 'THRESHOLD' }, (a) => a.kind === 'THRESHOLD', 3);
        await expectFilter({ minSeverity: 'INFO' }, () => true, 4);
        await expectFilter({ minSeverity: 'WARNING' }, (a) => a.severity !== 'INFO', 3);
        await expectFilter({ minSeverity: 'CRITICAL' }, (a) => a.severity === 'CRITICAL', 1);
        await expectFilter({ deviceId: 'c', status: 'OPEN', kind: 'THRESHOLD', minSeverity: 'WARNING' }, (a) => a.deviceId === 'c' && a.status === 'OPEN', 1);
        expect((await store.listAnomalies(T1, { kind: 'SILENCE' }, { first: 100 })).items).toEqual([]);
        expect((await store.listAnomalies(T1, { deviceId: 'no-such-device' }, { first: 100 })).items).toEqual([]);
        // A filter never reaches into another tenant: T2's anomalies are all on a device named 'a'.
        expect((await store.listAnomalies(T2, { deviceId: 'b' }, { first: 100 })).items).toEqual([]);
      });

      it('pages newest first with afterKey: every page read to the end, none missing, none twice', async () => {
        for (const first of [1, 3, 7, 100]) expect(await listAll({}, first)).toEqual(newestFirst(t1()));
        // A page that ends exactly on the last anomaly says there is no more.
        const full = await store.listAnomalies(T1, {}, { first: t1().length });
        expect(full.hasMore).toBe(false);
        expect(await store.listAnomalies(T1, {}, { first: 3, afterKey: String(Math.min(...seqs(t1()))) })).toEqual({ items: [], hasMore: false });
        // Paging applies the filter to every page.
        const warnings = newestFirst(t1()).filter((a) => a.severity !== 'INFO');
        expect(await listAll({ minSeverity: 'WARNING' }, 2)).toEqual(warnings);
        expect(await listAll({ deviceId: 'a' }, 2)).toEqual(warnings.filter((a) => a.deviceId === 'a'));
      });

      it("reads a tenant's anomalies after a seq in seq order, honouring the limit", async () => {
        const mine = t1();
        expect(await store.anomaliesAfter(T1, 0, 100)).toEqual(mine);
        expect(await store.anomaliesAfter(T2, 0, 100)).toEqual(t2());
        expect(await store.anomaliesAfter(T1, mine[1]!.seq, 2)).toEqual(mine.slice(2, 4));
        expect(await store.anomaliesAfter(T1, mine.at(-1)!.seq, 100)).toEqual([]);
        // Read in pages of two, from 0: the whole sequence, once.
        const replayed: Anomaly[] = [];
        for (let page = await store.anomaliesAfter(T1, 0, 2); page.length > 0; page = await store.anomaliesAfter(T1, page.at(-1)!.seq, 2)) {
          expect(page.length).toBeLessThanOrEqual(2);
          replayed.push(...page);
        }
        expect(replayed).toEqual(mine);
      });

      it("reads every tenant's anomalies after a seq in seq order, honouring the limit", async () => {
        const all = [...raised].sort((x, y) => x.seq - y.seq);
        expect(new Set(all.map((a) => a.tenantId))).toEqual(new Set([T1, T2]));
        expect(await store.anomaliesOfAllTenantsAfter(0, 100)).toEqual(all);
        expect(await store.anomaliesOfAllTenantsAfter(all[1]!.seq, 3)).toEqual(all.slice(2, 5));
        expect(await store.anomaliesOfAllTenantsAfter(all.at(-1)!.seq, 100)).toEqual([]);
      });

      it('reports the highest seq stored', async () => {
        expect(await store.lastAnomalySeq()).toBe(Math.max(...seqs(batches.flat())));
        // A transition is a change like any other: it moves the anomaly to a new seq.
        const resolved = await store.transitionAnomaly(T2, t2().at(-1)!.id, { action: 'resolve', by: 'k', at: 1 });
        expect(await store.lastAnomalySeq()).toBe(resolved!.seq);
      });

      describe('transitions', () => {
        const acknowledge = (at: number): AnomalyTransition => ({ action: 'acknowledge', by: 'key-ack', at });
        const resolve = (at: number): AnomalyTransition => ({ action: 'resolve', by: 'key-res', at });

        it('acknowledges an OPEN anomaly, then resolves it, recording who and when', async () => {
          const open = t1()[0]!;
          const newest = Math.max(...seqs(batches.flat()));
          const acknowledged = await store.transitionAnomaly(T1, open.id, acknowledge(10));
          // Same id, a new seq after every other change: anomalyDetected delivers (and a resume replays) it.
          expect(acknowledged).toEqual({ ...open, seq: expect.any(Number), status: 'ACKNOWLEDGED', acknowledgedBy: 'key-ack', acknowledgedAt: 10 });
          expect(acknowledged!.seq).toBeGreaterThan(newest);
          expect(await stored(T1, acknowledged!.seq)).toEqual(acknowledged);
          expect(await stored(T1, open.seq)).toBeUndefined();
          expect(await store.anomaliesAfter(T1, newest, 10)).toEqual([acknowledged]);
          const resolved = await store.transitionAnomaly(T1, open.id, resolve(20));
          expect(resolved).toEqual({ ...acknowledged, seq: expect.any(Number), status: 'RESOLVED', resolvedBy: 'key-res', resolvedAt: 20 });
          expect(resolved!.seq).toBeGreaterThan(acknowledged!.seq);
          expect(await store.anomaliesAfter(T1, newest, 10)).toEqual([resolved]);
        });

        it('resolves an OPEN anomaly directly', async () => {
          const open = t1()[1]!;
          const resolved = await store.transitionAnomaly(T1, open.id, resolve(30));
          expect(resolved).toEqual({ ...open, seq: expect.any(Number), status: 'RESOLVED', resolvedBy: 'key-res', resolvedAt: 30 });
          expect(resolved!.seq).toBeGreaterThan(Math.max(...seqs(batches.flat())));
          expect(await stored(T1, resolved!.seq)).toEqual(resolved);
        });

        it('refuses a transition its status does not allow with BAD_USER_INPUT, and changes nothing', async () => {
          const [first, second] = t1();
          const acknowledged = (await store.transitionAnomaly(T1, first!.id, acknowledge(10)))!;
          const resolved = (await store.transitionAnomaly(T1, second!.id, resolve(10)))!;
          const refused: [Anomaly, AnomalyTransition][] = [
            [acknowledged, acknowledge(11)], // ACKNOWLEDGED -> ACKNOWLEDGED
            [resolved, acknowledge(12)], // RESOLVED -> ACKNOWLEDGED
            [resolved, resolve(13)], // RESOLVED -> RESOLVED
          ];
          for (const [anomaly, transition] of refused) {
            const before = await stored(T1, anomaly.seq);
            const attempt = store.transitionAnomaly(T1, anomaly.id, transition);
            await expect(attempt).rejects.toBeInstanceOf(TelemetryError);
            await expect(attempt).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
            expect(await stored(T1, anomaly.seq)).toEqual(before);
          }
        });

        it("answers undefined for an unknown seq and for another tenant's anomaly, which stays as it was", async () => {
          const unknown = Math.max(...seqs(batches.flat())) + 1000;
          expect(await store.transitionAnomaly(T1, unknown, acknowledge(10))).toBeUndefined();
          expect(await store.transitionAnomaly(T1, unknown, resolve(10))).toBeUndefined();
          const theirs = t2()[0]!;
          expect(await store.transitionAnomaly(T1, theirs.id, acknowledge(10))).toBeUndefined();
          expect(await store.transitionAnomaly(T1, theirs.id, resolve(10))).toBeUndefined();
          expect(await stored(T2, theirs.seq)).toEqual(theirs);
          expect(await stored(T1, theirs.seq)).toBeUndefined();
        });
      });
    });

    it('reports 0 as the highest seq while no anomaly is stored', async () => {
      expect(await store.lastAnomalySeq()).toBe(0);
      expect(await store.anomaliesOfAllTenantsAfter(0, 10)).toEqual([]);
      expect(await store.anomaliesAfter(T1, 0, 10)).toEqual([]);
      expect(await store.listAnomalies(T1, {}, { first: 10 })).toEqual({ items: [], hasMore: false });
    });
  });
}
