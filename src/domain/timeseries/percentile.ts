/** Percentiles computed from raw values, never from rollups (they are not mergeable). */
export const PERCENTILES = { p50: 0.5, p90: 0.9, p95: 0.95, p99: 0.99 } as const;
export type PercentileName = keyof typeof PERCENTILES;

/**
 * Continuous percentile with linear interpolation between closest ranks (the same
 * definition as PostgreSQL's percentile_cont and Oracle's PERCENTILE_CONT).
 * `sorted` must be ascending and non-empty.
 */
export function percentileOfSorted(sorted: readonly number[], fraction: number): number {
  const rank = fraction * (sorted.length - 1);
  const lower = Math.floor(rank);
  const upper = Math.ceil(rank);
  const below = sorted[lower]!;
  return below + (sorted[upper]! - below) * (rank - lower);
}
