import { TelemetryError } from '../../../domain/errors';
import type { Metric, MetricPoint, PersistedReading } from '../../../domain/reading';
import { SOURCE_BY_RESOLUTION } from '../../../domain/timeseries/aggregate-buckets';
import { bucketIndex, bucketsFor } from '../../../domain/timeseries/bucket-index';
import { addValue, mergeInto, partialOf, type PartialAggregate } from '../../../domain/timeseries/partial';
import type { AggregateQuery, DeviceBuckets, EventReplayQuery, ReadingQuery, SeriesColumns, SeriesQuery } from '../../ports/reading-store';
import type { Page } from '../../../domain/page';
import type { Session } from '../session';

/** Reads: raw readings, stored events (subscription replay and fan-out), series and aggregates. */

const IDS_TABLE = "SELECT j.id FROM JSON_TABLE(:ids, '$[*]' COLUMNS (id VARCHAR2(128) PATH '$')) j";

export const SQL = {
  // Transaction-level read consistency for the statements after it (Oracle's default READ
  // COMMITTED is per statement); must be the transaction's first statement.
  readOnlyTransaction: 'SET TRANSACTION READ ONLY',
  readingsNewestFirst: `SELECT ts, value FROM readings
                        WHERE tenant_id = :tenant_id AND device_id = :device_id AND metric = :metric AND ts >= :from_ts AND ts < :to_ts
                          AND (:after_ts IS NULL OR ts < :after_ts)
                        ORDER BY ts DESC FETCH FIRST :limit_rows ROWS ONLY`,
  readingsOldestFirst: `SELECT ts, value FROM readings
                        WHERE tenant_id = :tenant_id AND device_id = :device_id AND metric = :metric AND ts >= :from_ts AND ts < :to_ts
                          AND (:after_ts IS NULL OR ts > :after_ts)
                        ORDER BY ts ASC FETCH FIRST :limit_rows ROWS ONLY`,
  eventsAfter: `SELECT device_id, stream_partition, stream_offset, event_id, ts, metrics FROM reading_events
                WHERE tenant_id = :tenant_id AND device_id IN (${IDS_TABLE}) AND stream_partition = :stream_partition AND stream_offset > :after_offset
                ORDER BY stream_offset FETCH FIRST :limit_rows ROWS ONLY`,
  eventsByIds: `SELECT device_id, stream_partition, stream_offset, event_id, ts, metrics FROM reading_events
                WHERE tenant_id = :tenant_id AND event_id IN (${IDS_TABLE})`,
  series: `SELECT ts, value FROM readings
           WHERE tenant_id = :tenant_id AND device_id = :device_id AND metric = :metric AND ts >= :from_ts AND ts < :to_ts
           ORDER BY ts FETCH FIRST :limit_rows ROWS ONLY`,
  rollupRows: `SELECT device_id, bucket_start, cnt, sum_value, sum_sq, min_value, max_value, min_ts, max_ts, first_ts, first_value, last_ts, last_value FROM rollups
               WHERE tenant_id = :tenant_id AND device_id IN (${IDS_TABLE}) AND metric = :metric AND resolution_ms = :resolution_ms
                 AND bucket_start >= :from_ts AND bucket_start < :to_ts
               ORDER BY device_id, bucket_start`,
  // Raw buckets are folded by the database: the boundaries travel as one JSON array and are
  // joined as (index, start, end) ranges; first/last use KEEP (DENSE_RANK FIRST/LAST).
  rawBuckets: `WITH edges AS (
                 SELECT e.idx - 1 AS idx, e.lo, LEAD(e.lo) OVER (ORDER BY e.idx) AS hi
                 FROM JSON_TABLE(:boundaries, '$[*]' COLUMNS (idx FOR ORDINALITY, lo NUMBER PATH '$')) e)
               SELECT r.device_id, b.idx, COUNT(*) AS cnt, SUM(r.value) AS sum_value, SUM(r.value * r.value) AS sum_sq,
                      MIN(r.value) AS min_value, MAX(r.value) AS max_value,
                      MIN(r.ts) KEEP (DENSE_RANK FIRST ORDER BY r.value) AS min_ts, MIN(r.ts) KEEP (DENSE_RANK LAST ORDER BY r.value) AS max_ts,
                      MIN(r.ts) AS first_ts, MIN(r.value) KEEP (DENSE_RANK FIRST ORDER BY r.ts) AS first_value,
                      MAX(r.ts) AS last_ts, MAX(r.value) KEEP (DENSE_RANK LAST ORDER BY r.ts) AS last_value
               FROM readings r JOIN edges b ON r.ts >= b.lo AND r.ts < b.hi
               WHERE r.tenant_id = :tenant_id AND r.device_id IN (${IDS_TABLE}) AND r.metric = :metric AND r.ts >= :from_ts AND r.ts < :to_ts
               GROUP BY r.device_id, b.idx`,
  rawValues: `SELECT device_id, ts, value FROM readings
              WHERE tenant_id = :tenant_id AND device_id IN (${IDS_TABLE}) AND metric = :metric AND ts >= :from_ts AND ts < :to_ts
              ORDER BY device_id, ts`,
} as const;

