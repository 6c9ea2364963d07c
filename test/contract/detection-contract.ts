import { applyBatch } from '../../src/consumers/pipeline/apply-batch';
import type { Anomaly } from '../../src/domain/anomalies/anomaly';
import type { Reading } from '../../src/domain/reading';
import type { PartitionBatch } from '../../src/domain/consumer-batch';
import type { Store } from '../../src/store/store';
import type { StoreHarness } from './store-contract';

const BASE = Date.parse('2026-06-01T00:00:00Z');

/** A noisy series with spikes, a threshold breach and a jump, for two metrics. */
function series(tenantId: string): Reading[] {
  const readings: Reading[] = [];
  for (let i = 0; i < 400; i++) {
    // Smooth noise: the default z-score judges changes, and a sawtooth's wrap-around is a change
    // five robust deviations out.
    const noise = (Math.sin(i) + 1) / 2;
    const temp = i === 150 || i === 320 ? 95 : 20 + noise;
    const rpm = i === 250 ? 5000 : 1000 + noise * 10;
    readings.push({
      tenantId,
      deviceId: 'a',
      eventId: `d${i}`,
      timestamp: BASE + i * 1000,
      metrics: [
        { name: 'temp', value: temp },
        { name: 'rpm', value: rpm },
      ],
    });
  }
  return readings;
}

/** What detection decided, without what differs by when it ran (detectedAt) or how it was batched (seq, id). */
const summary = (anomalies: readonly Anomaly[]) =>
  [...anomalies]
    .sort((a, b) => a.timestamp - b.timestamp || (a.metric ?? '').localeCompare(b.metric ?? '') || a.kind.localeCompare(b.kind))
    .map((a) => [
      a.kind,
      a.metric,
      a.timestamp - BASE,
      a.score,
      a.value,
      a.expectedMin,
      a.expectedMax,
      a.severity,
      a.occurrences,
      a.lastValue,
      a.lastTimestamp - BASE,
      a.status,
      a.resolvedBy,
      a.resolvedAt === null ? null : a.resolvedAt - BASE,
    ]);

/** Each anomaly as its latest change delivered it (what a subscriber holds after the changes). */
function latest(changes: readonly Anomaly[]): Anomaly[] {
  const byId = new Map<number, Anomaly>();
  for (const anomaly of changes) byId.set(anomaly.id, anomaly);
  return [...byId.values()];
}

async function applyInBatches(store: Store, readings: Reading[], sizes: number[], firstOffset: number, replay: boolean): Promise<Anomaly[]> {
  const anomalies: Anomaly[] = [];
  let previous: PartitionBatch | undefined;
  for (let i = 0, n = 0; i < readings.length; n++) {
    const chunk = readings.slice(i, i + sizes[n % sizes.length]!).map((reading, k) => ({ ...reading, offset: firstOffset + i + k }));
    i += chunk.length;
    const slice: PartitionBatch = { partition: 0, lastOffset: chunk.at(-1)!.offset, readings: chunk, deadLetters: [] };
    anomalies.push(...(await applyBatch(store, { source: 'readings', partitions: [slice] })).anomalies);
    // A consumer that restarts from an older position re-reads what it applied: no new anomaly.
    if (replay && previous) expect((await applyBatch(store, { source: 'readings', partitions: [previous] })).anomalies).toEqual([]);
    previous = slice;
  }
  return anomalies;
}

/** Detection state lives with the batch: any batching, replay or restart gives the same anomalies. */
export function describeDetectionContract(name: string, create: () => Promise<StoreHarness & { reopen?: () => Promise<Store> }>): void {
  describe(`Detection contract: ${name}`, () => {
    it('raises the same anomalies in one run, in small batches with replays, and across a restart', async () => {
      const harness = await create();
      let store = harness.store;
      await store.ensureTenant('one-run', 'x');
      await store.ensureTenant('batched', 'x');
      await store.putAnomalyRule({
        id: 'r1',
        tenantId: 'batched',
        scope: { kind: 'tenant' },
        metric: 'rpm',
        zScore: { threshold: 3, window: 30, warmup: 10 },
        min: null,
        max: 4000,
        maxRatePerSecond: null,
        severity: 'CRITICAL',
        // rpm's alarms clear 60 s after their latest trigger; temp's keep the default (5 minutes).
        clearAfterMs: 60_000,
        updatedAt: 0,
      });
      await store.putAnomalyRule({ ...(await store.listAnomalyRules('batched'))[0]!, id: 'r2', tenantId: 'one-run' });

      const uninterrupted = await applyInBatches(store, series('one-run'), [400], 0, false);
      const firstHalf = await applyInBatches(store, series('batched').slice(0, 170), [7, 1, 31, 13], 400, true);
      if (harness.reopen) store = await harness.reopen();
      const secondHalf = await applyInBatches(store, series('batched').slice(170), [3, 50, 11], 570, true);
      const batched = [...firstHalf, ...secondHalf];

      expect(summary(latest(batched))).toEqual(summary(latest(uninterrupted)));
      // The known series: temp spikes at 150 and 320, up and back down, within 5 minutes: one
      // z-score alarm of 4 triggers, still open. rpm jumps over its max at 250 and back: a
      // threshold alarm and a z-score alarm (up and down), both cleared 60 s after their latest trigger.
      const final = latest(uninterrupted);
      expect(
        final.map((a) => [
          `${a.metric}@${(a.timestamp - BASE) / 1000}:${a.kind}`,
          a.occurrences,
          (a.lastTimestamp - BASE) / 1000,
          a.status,
          a.resolvedBy,
          a.resolvedAt === null ? null : (a.resolvedAt - BASE) / 1000,
        ]),
      ).toEqual([
        ['temp@150:ZSCORE', 4, 321, 'OPEN', null, null],
        ['rpm@250:THRESHOLD', 1, 250, 'RESOLVED', 'system', 310],
        ['rpm@250:ZSCORE', 2, 251, 'RESOLVED', 'system', 311],
      ]);
      // What the store lists, most recently changed first, is what the batches returned last for each anomaly.
      const listed = await store.listAnomalies('batched', {}, { first: 100 });
      expect(listed.hasMore).toBe(false); // one page holds them all: the comparison below is with every one
      expect(listed.items).toEqual(latest(batched).sort((a, b) => b.seq - a.seq));
      await harness.close();
    });
  });
}
