import type { BucketData } from '../../src/domain/timeseries/aggregate-buckets';
import { fetchPlannedBuckets } from '../../src/queries/aggregates';
import type { RetentionHorizons } from '../../src/domain/retention';
import { planRetainedBuckets } from '../../src/domain/timeseries/retained-plan';
import type { AggregateQuery, DeviceBuckets, ReadingStore } from '../../src/store/ports/reading-store';

const bucket = (count: number): BucketData => ({ partial: { count, sum: count, sumSquares: count, min: 1, max: 1 }, source: 'raw' }) as unknown as BucketData;

describe('the aggregates planner', () => {
  it('reads every run of buckets (raw, rollup, raw) in ONE store call, so one snapshot answers the whole query', async () => {
    const calls: (readonly AggregateQuery[])[] = [];
    const store = {
      aggregateBuckets: async (_tenant: string, runs: readonly AggregateQuery[]): Promise<DeviceBuckets[]> => {
        calls.push(runs);
        return runs.map((run) => new Map([['d', run.boundaries.slice(1).map(() => bucket(run.source === 'raw' ? 1 : 60))]]));
      },
    } as unknown as ReadingStore;
    // [0, 0.5 s) and [0.5 s, 60 s) are not minute-aligned: raw; [60 s, 120 s) is one minute rollup; [120 s, 120.5 s) raw.
    const found = await fetchPlannedBuckets(store, 't', {
      deviceIds: ['d'],
      metric: 'm',
      edges: [0, 500, 60_000, 120_000, 120_500],
      rawOnly: false,
      withValues: false,
    });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.map((run) => [run.source, run.boundaries])).toEqual([
      ['raw', [0, 500, 60_000]],
      [60_000, [60_000, 120_000]],
      ['raw', [120_000, 120_500]],
    ]);
    expect(found.get('d')!.map((b) => (b as unknown as { partial: { count: number } }).partial.count)).toEqual([1, 1, 60, 1]);
  });
});

describe('planning around retention', () => {
  const MINUTE = 60_000;
  const HOUR = 3_600_000;
  const DAY = 86_400_000;
  // Raw readings kept from day 10, minute rollups from day 5, hour rollups from day 2, day rollups from day 0.
  const horizons: RetentionHorizons = {
    raw: 10 * DAY,
    rollups: new Map([
      [MINUTE, 5 * DAY],
      [HOUR, 2 * DAY],
      [DAY, 0],
    ]),
  };
  const minutes = (from: number, count: number) => Array.from({ length: count + 1 }, (_, i) => from + i * MINUTE);

  it('plans as before where raw readings are kept', () => {
    const edges = minutes(10 * DAY + 30_000, 3);
    expect(planRetainedBuckets(edges, false, horizons)).toEqual(planRetainedBuckets(edges, false));
  });

  it('reads minute buckets from minute rollups where only rollups remain, never from raw readings', () => {
    const edges = [6 * DAY + 30_000, 6 * DAY + MINUTE, 6 * DAY + 2 * MINUTE];
    // The first bucket starts off the minute grid: it widens back to its minute.
    expect(planRetainedBuckets(edges, false, horizons)).toEqual({ edges: [6 * DAY, 6 * DAY + MINUTE, 6 * DAY + 2 * MINUTE], sources: [MINUTE, MINUTE] });
    // Asked for raw readings only, or for percentiles: rollups all the same, as raw ones are gone.
    expect(planRetainedBuckets(edges, true, horizons).sources).toEqual([MINUTE, MINUTE]);
  });

  it('widens minute buckets to the hours that cover them where only hours remain, dropping the buckets it swallows', () => {
    const edges = minutes(3 * DAY + 30 * MINUTE, 90);
    expect(planRetainedBuckets(edges, false, horizons)).toEqual({ edges: [3 * DAY, 3 * DAY + HOUR, 3 * DAY + 2 * HOUR], sources: [HOUR, HOUR] });
  });

  it('uses the coarsest level kept that tiles a bucket, and goes finer as the range nears the present', () => {
    const edges = [DAY, 2 * DAY, 3 * DAY, 3 * DAY + HOUR, 10 * DAY, 10 * DAY + 1000];
    expect(planRetainedBuckets(edges, false, horizons)).toEqual({ edges, sources: [DAY, DAY, HOUR, HOUR, 'raw'] });
  });
});