interface EventRow {
  DEVICE_ID: string;
  STREAM_PARTITION: number;
  STREAM_OFFSET: number;
  EVENT_ID: string;
  TS: number;
  METRICS: string;
}

const toEvent = (tenantId: string, row: EventRow): PersistedReading => ({
  tenantId,
  deviceId: row.DEVICE_ID,
  partition: row.STREAM_PARTITION,
  offset: row.STREAM_OFFSET,
  eventId: row.EVENT_ID,
  timestamp: row.TS,
  metrics: JSON.parse(row.METRICS) as Metric[],
});

export async function readings(session: Session, tenantId: string, query: ReadingQuery): Promise<Page<MetricPoint>> {
  const rows =
    (
      await session.execute<{ TS: number; VALUE: number }>(
        query.order === 'NEWEST_FIRST' ? SQL.readingsNewestFirst : SQL.readingsOldestFirst,
        {
          tenant_id: tenantId,
          device_id: query.deviceId,
          metric: query.metric,
          from_ts: query.from ?? Number.MIN_SAFE_INTEGER,
          to_ts: query.to ?? Number.MAX_SAFE_INTEGER,
          after_ts: query.afterTimestamp ?? null,
          limit_rows: query.first + 1,
        },
        { bulk: query.first > 100 },
      )
    ).rows ?? [];
  return {
    items: rows.slice(0, query.first).map((row) => ({ deviceId: query.deviceId, metric: query.metric, timestamp: row.TS, value: row.VALUE })),
    hasMore: rows.length > query.first,
  };
}

export async function eventsAfter(session: Session, query: EventReplayQuery): Promise<PersistedReading[]> {
  const events: PersistedReading[] = [];
  for (const [partition, after] of [...query.after].sort((a, b) => a[0] - b[0])) {
    const remaining = query.limit - events.length;
    if (remaining <= 0) break;
    const rows =
      (
        await session.execute<EventRow>(SQL.eventsAfter, {
          tenant_id: query.tenantId,
          ids: JSON.stringify(query.deviceIds),
          stream_partition: partition,
          after_offset: after,
          limit_rows: remaining,
        })
      ).rows ?? [];
    events.push(...rows.map((row) => toEvent(query.tenantId, row)));
  }
  return events;
}

export async function eventsByIds(session: Session, tenantId: string, eventIds: readonly string[]): Promise<PersistedReading[]> {
  if (eventIds.length === 0) return [];
  return ((await session.execute<EventRow>(SQL.eventsByIds, { tenant_id: tenantId, ids: JSON.stringify(eventIds) })).rows ?? []).map((row) =>
    toEvent(tenantId, row),
  );
}

