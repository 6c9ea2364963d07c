import type { BucketData } from './aggregate-buckets';

/** Index of the bucket holding `timestamp`: the last boundary at or before it (binary search). */
export function bucketIndex(boundaries: readonly number[], timestamp: number): number {
  let low = 0;
  let high = boundaries.length - 2;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (boundaries[mid]! <= timestamp) low = mid;
    else high = mid - 1;
  }
  return low;
}

/** The device's bucket array in `result`, created empty (`size` buckets) on first use. */
export function bucketsFor(result: Map<string, (BucketData | undefined)[]>, deviceId: string, size: number): (BucketData | undefined)[] {
  let buckets = result.get(deviceId);
  if (!buckets) {
    buckets = new Array<BucketData | undefined>(size).fill(undefined);
    result.set(deviceId, buckets);
  }
  return buckets;
}
