import type Database from 'better-sqlite3';
import type { MetricPoint, PersistedReading } from '../../../domain/reading';
import type { Page } from '../../../domain/page';
import type { EventReplayQuery, ReadingQuery } from '../../ports/reading-store';
import { decodeMetrics, eventIdOf, eventKey, type EventKey } from './event-rows';

/** SQLite statements for reading queries, event replay, latest values and stream watermarks. */

interface EventRow {
  device_id: string;
  stream_partition: number;
  stream_offset: number;
  event_id: EventKey;
  ts: number;
  metrics: string;
}

const toPersistedReading = (tenantId: string, row: EventRow): PersistedReading => ({
  tenantId,
  deviceId: row.device_id,
  partition: row.stream_partition,
  offset: row.stream_offset,
  eventId: eventIdOf(row.event_id),
  timestamp: row.ts,
  metrics: decodeMetrics(row.metrics),
});

export function latestReadings(db: Database.Database, tenantId: string, deviceIds: readonly string[]): Map<string, MetricPoint[]> {
  const rows = db
    .prepare(
      'SELECT device_id, metric, ts, value FROM latest_readings WHERE tenant_id = ? AND device_id IN (SELECT value FROM json_each(?)) ORDER BY device_id, metric',
    )
    .all(tenantId, JSON.stringify(deviceIds)) as { device_id: string; metric: string; ts: number; value: number }[];
  const byDevice = new Map<string, MetricPoint[]>();
  for (const row of rows) {
    const points = byDevice.get(row.device_id) ?? [];
    points.push({ deviceId: row.device_id, metric: row.metric, timestamp: row.ts, value: row.value });
    byDevice.set(row.device_id, points);
  }
  return byDevice;
}

export function watermarks(db: Database.Database, source: string): Map<number, number> {
  const rows = db.prepare('SELECT stream_partition, applied_offset FROM stream_watermarks WHERE source = ?').all(source) as {
    stream_partition: number;
    applied_offset: number;
  }[];
  return new Map(rows.map((row) => [row.stream_partition, row.applied_offset]));
}

export function queryReadings(db: Database.Database, tenantId: string, query: ReadingQuery): Page<MetricPoint> {
  const newestFirst = query.order === 'NEWEST_FIRST';
  const rows = db
    .prepare(
      `SELECT ts, value FROM samples
           WHERE series_id = (SELECT id FROM series WHERE tenant_id = @tenantId AND device_id = @deviceId AND metric = @metric)
             AND ts >= @from AND ts < @to
             AND (@after IS NULL OR ts ${newestFirst ? '<' : '>'} @after)
           ORDER BY ts ${newestFirst ? 'DESC' : 'ASC'} LIMIT @limit`,
    )
    .all({
      tenantId,
      deviceId: query.deviceId,
      metric: query.metric,
      from: query.from ?? Number.MIN_SAFE_INTEGER,
      to: query.to ?? Number.MAX_SAFE_INTEGER,
      after: query.afterTimestamp ?? null,
      limit: query.first + 1,
    }) as { ts: number; value: number }[];
  return {
    items: rows.slice(0, query.first).map((row) => ({ deviceId: query.deviceId, metric: query.metric, timestamp: row.ts, value: row.value })),
    hasMore: rows.length > query.first,
  };
}

/**
 * The events after a position per partition; the caller runs it in one DEFERRED transaction, so
 * the windows of a page read one snapshot and agree with each other.
 */
export function readingEventsAfter(db: Database.Database, query: EventReplayQuery): PersistedReading[] {
  // One query per partition over all devices: each result is then an exact prefix of what
  // follows the position in that partition, which is what a resuming subscriber needs.
  // Each query reads a window of offsets, (from, to]: the (tenant, device, partition, offset)
  // index then visits only the window's rows of these devices, where an open range would
  // collect and sort every later row of every device for each page (a replay of n events
  // cost n^2). Offsets are dense in a partition, so windows that double reach the
  // watermark in a few steps even when the devices are a small share of the partition.
  // INDEXED BY: without table statistics SQLite would rather scan the tenant's primary key.
  const statement = db.prepare(
    `SELECT device_id, stream_partition, stream_offset, event_id, ts, metrics FROM reading_events INDEXED BY reading_events_by_position
         WHERE tenant_id = ? AND device_id IN (SELECT value FROM json_each(?)) AND stream_partition = ? AND stream_offset > ? AND stream_offset <= ?
         ORDER BY stream_offset LIMIT ?`,
  );
  const readWatermark = db.prepare("SELECT applied_offset FROM stream_watermarks WHERE source = 'readings' AND stream_partition = ?").pluck();
  const devices = JSON.stringify(query.deviceIds);
  const events: PersistedReading[] = [];
  for (const [partition, after] of [...query.after].sort((a, b) => a[0] - b[0])) {
    const top = (readWatermark.get(partition) as number | undefined) ?? Number.MAX_SAFE_INTEGER;
    let from = after;
    let width = Math.max(64, 2 * (query.limit - events.length));
    while (from < top && events.length < query.limit) {
      const remaining = query.limit - events.length;
      const to = Math.min(top, from + width);
      const rows = statement.all(query.tenantId, devices, partition, from, to, remaining) as EventRow[];
      for (const row of rows) events.push(toPersistedReading(query.tenantId, row));
      if (rows.length === remaining) break;
      from = to;
      width *= 2;
    }
  }
  return events;
}

/** The stored events of these ids (those found), one primary-key lookup each (a key may be a BLOB: event-rows.ts). */
export function readingEventsByIds(db: Database.Database, tenantId: string, eventIds: readonly string[]): PersistedReading[] {
  const byId = db.prepare('SELECT device_id, stream_partition, stream_offset, event_id, ts, metrics FROM reading_events WHERE tenant_id = ? AND event_id = ?');
  const events: PersistedReading[] = [];
  for (const eventId of new Set(eventIds)) {
    const row = byId.get(tenantId, eventKey(eventId)) as EventRow | undefined;
    if (row) events.push(toPersistedReading(tenantId, row));
  }
  return events;
}