export async function series(session: Session, tenantId: string, query: SeriesQuery): Promise<SeriesColumns> {
  const rows =
    (
      await session.execute<{ TS: number; VALUE: number }>(
        SQL.series,
        { tenant_id: tenantId, device_id: query.deviceId, metric: query.metric, from_ts: query.from, to_ts: query.to, limit_rows: query.maxRows + 1 },
        { maxRows: query.maxRows + 1, bulk: true },
      )
    ).rows ?? [];
  if (rows.length > query.maxRows) {
    throw new TelemetryError('BAD_USER_INPUT', `the range holds more than ${query.maxRows} readings; ask for a shorter range`, {
      details: { limit: query.maxRows },
    });
  }
  return { timestamps: Float64Array.from(rows, (row) => row.TS), values: Float64Array.from(rows, (row) => row.VALUE) };
}

interface PartialRow {
  DEVICE_ID: string;
  CNT: number;
  SUM_VALUE: number;
  SUM_SQ: number;
  MIN_VALUE: number;
  MAX_VALUE: number;
  MIN_TS: number | null;
  MAX_TS: number | null;
  FIRST_TS: number;
  FIRST_VALUE: number;
  LAST_TS: number;
  LAST_VALUE: number;
}

const toPartial = (row: PartialRow): PartialAggregate => ({
  count: row.CNT,
  sum: row.SUM_VALUE,
  sumSq: row.SUM_SQ,
  min: row.MIN_VALUE,
  max: row.MAX_VALUE,
  minTs: row.MIN_TS,
  maxTs: row.MAX_TS,
  firstTs: row.FIRST_TS,
  firstValue: row.FIRST_VALUE,
  lastTs: row.LAST_TS,
  lastValue: row.LAST_VALUE,
});

export async function aggregate(session: Session, tenantId: string, query: AggregateQuery): Promise<DeviceBuckets> {
  const { boundaries } = query;
  const common = {
    tenant_id: tenantId,
    ids: JSON.stringify(query.deviceIds),
    metric: query.metric,
    from_ts: boundaries[0],
    to_ts: boundaries[boundaries.length - 1],
  };
  const result: DeviceBuckets = new Map();
  const size = boundaries.length - 1;
  if (query.source !== 'raw') {
    const source = SOURCE_BY_RESOLUTION[query.source]!;
    const rows =
      (await session.execute<PartialRow & { BUCKET_START: number }>(SQL.rollupRows, { ...common, resolution_ms: query.source }, { bulk: true })).rows ?? [];
    for (const row of rows) {
      const buckets = bucketsFor(result, row.DEVICE_ID, size);
      const index = bucketIndex(boundaries, row.BUCKET_START);
      const existing = buckets[index];
      if (existing) mergeInto(existing.partial, toPartial(row));
      else buckets[index] = { partial: toPartial(row), source };
    }
    return result;
  }
  if (!query.withValues) {
    const rows =
      (await session.execute<PartialRow & { IDX: number }>(SQL.rawBuckets, { ...common, boundaries: JSON.stringify(boundaries) }, { bulk: true })).rows ?? [];
    for (const row of rows) bucketsFor(result, row.DEVICE_ID, size)[row.IDX] = { partial: toPartial(row), source: 'RAW' };
    return result;
  }
  // Percentiles need the values themselves.
  const rows = (await session.execute<{ DEVICE_ID: string; TS: number; VALUE: number }>(SQL.rawValues, common, { bulk: true })).rows ?? [];
  for (const row of rows) {
    const buckets = bucketsFor(result, row.DEVICE_ID, size);
    const index = bucketIndex(boundaries, row.TS);
    const bucket = buckets[index];
    if (bucket) {
      addValue(bucket.partial, row.TS, row.VALUE);
      bucket.values!.push(row.VALUE);
    } else buckets[index] = { partial: partialOf(row.TS, row.VALUE), source: 'RAW', values: [row.VALUE] };
  }
  return result;
}
