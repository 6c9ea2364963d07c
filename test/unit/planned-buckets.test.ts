import type { BucketData } from '../../src/domain/timeseries/aggregate-buckets';
import { fetchPlannedBuckets } from '../../src/queries/aggregates';
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
