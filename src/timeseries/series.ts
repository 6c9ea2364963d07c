import { largestTriangleThreeBuckets } from '../domain/timeseries/lttb';
import type { Store } from '../store/store';

export interface SeriesRequest {
  readonly deviceId: string;
  readonly metric: string;
  readonly from: number;
  readonly to: number;
  /** Most points returned (at least 3). */
  readonly points: number;
  /** Most raw readings read for one request. */
  readonly maxRows: number;
}

export interface SeriesResult {
  readonly points: { timestamp: number; value: number }[];
  /** Stored readings in the range, before downsampling. */
  readonly totalPoints: number;
}

/** A chart-ready series: every stored point, or at most `points` chosen by LTTB. */
export async function runSeries(store: Store, tenantId: string, request: SeriesRequest): Promise<SeriesResult> {
  const { timestamps, values } = await store.seriesColumns(tenantId, request);
  const kept = largestTriangleThreeBuckets(timestamps, values, request.points);
  return { points: kept.map((i) => ({ timestamp: timestamps[i]!, value: values[i]! })), totalPoints: timestamps.length };
}
