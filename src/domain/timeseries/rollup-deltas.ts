import { ROLLUP_RESOLUTIONS_MS, rollupBucketStart } from './buckets';
import { addValue, partialOf, type PartialAggregate } from './partial';

export interface StoredValue {
  readonly tenantId: string;
  readonly deviceId: string;
  readonly metric: string;
  readonly timestamp: number;
  readonly value: number;
}

export interface RollupDelta {
  readonly tenantId: string;
  readonly deviceId: string;
  readonly metric: string;
  readonly resolutionMs: number;
  readonly bucketStart: number;
  readonly partial: PartialAggregate;
}

/**
 * What a batch of newly stored values adds to each rollup bucket, at every level. Each level
 * is built from the batch's values directly; since partial sums merge associatively that
 * equals merging the finer level's buckets, without reading them back. Only values that were
 * actually stored may be passed in (duplicates never reach here), so nothing is counted twice.
 */
export function rollupDeltas(values: Iterable<StoredValue>): RollupDelta[] {
  const deltas = new Map<string, RollupDelta>();
  for (const row of values) {
    for (const resolutionMs of ROLLUP_RESOLUTIONS_MS) {
      const bucketStart = rollupBucketStart(row.timestamp, resolutionMs);
      const key = `${row.tenantId}\u0000${row.deviceId}\u0000${row.metric}\u0000${resolutionMs}\u0000${bucketStart}`;
      const delta = deltas.get(key);
      if (delta) addValue(delta.partial, row.timestamp, row.value);
      else deltas.set(key, { tenantId: row.tenantId, deviceId: row.deviceId, metric: row.metric, resolutionMs, bucketStart, partial: partialOf(row.timestamp, row.value) });
    }
  }
  return [...deltas.values()];
}
