import { PERCENTILES, percentileOfSorted, type PercentileName } from './percentile';
import { statisticsOf, type PartialAggregate } from './partial';
import { defineVocabulary, type ValueOf } from '../vocabulary';

/** Where one bucket's numbers came from: the raw readings or a rollup level. */
export const BUCKET_SOURCES = defineVocabulary({
  RAW: 'Raw readings.',
  ROLLUP_1M: 'One-minute rollups.',
  ROLLUP_1H: 'One-hour rollups.',
  ROLLUP_1D: 'One-day rollups.',
});
export type BucketSource = ValueOf<typeof BUCKET_SOURCES>;

/** What a store hands back for one bucket that holds data. */
export interface BucketData {
  readonly partial: PartialAggregate;
  /** Raw values, present when percentiles were asked for. */
  readonly values?: number[];
  readonly source: BucketSource;
}

/** What to do with buckets that hold no readings. */
export const GAP_FILLS = defineVocabulary({
  NONE: 'Leave them out.',
  NULL: 'Return them with count 0 and null values.',
  PREVIOUS: 'Repeat the values of the last bucket with data (null before the first).',
  LINEAR: 'Interpolate each value between the nearest buckets with data (null at the ends).',
});
export type GapFill = ValueOf<typeof GAP_FILLS>;

const VALUE_FIELDS = ['sum', 'avg', 'min', 'max', 'stddev', 'first', 'last', 'p50', 'p90', 'p95', 'p99'] as const;
type ValueField = (typeof VALUE_FIELDS)[number];

export type AggregateBucket = {
  /** Start of the bucket (it may begin before the query's `from`). */
  readonly start: number;
  /** Exclusive end of the bucket. */
  readonly end: number;
  readonly count: number;
  /** True when the values were filled in for an empty bucket. */
  readonly filled: boolean;
  readonly source: BucketSource | null;
} & { [field in ValueField]: number | null };

/**
 * Turns per-bucket data into result buckets: statistics, percentiles (from raw values) and
 * gap filling. `starts` are the bucket boundaries (n + 1 of them for n buckets); `data[i]`
 * is bucket i's data or undefined when the bucket is empty. Count is never filled: an
 * empty bucket has count 0 whatever the fill.
 */
export function toAggregateBuckets(starts: readonly number[], data: readonly (BucketData | undefined)[], fill: GapFill): AggregateBucket[] {
  const buckets: AggregateBucket[] = [];
  for (let i = 0; i < starts.length - 1; i++) {
    const bucket = data[i];
    if (bucket) buckets.push(withData(starts[i]!, starts[i + 1]!, bucket));
    else if (fill !== 'NONE') buckets.push(emptyBucket(starts[i]!, starts[i + 1]!));
  }
  if (fill === 'PREVIOUS') fillPrevious(buckets);
  if (fill === 'LINEAR') fillLinear(buckets);
  return buckets;
}

function withData(start: number, end: number, { partial, values, source }: BucketData): AggregateBucket {
  const stats = statisticsOf(partial);
  const percentiles = Object.fromEntries(
    (Object.keys(PERCENTILES) as PercentileName[]).map((name) => [
      name,
      values && values.length > 0 ? percentileOfSorted(values.sort(ascending), PERCENTILES[name]) : null,
    ]),
  ) as Record<PercentileName, number | null>;
  return {
    start,
    end,
    count: stats.count,
    filled: false,
    source,
    sum: stats.sum,
    avg: stats.avg,
    min: stats.min,
    max: stats.max,
    stddev: stats.stddev,
    first: stats.first,
    last: stats.last,
    ...percentiles,
  };
}

const ascending = (a: number, b: number) => a - b;

function emptyBucket(start: number, end: number): AggregateBucket {
  const nulls = Object.fromEntries(VALUE_FIELDS.map((field) => [field, null])) as Record<ValueField, null>;
  return { start, end, count: 0, filled: false, source: null, ...nulls };
}

function fillPrevious(buckets: AggregateBucket[]): void {
  let previous: AggregateBucket | undefined;
  buckets.forEach((bucket, i) => {
    if (bucket.count > 0) previous = bucket;
    else if (previous) buckets[i] = { ...bucket, ...pickValues(previous), filled: true };
  });
}

/** Straight line between the nearest non-empty buckets on each side, by bucket start. */
function fillLinear(buckets: AggregateBucket[]): void {
  let before = -1;
  for (let i = 0; i < buckets.length; i++) {
    if (buckets[i]!.count === 0) continue;
    if (before >= 0 && i - before > 1) {
      const left = buckets[before]!;
      const right = buckets[i]!;
      for (let j = before + 1; j < i; j++) {
        const gap = buckets[j]!;
        const t = (gap.start - left.start) / (right.start - left.start);
        const values = Object.fromEntries(VALUE_FIELDS.map((field) => [field, interpolate(left[field], right[field], t)]));
        buckets[j] = { ...gap, ...values, filled: true };
      }
    }
    before = i;
  }
}

const interpolate = (a: number | null, b: number | null, t: number): number | null => (a === null || b === null ? null : a + (b - a) * t);

const pickValues = (bucket: AggregateBucket): Record<ValueField, number | null> =>
  Object.fromEntries(VALUE_FIELDS.map((field) => [field, bucket[field]])) as Record<ValueField, number | null>;

export const SOURCE_BY_RESOLUTION: Readonly<Record<number, BucketSource>> = { 60_000: 'ROLLUP_1M', 3_600_000: 'ROLLUP_1H', 86_400_000: 'ROLLUP_1D' };
