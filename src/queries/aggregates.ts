import { toAggregateBuckets, type AggregateBucket, type BucketData, type GapFill } from '../domain/timeseries/aggregate-buckets';
import { bucketBoundaries, type BucketSpec } from '../domain/timeseries/buckets';
import { planRetainedBuckets } from '../domain/timeseries/retained-plan';
import type { RetentionHorizons } from '../domain/retention';
import { mergeInto } from '../domain/timeseries/partial';
import type { AggregateQuery, ReadingStore } from '../store/ports/reading-store';

export interface AggregateRequest {
  readonly deviceIds: readonly string[];
  readonly metric: string;
  readonly from: number;
  readonly to: number;
  readonly bucket: BucketSpec;
  readonly fill: GapFill;
  /** p50/p90/p95/p99 were asked for: they need raw values. */
  readonly percentiles: boolean;
  /** One series for all devices (partial sums merged) instead of one per device. */
  readonly combineDevices: boolean;
  /** Ignore rollups (to compare, or to measure the raw scan). */
  readonly rawOnly: boolean;
  readonly maxBuckets: number;
  /** Where retention may have removed each level (the tenant's policy now); absent: nothing removed. */
  readonly horizons?: RetentionHorizons | undefined;
}

export interface AggregateSeries {
  /** null when the devices were combined. */
  readonly deviceId: string | null;
  readonly buckets: AggregateBucket[];
}

/**
 * Plans and runs an aggregate query. Each bucket is answered from the coarsest rollup that
 * tiles it exactly (its clipped edges are whole days, hours or minutes) and from raw readings
 * otherwise: a range starting at an odd second reads raw rows for its first bucket only.
 * Consecutive buckets with the same source are fetched in one store call. Where retention
 * removed the raw readings, buckets are answered from the rollups that remain and widened to
 * their grid (domain/timeseries/retained-plan.ts): each bucket's source and span say so.
 */
export async function runAggregates(store: ReadingStore, tenantId: string, request: AggregateRequest): Promise<AggregateSeries[]> {
  const starts = bucketBoundaries(request.bucket, request.from, request.to, request.maxBuckets);
  const edges = [request.from, ...starts.slice(1, -1), request.to];
  const { edges: planned, byDevice } = await fetchRetainedBuckets(store, tenantId, {
    deviceIds: request.deviceIds,
    metric: request.metric,
    edges,
    rawOnly: request.rawOnly || request.percentiles,
    withValues: request.percentiles,
    // plan RAW asks for a scan of the raw readings as stored: what retention left, as it is.
    horizons: request.rawOnly ? undefined : request.horizons,
  });
  // Widened buckets cover their rollup's span; the others keep the bucket's own start and end.
  const shown =
    planned === edges
      ? starts
      : [Math.min(starts[0]!, planned[0]!), ...planned.slice(1, -1), Math.max(starts[starts.length - 1]!, planned[planned.length - 1]!)];
  const bucketCount = shown.length - 1;

  if (!request.combineDevices) {
    return request.deviceIds.map((deviceId) => ({ deviceId, buckets: toAggregateBuckets(shown, byDevice.get(deviceId)!, request.fill) }));
  }
  return [{ deviceId: null, buckets: toAggregateBuckets(shown, combine([...byDevice.keys()].sort(), byDevice, bucketCount), request.fill) }];
}

export interface PlannedBucketsQuery {
  readonly deviceIds: readonly string[];
  readonly metric: string;
  /** Bucket edges: bucket i is [edges[i], edges[i + 1]). */
  readonly edges: readonly number[];
  readonly rawOnly: boolean;
  /** Keep each bucket's raw values (percentiles). */
  readonly withValues: boolean;
  /** Where retention may have removed each level; absent: nothing removed. */
  readonly horizons?: RetentionHorizons | undefined;
}

/**
 * Each bucket from the coarsest rollup that tiles it exactly, raw readings otherwise;
 * consecutive buckets with the same source form one run, and every run is read in one store
 * call.
 */
export async function fetchPlannedBuckets(store: ReadingStore, tenantId: string, query: PlannedBucketsQuery): Promise<Map<string, (BucketData | undefined)[]>> {
  return (await fetchRetainedBuckets(store, tenantId, query)).byDevice;
}

/**
 * As fetchPlannedBuckets, with retention: the edges may differ from those asked (widened where
 * only rollups remain), so they are returned with the buckets.
 */
export async function fetchRetainedBuckets(
  store: ReadingStore,
  tenantId: string,
  query: PlannedBucketsQuery,
): Promise<{ edges: readonly number[]; byDevice: Map<string, (BucketData | undefined)[]> }> {
  const { edges, sources } = planRetainedBuckets(query.edges, query.rawOnly, query.horizons);
  const bucketCount = edges.length - 1;
  const byDevice = new Map<string, (BucketData | undefined)[]>(
    query.deviceIds.map((id) => [id, new Array<BucketData | undefined>(bucketCount).fill(undefined)]),
  );
  const runs: { start: number; query: AggregateQuery }[] = [];
  for (let runStart = 0; runStart < bucketCount;) {
    let runEnd = runStart + 1;
    while (runEnd < bucketCount && sources[runEnd] === sources[runStart]) runEnd++;
    runs.push({
      start: runStart,
      query: {
        deviceIds: query.deviceIds,
        metric: query.metric,
        boundaries: edges.slice(runStart, runEnd + 1),
        source: sources[runStart]!,
        withValues: query.withValues,
      },
    });
    runStart = runEnd;
  }
  // One store call for every run: one snapshot, so a batch is in all buckets or in none.
  const found = await store.aggregateBuckets(
    tenantId,
    runs.map((run) => run.query),
  );
  runs.forEach((run, r) => {
    for (const [deviceId, buckets] of found[r]!) {
      const target = byDevice.get(deviceId);
      if (target) buckets.forEach((bucket, i) => (target[run.start + i] = bucket));
    }
  });
  return { edges, byDevice };
}

/** Merges devices bucket by bucket, in device-id order (so ties on first/last are deterministic). */
function combine(deviceIds: readonly string[], byDevice: Map<string, (BucketData | undefined)[]>, bucketCount: number): (BucketData | undefined)[] {
  const combined: (BucketData | undefined)[] = new Array<BucketData | undefined>(bucketCount).fill(undefined);
  for (const deviceId of deviceIds) {
    byDevice.get(deviceId)!.forEach((bucket, i) => {
      if (!bucket) return;
      const target = combined[i];
      if (!target) {
        combined[i] = { partial: { ...bucket.partial }, source: bucket.source, ...(bucket.values ? { values: [...bucket.values] } : {}) };
        return;
      }
      mergeInto(target.partial, bucket.partial);
      if (bucket.values) target.values?.push(...bucket.values);
    });
  }
  return combined;
}
