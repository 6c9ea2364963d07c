import type Database from 'better-sqlite3';
import { type BucketData, type BucketSource, SOURCE_BY_RESOLUTION } from '../../../domain/timeseries/aggregate-buckets';
import { addValue, mergeInto, partialOf, type PartialAggregate } from '../../../domain/timeseries/partial';
import type { RollupDelta } from '../../../domain/timeseries/rollup-deltas';
import { bucketIndex, bucketsFor } from '../../../domain/timeseries/bucket-index';
import type { AggregateQuery, DeviceBuckets } from '../../ports/reading-store';
import type { SeriesIds } from '../series-ids';

/** Rollup SQL for SQLite: merging batch deltas, and reading buckets back (rollup or raw). */

// Every right-hand side reads the row as it was (SQL UPDATE semantics). min_ts and max_ts
// follow mergeInto: the earliest timestamp holding the extreme, NULL (unknown) stays NULL.
const UPSERT = `
  INSERT INTO rollups (series_id, resolution_ms, bucket_start, count, sum, sum_sq, min, max, min_ts, max_ts, first_ts, first_value, last_ts, last_value)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (series_id, resolution_ms, bucket_start) DO UPDATE SET
    count = rollups.count + excluded.count,
    sum = rollups.sum + excluded.sum,
    sum_sq = rollups.sum_sq + excluded.sum_sq,
    min_ts = CASE WHEN excluded.min < rollups.min THEN excluded.min_ts
                  WHEN excluded.min = rollups.min THEN min(rollups.min_ts, excluded.min_ts)
                  ELSE rollups.min_ts END,
    max_ts = CASE WHEN excluded.max > rollups.max THEN excluded.max_ts
                  WHEN excluded.max = rollups.max THEN min(rollups.max_ts, excluded.max_ts)
                  ELSE rollups.max_ts END,
    min = min(rollups.min, excluded.min),
    max = max(rollups.max, excluded.max),
    first_value = CASE WHEN excluded.first_ts < rollups.first_ts THEN excluded.first_value ELSE rollups.first_value END,
    first_ts = min(rollups.first_ts, excluded.first_ts),
    last_value = CASE WHEN excluded.last_ts > rollups.last_ts THEN excluded.last_value ELSE rollups.last_value END,
    last_ts = max(rollups.last_ts, excluded.last_ts)`;

/**
 * Merges deltas into the stored buckets, inside the batch transaction, under their series id
 * (migration 15); the statement is prepared once.
 */
export const rollupUpserter = (db: Database.Database, seriesIds: SeriesIds): ((deltas: readonly RollupDelta[]) => void) => {
  const upsert = db.prepare(UPSERT);
  return (deltas) => {
    for (const { tenantId, deviceId, metric, resolutionMs, bucketStart, partial: p } of deltas) {
      upsert.run(
        seriesIds.idOf(tenantId, deviceId, metric),
        resolutionMs,
        bucketStart,
        p.count,
        p.sum,
        p.sumSq,
        p.min,
        p.max,
        p.minTs,
        p.maxTs,
        p.firstTs,
        p.firstValue,
        p.lastTs,
        p.lastValue,
      );
    }
  };
};

export function readRollupBuckets(db: Database.Database, tenantId: string, query: AggregateQuery, resolutionMs: number): DeviceBuckets {
  const { boundaries } = query;
  const rows = db
    .prepare(
      `SELECT s.device_id, r.bucket_start, r.count, r.sum, r.sum_sq, r.min, r.max, r.min_ts, r.max_ts, r.first_ts, r.first_value, r.last_ts, r.last_value
       FROM series s CROSS JOIN rollups r ON r.series_id = s.id AND r.resolution_ms = ? AND r.bucket_start >= ? AND r.bucket_start < ?
       WHERE s.tenant_id = ? AND s.device_id IN (SELECT value FROM json_each(?)) AND s.metric = ?
       ORDER BY s.device_id, r.bucket_start`,
    )
    .raw()
    .all(resolutionMs, boundaries[0], boundaries[boundaries.length - 1], tenantId, JSON.stringify(query.deviceIds), query.metric) as [
    string,
    number,
    number,
    number,
    number,
    number,
    number,
    number | null,
    number | null,
    number,
    number,
    number,
    number,
  ][];
  const source: BucketSource = SOURCE_BY_RESOLUTION[resolutionMs]!;
  const result: DeviceBuckets = new Map();
  for (const [deviceId, bucketStart, count, sum, sumSq, min, max, minTs, maxTs, firstTs, firstValue, lastTs, lastValue] of rows) {
    const partial: PartialAggregate = { count, sum, sumSq, min, max, minTs, maxTs, firstTs, firstValue, lastTs, lastValue };
    const buckets = bucketsFor(result, deviceId, boundaries.length - 1);
    const index = bucketIndex(boundaries, bucketStart);
    const existing = buckets[index];
    if (existing) mergeInto(existing.partial, partial);
    else buckets[index] = { partial, source };
  }
  return result;
}

export function readRawBuckets(db: Database.Database, tenantId: string, query: AggregateQuery, withValues: boolean): DeviceBuckets {
  const { boundaries } = query;
  const rows = db
    .prepare(
      `SELECT s.device_id, r.ts, r.value FROM series s CROSS JOIN samples r ON r.series_id = s.id AND r.ts >= ? AND r.ts < ?
       WHERE s.tenant_id = ? AND s.device_id IN (SELECT value FROM json_each(?)) AND s.metric = ?
       ORDER BY s.device_id, r.ts`,
    )
    .raw()
    .iterate(boundaries[0], boundaries[boundaries.length - 1], tenantId, JSON.stringify(query.deviceIds), query.metric) as IterableIterator<
    [string, number, number]
  >;
  const result: DeviceBuckets = new Map();
  let device: string | undefined;
  let buckets: (BucketData | undefined)[] = [];
  let index = 0;
  for (const [deviceId, ts, value] of rows) {
    if (deviceId !== device) {
      device = deviceId;
      buckets = bucketsFor(result, deviceId, boundaries.length - 1);
      index = 0;
    }
    // Rows come in time order: walk the boundaries forward instead of searching.
    while (ts >= boundaries[index + 1]!) index++;
    const bucket = buckets[index];
    if (bucket) {
      addValue(bucket.partial, ts, value);
      bucket.values?.push(value);
    } else {
      buckets[index] = { partial: partialOf(ts, value), source: 'RAW', ...(withValues ? { values: [value] } : {}) };
    }
  }
  return result;
}
