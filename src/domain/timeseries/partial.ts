/**
 * Mergeable partial aggregates: what rollups store and what every aggregate is computed
 * from. Never averages: sums merge exactly across buckets, levels and devices.
 */
export interface PartialAggregate {
  count: number;
  sum: number;
  sumSq: number;
  min: number;
  max: number;
  /**
   * Earliest timestamp holding `min` (and `max`): charts keep each bucket's extremes where
   * they happened. null in rollup rows written before these were kept (unknown).
   */
  minTs: number | null;
  maxTs: number | null;
  firstTs: number;
  firstValue: number;
  lastTs: number;
  lastValue: number;
}

export function partialOf(timestamp: number, value: number): PartialAggregate {
  return {
    count: 1,
    sum: value,
    sumSq: value * value,
    min: value,
    max: value,
    minTs: timestamp,
    maxTs: timestamp,
    firstTs: timestamp,
    firstValue: value,
    lastTs: timestamp,
    lastValue: value,
  };
}

/** Adds one value to `target` in place. */
export function addValue(target: PartialAggregate, timestamp: number, value: number): void {
  mergeInto(target, partialOf(timestamp, value));
}

/**
 * Merges `other` into `target` in place. Ties on timestamps happen only across devices; the
 * order is then (timestamp, merge order): on a tie `first` keeps the earlier-merged value and
 * `last` takes the later one, so merging devices in id order gives a deterministic answer.
 */
export function mergeInto(target: PartialAggregate, other: PartialAggregate): void {
  target.count += other.count;
  target.sum += other.sum;
  target.sumSq += other.sumSq;
  if (other.min < target.min) {
    target.min = other.min;
    target.minTs = other.minTs;
  } else if (other.min === target.min) {
    target.minTs = earliestOf(target.minTs, other.minTs);
  }
  if (other.max > target.max) {
    target.max = other.max;
    target.maxTs = other.maxTs;
  } else if (other.max === target.max) {
    target.maxTs = earliestOf(target.maxTs, other.maxTs);
  }
  if (other.firstTs < target.firstTs) {
    target.firstTs = other.firstTs;
    target.firstValue = other.firstValue;
  }
  if (other.lastTs >= target.lastTs) {
    target.lastTs = other.lastTs;
    target.lastValue = other.lastValue;
  }
}

/** The earlier of two timestamps of the same extreme; unknown if either is (it may be the earlier). */
const earliestOf = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : Math.min(a, b));

export const copyPartial = (partial: PartialAggregate): PartialAggregate => ({ ...partial });

export interface BucketStatistics {
  readonly count: number;
  readonly sum: number;
  readonly avg: number;
  readonly min: number;
  readonly max: number;
  /** Sample standard deviation (n - 1); null for fewer than two values. */
  readonly stddev: number | null;
  readonly first: number;
  readonly last: number;
}

export function statisticsOf(partial: PartialAggregate): BucketStatistics {
  const { count, sum, sumSq } = partial;
  // sumSq - sum²/n can dip below zero by rounding when all values are (nearly) equal.
  const variance = count > 1 ? Math.max(0, (sumSq - (sum * sum) / count) / (count - 1)) : null;
  return {
    count,
    sum,
    avg: sum / count,
    min: partial.min,
    max: partial.max,
    stddev: variance === null ? null : Math.sqrt(variance),
    first: partial.firstValue,
    last: partial.lastValue,
  };
}
