import { ROLLUP_RESOLUTIONS_MS } from '../domain/timeseries/buckets';
import { largestTriangleThreeBuckets } from '../domain/timeseries/lttb';
import type { SeriesSource } from '../domain/timeseries/plans';
import type { ReadingStore } from '../store/ports/reading-store';
import { fetchPlannedBuckets } from './aggregates';
import { finestRetainedAt } from '../domain/timeseries/retained-plan';
import type { RetentionHorizons } from '../domain/retention';

export interface SeriesRequest {
  readonly deviceId: string;
  readonly metric: string;
  readonly from: number;
  readonly to: number;
  /** Most points returned (at least 3). */
  readonly points: number;
  /** Most raw readings read for one request. */
  readonly maxRows: number;
  /** Where retention may have removed each level (the tenant's policy now); absent: nothing removed. */
  readonly horizons?: RetentionHorizons | undefined;
}

export interface SeriesResult {
  readonly points: { timestamp: number; value: number }[];
  /** Stored readings in the range, before downsampling. */
  readonly totalPoints: number;
  /** Where the candidate points came from. */
  readonly source: SeriesSource;
}

/**
 * A chart-ready series: every stored point, or at most `points` chosen by LTTB. When a chart
 * point spans at least a minute, the candidates come from rollups instead of every raw
 * reading (see candidatesFromRollups): a month of per-second data reads 43,200 minute rows
 * instead of 2.6 million readings. A range reaching back before the raw readings kept is
 * always drawn from the rollups that remain (source ROLLUPS), never from what raw is left.
 */
export async function runSeries(store: ReadingStore, tenantId: string, request: SeriesRequest): Promise<SeriesResult> {
  const fromRollups = await candidatesFromRollups(store, tenantId, request);
  const rawMayBeGone = request.horizons !== undefined && request.from < request.horizons.raw;
  if (fromRollups && (fromRollups.totalPoints > request.points || rawMayBeGone)) {
    const kept = largestTriangleThreeBuckets(fromRollups.timestamps, fromRollups.values, request.points);
    return {
      points: kept.map((i) => ({ timestamp: fromRollups.timestamps[i]!, value: fromRollups.values[i]! })),
      totalPoints: fromRollups.totalPoints,
      source: 'ROLLUPS',
    };
  }
  const { timestamps, values } = await store.seriesColumns(tenantId, request);
  const kept = largestTriangleThreeBuckets(timestamps, values, request.points);
  return { points: kept.map((i) => ({ timestamp: timestamps[i]!, value: values[i]! })), totalPoints: timestamps.length, source: 'RAW' };
}

interface Candidates {
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
  readonly totalPoints: number;
}

/**
 * M4 candidates: each rollup bucket (the coarsest level no wider than one chart point, ragged
 * ends from raw readings) gives its first, lowest, highest and last readings, real stored
 * points at their own times. Every chart point's span then holds its extremes and ends, so
 * peaks and the range's ends survive LTTB as they would from the raw readings. Undefined when
 * a chart point spans less than a minute, or when rollups written before their extremes' times
 * were kept cover part of the range.
 */
async function candidatesFromRollups(store: ReadingStore, tenantId: string, request: SeriesRequest): Promise<Candidates | undefined> {
  const spanMs = (request.to - request.from) / request.points;
  let resolution: number | undefined = [...ROLLUP_RESOLUTIONS_MS].reverse().find((candidate) => candidate <= spanMs);
  // Where raw readings may be gone, no finer than the finest rollup kept at the range's start.
  const kept = request.horizons ? finestRetainedAt(request.from, request.horizons) : 'raw';
  if (typeof kept === 'number' && (resolution === undefined || resolution < kept)) resolution = kept;
  if (resolution === undefined) return undefined;
  const edges = [request.from];
  for (let edge = (Math.floor(request.from / resolution) + 1) * resolution; edge < request.to; edge += resolution) edges.push(edge);
  edges.push(request.to);
  const byDevice = await fetchPlannedBuckets(store, tenantId, {
    deviceIds: [request.deviceId],
    metric: request.metric,
    edges,
    rawOnly: false,
    withValues: false,
    horizons: request.horizons,
  });
  const timestamps: number[] = [];
  const values: number[] = [];
  let totalPoints = 0;
  for (const bucket of byDevice.get(request.deviceId) ?? []) {
    if (!bucket) continue;
    const p = bucket.partial;
    if (p.minTs === null || p.maxTs === null) return undefined;
    totalPoints += p.count;
    const four: [number, number][] = [
      [p.firstTs, p.firstValue],
      [p.minTs, p.min],
      [p.maxTs, p.max],
      [p.lastTs, p.lastValue],
    ];
    four.sort((a, b) => a[0] - b[0]);
    // One reading per timestamp: a first that is also the minimum is one point.
    for (const [timestamp, value] of four) {
      if (timestamps[timestamps.length - 1] === timestamp) continue;
      timestamps.push(timestamp);
      values.push(value);
    }
  }
  return { timestamps: Float64Array.from(timestamps), values: Float64Array.from(values), totalPoints };
}
