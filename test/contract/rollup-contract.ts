import { applyBatch } from '../../src/consumers/pipeline/apply-batch';
import fc from 'fast-check';
import { bucketBoundaries, parseBucket, ROLLUP_RESOLUTIONS_MS } from '../../src/domain/timeseries/buckets';
import type { Reading } from '../../src/domain/reading';
import type { PartitionBatch } from '../../src/domain/consumer-batch';
import type { Store } from '../../src/store/store';
import type { BatchStore } from '../../src/store/ports/batch-store';
import type { ReadingStore } from '../../src/store/ports/reading-store';
import { runAggregates } from '../../src/queries/aggregates';
import { runSeries } from '../../src/queries/series';
import type { StoreHarness } from './store-contract';

const DAY = 86_400_000;

/** What delivering batches needs of a store. */
export type BatchSink = BatchStore & ReadingStore;
// Four days around the Paris spring-forward change (2026-03-29).
const BASE = Date.parse('2026-03-27T00:00:00Z');
const DEVICES = ['a', 'b'] as const;

interface Sent {
  readonly deviceId: string;
  readonly timestamp: number;
  readonly value: number;
}

/** Oracle: the statistics of one bucket computed directly from the distinct raw readings. */
function expectedBucket(points: Sent[]) {
  const sorted = [...points].sort((x, y) => x.timestamp - y.timestamp || x.deviceId.localeCompare(y.deviceId));
  const values = sorted.map((p) => p.value);
  const count = values.length;
  const sum = values.reduce((s, v) => s + v, 0);
  const sumSq = values.reduce((s, v) => s + v * v, 0);
  const ascending = [...values].sort((x, y) => x - y);
  const percentile = (f: number) => {
    const rank = f * (count - 1);
    const lo = Math.floor(rank);
    return ascending[lo]! + (ascending[Math.ceil(rank)]! - ascending[lo]!) * (rank - lo);
  };
  return {
    count,
    sum,
    avg: sum / count,
    min: Math.min(...values),
    max: Math.max(...values),
    stddev: count > 1 ? Math.sqrt(Math.max(0, (sumSq - (sum * sum) / count) / (count - 1))) : null,
    first: sorted[0]!.value,
    last: sorted[count - 1]!.value,
    p50: percentile(0.5),
    p99: percentile(0.99),
  };
}

const readingArb = fc.record({
  device: fc.constantFrom(...DEVICES),
  // Any millisecond in four days (most fall off minute boundaries), or crowded into a few
  // minutes so that late readings keep merging into buckets already stored.
  offset: fc.oneof(fc.integer({ min: 0, max: 4 * DAY - 1 }), fc.integer({ min: 0, max: 600_000 })),
  // Multiples of 1/8: sums are exact in binary floating point whatever the order of addition,
  // so rollups and raw scans can be compared with plain equality.
  eighths: fc.integer({ min: -8000, max: 8000 }),
});

export const deliveryArb = fc.record({
  readings: fc.array(readingArb, { minLength: 1, maxLength: 250 }),
  /** Indexes of readings re-sent with the same event id, and with a new event id. */
  sameEventAgain: fc.array(fc.nat(), { maxLength: 30 }),
  sameValueNewEvent: fc.array(fc.nat(), { maxLength: 30 }),
  shuffleSeed: fc.integer(),
  batchSizes: fc.array(fc.integer({ min: 1, max: 80 }), { minLength: 1, maxLength: 20 }),
  replayEvery: fc.integer({ min: 1, max: 4 }),
});

export type Delivery = typeof deliveryArb extends fc.Arbitrary<infer T> ? T : never;

