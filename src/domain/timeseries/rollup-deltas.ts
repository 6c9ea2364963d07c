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
 *
 * Values sorted by series then time (as the batch inserts them) give one delta per bucket;
 * any other order is still correct, only with more deltas for the store to merge.
 */
export function rollupDeltas(values: Iterable<StoredValue>): RollupDelta[] {
  const deltas: RollupDelta[] = [];
  const current: (RollupDelta | undefined)[] = ROLLUP_RESOLUTIONS_MS.map(() => undefined);
  for (const row of values) {
    for (let level = 0; level < ROLLUP_RESOLUTIONS_MS.length; level++) {
      const resolutionMs = ROLLUP_RESOLUTIONS_MS[level]!;
      const bucketStart = rollupBucketStart(row.timestamp, resolutionMs);
      const delta = current[level];
      if (delta && delta.bucketStart === bucketStart && delta.metric === row.metric && delta.deviceId === row.deviceId && delta.tenantId === row.tenantId) {
        addValue(delta.partial, row.timestamp, row.value);
      } else {
        const next = {
          tenantId: row.tenantId,
          deviceId: row.deviceId,
          metric: row.metric,
          resolutionMs,
          bucketStart,
          partial: partialOf(row.timestamp, row.value),
        };
        deltas.push(next);
        current[level] = next;
      }
    }
  }
  return deltas;
}
