import type { RetentionHorizons } from '../retention';
import { coarsestRollupFor, ROLLUP_RESOLUTIONS_MS } from './buckets';

/** Where one bucket is read from: a rollup resolution (ms) or the raw readings. */
export type PlannedSource = number | 'raw';

/** Bucket edges and, per bucket, the source that answers it. */
export interface BucketPlan {
  /** Bucket i is [edges[i], edges[i + 1]). */
  readonly edges: readonly number[];
  readonly sources: readonly PlannedSource[];
}

/**
 * The finest level still holding data from `start` on: the raw readings, else the finest rollup
 * whose bucket holding `start` is kept; undefined when retention let every level go.
 */
export function finestRetainedAt(start: number, horizons: RetentionHorizons): PlannedSource | undefined {
  if (start >= horizons.raw) return 'raw';
  return ROLLUP_RESOLUTIONS_MS.find((resolution) => Math.floor(start / resolution) * resolution >= (horizons.rollups.get(resolution) ?? Infinity));
}

/**
 * Plans buckets over data that retention may have removed. A bucket starting where the raw
 * readings are kept is answered as without retention (the coarsest rollup that tiles it exactly,
 * raw readings otherwise). A bucket starting earlier is answered from the finest rollup level
 * kept there, never from raw readings that may be gone: its edges widen to that level's grid
 * (a query in minutes over a range where only hours remain gets hour buckets), and a bucket
 * the widening swallows disappears. The answer says so: each bucket's `source` names the level,
 * and its start and end the span it really covers. Before every level's horizon, buckets stay
 * as asked and are read as usual: they find nothing, as nothing is kept there.
 */
export function planRetainedBuckets(edges: readonly number[], rawOnly: boolean, horizons?: RetentionHorizons): BucketPlan {
  const sourceOf = (start: number, end: number): PlannedSource => (rawOnly ? 'raw' : (coarsestRollupFor(start, end) ?? 'raw'));
  if (!horizons) {
    return { edges, sources: edges.slice(0, -1).map((start, i) => sourceOf(start, edges[i + 1]!)) };
  }
  const planned: number[] = [edges[0]!];
  const sources: PlannedSource[] = [];
  for (let i = 1; i < edges.length; i++) {
    const start = planned[planned.length - 1]!;
    const end = edges[i]!;
    // Swallowed by the widening of the bucket before it.
    if (end <= start) continue;
    const level = finestRetainedAt(start, horizons);
    if (level === 'raw' || level === undefined) {
      planned.push(end);
      sources.push(sourceOf(start, end));
      continue;
    }
    const alignedStart = Math.floor(start / level) * level;
    if (alignedStart < start) {
      // Only the first bucket, or one right after buckets kept by no level, starts off the grid.
      while (planned.length > 1 && planned[planned.length - 2]! >= alignedStart) {
        planned.pop();
        sources.pop();
      }
      planned[planned.length - 1] = alignedStart;
    }
    const alignedEnd = Math.ceil(end / level) * level;
    planned.push(alignedEnd);
    sources.push(coarsestRetainedRollup(alignedStart, alignedEnd, level, horizons));
  }
  return { edges: planned, sources };
}

/** The coarsest rollup kept at `start` that tiles [start, end) exactly; at least `finest`, which does. */
function coarsestRetainedRollup(start: number, end: number, finest: number, horizons: RetentionHorizons): number {
  for (let i = ROLLUP_RESOLUTIONS_MS.length - 1; i >= 0; i--) {
    const resolution = ROLLUP_RESOLUTIONS_MS[i]!;
    if (resolution <= finest) break;
    if (start % resolution === 0 && end % resolution === 0 && start >= (horizons.rollups.get(resolution) ?? Infinity)) return resolution;
  }
  return finest;
}