const queryArb = fc.record({
  bucket: fc.constantFrom<[string, string]>(
    ['30s', 'UTC'],
    ['1m', 'UTC'],
    ['7m', 'UTC'],
    ['1h', 'UTC'],
    ['6h', 'UTC'],
    ['1d', 'UTC'],
    ['day', 'Europe/Paris'],
    ['day', 'Asia/Kolkata'],
    ['week', 'America/New_York'],
    ['month', 'UTC'],
  ),
  from: fc.oneof(
    fc.integer({ min: -DAY, max: 4 * DAY }),
    fc.integer({ min: -1, max: 4 }).map((d) => d * DAY),
    fc.integer({ min: -24, max: 96 }).map((h) => h * 3_600_000),
  ),
  span: fc.oneof(
    fc.integer({ min: 1000, max: 5 * DAY }),
    fc.integer({ min: 1, max: 5 }).map((d) => d * DAY),
  ),
  combineDevices: fc.boolean(),
});

function shuffle<T>(items: T[], seed: number): T[] {
  let state = seed >>> 0 || 1;
  const next = () => (state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32;
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** Stream order: arrival is shuffled (late and out-of-order), with duplicates mixed in. */
export function messagesOf(tenantId: string, delivery: Delivery) {
  const values = new Map<string, number>();
  const originals: Reading[] = delivery.readings.map((r, i) => {
    const timestamp = BASE + r.offset;
    const key = `${r.device}@${timestamp}`;
    // One value per (device, timestamp): whichever copy is stored first, the truth is the same.
    if (!values.has(key)) values.set(key, r.eighths / 8);
    return { tenantId, deviceId: r.device, eventId: `e${i}`, timestamp, metrics: [{ name: 'm', value: values.get(key)! }] };
  });
  const again = delivery.sameEventAgain.map((i) => originals[i % originals.length]!);
  const renamed = delivery.sameValueNewEvent.map((i, n) => ({ ...originals[i % originals.length]!, eventId: `dup${n}` }));
  const truth: Sent[] = [...values].map(([key, value]) => {
    const [deviceId, ts] = key.split('@');
    return { deviceId: deviceId!, timestamp: Number(ts), value };
  });
  return { messages: shuffle([...originals, ...again, ...renamed], delivery.shuffleSeed), truth };
}

/** Cuts the messages into consumer batches (device a on partition 0, b on 1), replaying some. */
async function deliver(store: BatchSink, messages: Reading[], batchSizes: number[], replayEvery: number, firstOffset: number): Promise<void> {
  const nextOffset = [firstOffset, firstOffset];
  const applied: PartitionBatch[][] = [];
  let cursor = 0;
  for (let n = 0; cursor < messages.length; n++) {
    const size = batchSizes[n % batchSizes.length]!;
    const chunk = messages.slice(cursor, cursor + size);
    cursor += size;
    const partitions: PartitionBatch[] = [0, 1]
      .map((partition) => {
        const readings = chunk.filter((m) => (m.deviceId === 'a' ? 0 : 1) === partition).map((m) => ({ ...m, offset: nextOffset[partition]!++ }));
        return { partition, lastOffset: nextOffset[partition]! - 1, readings, deadLetters: [] };
      })
      .filter((slice) => slice.readings.length > 0);
    await applyBatch(store, { source: 'readings', partitions });
    applied.push(partitions);
    // A consumer restarted from an older position re-reads batches already applied.
    if (n % replayEvery === 0) await applyBatch(store, { source: 'readings', partitions: applied[Math.max(0, n - 1)]! });
  }
}

/**
 * Every rollup level, and the raw scan, know when each bucket's extremes happened: the
 * earliest reading holding the minimum (maximum). Chart series read them from rollups.
 */
async function expectExtremeTimes(store: Store, tenantId: string, truth: Sent[]): Promise<void> {
  for (const resolution of ROLLUP_RESOLUTIONS_MS) {
    const low = BASE - DAY;
    const boundaries = Array.from({ length: (6 * DAY) / resolution + 1 }, (_, i) => low + i * resolution);
    for (const deviceId of DEVICES) {
      const expected = new Map<number, { min: number; minTs: number; max: number; maxTs: number }>();
      for (const point of truth.filter((p) => p.deviceId === deviceId).sort((x, y) => x.timestamp - y.timestamp)) {
        const index = Math.floor((point.timestamp - low) / resolution);
        const bucket = expected.get(index);
        if (!bucket) expected.set(index, { min: point.value, minTs: point.timestamp, max: point.value, maxTs: point.timestamp });
        else {
          // In time order: only a strictly new extreme moves its timestamp (ties keep the earliest).
          if (point.value < bucket.min) Object.assign(bucket, { min: point.value, minTs: point.timestamp });
          if (point.value > bucket.max) Object.assign(bucket, { max: point.value, maxTs: point.timestamp });
        }
      }
      for (const source of [resolution, 'raw'] as const) {
        const found = (await store.aggregateBuckets(tenantId, [{ deviceIds: [deviceId], metric: 'm', boundaries, source }]))[0]!.get(deviceId) ?? [];
        const actual = new Map(
          found.flatMap((bucket, i) =>
            bucket ? [[i, { min: bucket.partial.min, minTs: bucket.partial.minTs, max: bucket.partial.max, maxTs: bucket.partial.maxTs }] as const] : [],
          ),
        );
        expect({ resolution, source, deviceId, buckets: actual }).toEqual({ resolution, source, deviceId, buckets: expected });
      }
    }
  }
}

/** Runs against any Store: aggregates from rollups equal those computed from raw readings. */
export function describeRollupContract(name: string, create: () => Promise<StoreHarness>): void {
  describe(`Rollup contract: ${name}`, () => {
    let harness: StoreHarness;
    beforeAll(async () => {
      harness = await create();
    });
    afterAll(() => harness.close());
    let run = 0;

    it('answers every aggregate from rollups exactly as from the raw readings, through late, duplicate and replayed deliveries', async () => {
      await fc.assert(
        fc.asyncProperty(deliveryArb, fc.array(queryArb, { minLength: 1, maxLength: 4 }), async (delivery, queries) => {
          // A fresh tenant per run keeps the runs' data apart in one store.
          const tenantId = `prop-${++run}`;
          const { messages, truth } = messagesOf(tenantId, delivery);
          const store = harness.store;
          await deliverFresh(store, tenantId, messages, delivery.batchSizes, delivery.replayEvery);
          await expectExtremeTimes(store, tenantId, truth);
          for (const query of queries) {
            const from = BASE + query.from;
            const to = from + query.span;
            const spec = parseBucket(query.bucket[0], query.bucket[1]);
            const request = {
              deviceIds: [...DEVICES],
              metric: 'm',
              from,
              to,
              bucket: spec,
              fill: 'NONE' as const,
              combineDevices: query.combineDevices,
              maxBuckets: 100_000,
            };
            const auto = await runAggregates(store, tenantId, { ...request, percentiles: false, rawOnly: false });
            const raw = await runAggregates(store, tenantId, { ...request, percentiles: false, rawOnly: true });
            const withPercentiles = await runAggregates(store, tenantId, { ...request, percentiles: true, rawOnly: false });

            const starts = bucketBoundaries(spec, from, to, 100_000);
            const groups = query.combineDevices ? [null] : [...DEVICES];
            const expected = groups.map((deviceId) => ({
              deviceId,
              buckets: starts.slice(0, -1).flatMap((start, i) => {
                const lo = Math.max(start, from);
                const hi = Math.min(starts[i + 1]!, to);
                const points = truth.filter((p) => (deviceId === null || p.deviceId === deviceId) && p.timestamp >= lo && p.timestamp < hi);
                return points.length === 0 ? [] : [{ start, end: starts[i + 1]!, ...expectedBucket(points) }];
              }),
            }));
            const strip = (series: typeof auto) =>
              series.map((s) => ({ deviceId: s.deviceId, buckets: s.buckets.map(({ stddev, p50, p99, p90, p95, filled, source, ...rest }) => rest) }));
            const exact = expected.map((s) => ({ deviceId: s.deviceId, buckets: s.buckets.map(({ stddev, p50, p99, ...rest }) => rest) }));
            expect(strip(auto)).toEqual(exact);
            expect(strip(raw)).toEqual(exact);
            expect(strip(withPercentiles)).toEqual(exact);
            expected.forEach((series, s) =>
              series.buckets.forEach((bucket, b) => {
                const [fromRollups, fromRaw, percentiles] = [auto[s]!.buckets[b]!, raw[s]!.buckets[b]!, withPercentiles[s]!.buckets[b]!];
                for (const actual of [fromRollups.stddev, fromRaw.stddev]) {
                  if (bucket.stddev === null) expect(actual).toBeNull();
                  else expect(actual).toBeCloseTo(bucket.stddev, 9);
                }
                expect(percentiles.p50).toBeCloseTo(bucket.p50, 9);
                expect(percentiles.p99).toBeCloseTo(bucket.p99, 9);
              }),
            );
          }
        }),
        { numRuns: 60 },
      );
    });

    it('keeps first and last right when late readings land in a stored bucket, batch after batch', async () => {
      const tenantId = 'late-check';
      const at = (seconds: number, value: number): Reading => ({
        tenantId,
        deviceId: 'a',
        eventId: `l${seconds}`,
        timestamp: BASE + seconds * 1000,
        metrics: [{ name: 'm', value }],
      });
      // One per batch, arriving as 30 s, 10 s, 20 s, 50 s, 40 s into the same minute.
      await deliverFresh(harness.store, tenantId, [at(30, 3), at(10, 1), at(20, 2), at(50, 5), at(40, 4)], [1], 1000);
      const request = {
        deviceIds: ['a'],
        metric: 'm',
        fill: 'NONE' as const,
        combineDevices: false,
        maxBuckets: 10,
        percentiles: false,
        from: BASE,
        to: BASE + DAY,
        bucket: parseBucket('1d'),
      };
      for (const rawOnly of [false, true]) {
        const [series] = await runAggregates(harness.store, tenantId, { ...request, rawOnly });
        expect(series!.buckets).toMatchObject([{ count: 5, first: 1, last: 5, min: 1, max: 5, sum: 15, source: rawOnly ? 'RAW' : 'ROLLUP_1D' }]);
      }
    });

    it('keeps the earliest time of a tied extreme when later batches bring the same value', async () => {
      const tenantId = 'tie-check';
      const at = (seconds: number, value: number): Reading => ({
        tenantId,
        deviceId: 'a',
        eventId: `t${seconds}`,
        timestamp: BASE + seconds * 1000,
        metrics: [{ name: 'm', value }],
      });
      // One per batch: 5 at 30 s, 50 s, then 10 s (earlier: the max moves there); then 1 at 40 s (the new min).
      await deliverFresh(harness.store, tenantId, [at(30, 5), at(50, 5), at(10, 5), at(40, 1)], [1], 1000);
      for (const source of [60_000, 3_600_000, 86_400_000, 'raw'] as const) {
        const [bucket] = (await harness.store.aggregateBuckets(tenantId, [{ deviceIds: ['a'], metric: 'm', boundaries: [BASE, BASE + DAY], source }]))[0]!.get(
          'a',
        )!;
        expect({ source, ...bucket!.partial }).toMatchObject({ source, min: 1, minTs: BASE + 40_000, max: 5, maxTs: BASE + 10_000 });
      }
    });

    it('charts a dense series from rollups, keeping every extreme and both ends as stored readings', async () => {
      const tenantId = 'series-check';
      // Three hours of one reading per second (a slow wave), with one spike and one dip.
      const start = BASE + 17_300; // not on a minute boundary: ragged ends come from raw readings
      const readings: Reading[] = Array.from({ length: 3 * 3600 }, (_, i) => {
        const value = i === 4321 ? 500 : i === 9000 ? -500 : Math.round(100 * Math.sin(i / 600)) / 8;
        return { tenantId, deviceId: 'a', eventId: `s${i}`, timestamp: start + i * 1000, metrics: [{ name: 'm', value }] };
      });
      await deliverFresh(harness.store, tenantId, readings, [2000], 1000);
      const request = { deviceId: 'a', metric: 'm', from: start, to: start + 3 * 3_600_000, points: 100, maxRows: 1_000_000 };
      const series = await runSeries(harness.store, tenantId, request);
      expect(series).toMatchObject({ source: 'ROLLUPS', totalPoints: readings.length });
      expect(series.points.length).toBeLessThanOrEqual(100);
      expect(series.points.length).toBeGreaterThan(90);
      const stored = new Map(readings.map((r) => [r.timestamp, r.metrics[0]!.value]));
      for (const point of series.points) expect(stored.get(point.timestamp)).toBe(point.value);
      expect(series.points[0]).toEqual({ timestamp: start, value: stored.get(start) });
      expect(series.points.at(-1)).toEqual({ timestamp: readings.at(-1)!.timestamp, value: stored.get(readings.at(-1)!.timestamp) });
      expect(series.points).toContainEqual({ timestamp: start + 4321_000, value: 500 });
      expect(series.points).toContainEqual({ timestamp: start + 9000_000, value: -500 });
      // A chart point under a minute wide reads the raw readings.
      const narrow = await runSeries(harness.store, tenantId, { ...request, to: start + 3_600_000, points: 1000 });
      expect(narrow).toMatchObject({ source: 'RAW', totalPoints: 3600 });
    });

    it('answers aligned buckets from the coarsest rollup and ragged edges from raw readings', async () => {
      const tenantId = 'plan-check';
      const messages: Reading[] = Array.from({ length: 3 * 24 * 6 }, (_, i) => ({
        tenantId,
        deviceId: 'a',
        eventId: `p${i}`,
        timestamp: BASE + i * 600_000 + 17,
        metrics: [{ name: 'm', value: i }],
      }));
      await deliverFresh(harness.store, tenantId, messages, [100], 1000);
      const request = { deviceIds: ['a'], metric: 'm', fill: 'NONE' as const, combineDevices: false, maxBuckets: 1000, percentiles: false, rawOnly: false };
      const daily = await runAggregates(harness.store, tenantId, { ...request, from: BASE, to: BASE + 3 * DAY, bucket: parseBucket('1d') });
      expect(daily[0]!.buckets.map((b) => [b.source, b.count])).toEqual([
        ['ROLLUP_1D', 144],
        ['ROLLUP_1D', 144],
        ['ROLLUP_1D', 144],
      ]);
      const ragged = await runAggregates(harness.store, tenantId, { ...request, from: BASE + 1234, to: BASE + 5 * 3_600_000 + 99, bucket: parseBucket('1h') });
      expect(ragged[0]!.buckets.map((b) => b.source)).toEqual(['RAW', 'ROLLUP_1H', 'ROLLUP_1H', 'ROLLUP_1H', 'ROLLUP_1H', 'RAW']);
      // Paris days start at 23:00 UTC: hourly rollups answer them; the ragged end reads raw rows.
      const paris = await runAggregates(harness.store, tenantId, {
        ...request,
        from: BASE,
        to: BASE + 2 * DAY + 1,
        bucket: parseBucket('day', 'Europe/Paris'),
      });
      expect(paris[0]!.buckets.map((b) => b.source)).toEqual(['ROLLUP_1H', 'ROLLUP_1H', 'RAW']);
    });
  });
}

/**
 * Runs share one store, and watermarks are per (source, partition): each run's offsets start
 * above every earlier run's, as a continuing stream would.
 */
export async function deliverFresh(store: BatchSink, tenantId: string, messages: Reading[], batchSizes: number[], replayEvery: number): Promise<void> {
  const watermarks = await store.watermarks('readings');
  const base = Math.max(-1, ...watermarks.values()) + 1;
  await deliver(
    store,
    messages.map((m) => ({ ...m, tenantId })),
    batchSizes,
    replayEvery,
    base,
  );
}
