import type { MetricPoint, PersistedReading, SortOrder } from '../../domain/reading';
import type { Page } from '../../domain/page';
import type { BucketData } from '../../domain/timeseries/aggregate-buckets';

export interface ReadingQuery {
  readonly deviceId: string;
  readonly metric: string;
  /** Inclusive lower bound, UTC ms. */
  readonly from?: number | undefined;
  /** Exclusive upper bound, UTC ms. */
  readonly to?: number | undefined;
  readonly first: number;
  /** Timestamp of the last point of the previous page; exclusive. */
  readonly afterTimestamp?: number | undefined;
  readonly order: SortOrder;
}

export interface EventReplayQuery {
  readonly tenantId: string;
  readonly deviceIds: readonly string[];
  /** Exclusive start per partition: events with offset greater than this are returned. */
  readonly after: ReadonlyMap<number, number>;
  /** Only these metrics (all when undefined). */
  readonly metric?: string | undefined;
  /** Most events returned. */
  readonly limit: number;
}

/** Buckets of one metric over several devices, between consecutive boundaries. */
export interface AggregateQuery {
  readonly deviceIds: readonly string[];
  readonly metric: string;
  /**
   * Ascending edges: bucket i holds data in [boundaries[i], boundaries[i + 1]). For a rollup
   * read every edge must be a multiple of the resolution (the planner guarantees it).
   */
  readonly boundaries: readonly number[];
  /** A rollup resolution in ms, or 'raw' to fold the readings themselves. */
  readonly source: number | 'raw';
  /** With 'raw': keep each bucket's values (for percentiles). */
  readonly withValues?: boolean;
}

/** Per device, one entry per bucket: its data, or undefined when it holds none. */
export type DeviceBuckets = Map<string, (BucketData | undefined)[]>;

export interface SeriesQuery {
  readonly deviceId: string;
  readonly metric: string;
  readonly from: number;
  readonly to: number;
  /** Most rows read; more than that rejects with TelemetryError BAD_USER_INPUT. */
  readonly maxRows: number;
}

/** A series as two columns in time order (typed arrays: a month of seconds is 2.6M points). */
export interface SeriesColumns {
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
}

/**
 * Stored readings (written by the batch pipeline, see BatchStore): pages of points, replay of
 * the persisted events, the latest values, and the time-series reads the query planners use.
 */
export interface ReadingStore {
  /** Applied offset of each partition of `source` (absent: nothing applied yet). */
  watermarks(source: string): Promise<Map<number, number>>;
  queryReadings(tenantId: string, query: ReadingQuery): Promise<Page<MetricPoint>>;
  /** Persisted reading events after the given positions, ordered by partition then offset. */
  readingEventsAfter(query: EventReplayQuery): Promise<PersistedReading[]>;
  /**
   * Per partition, the highest offset of an event of these devices that retention removed
   * (absent: none removed): a resume from before it would miss that event (CURSOR_EXPIRED).
   */
  prunedReadingEvents(tenantId: string, deviceIds: readonly string[]): Promise<Map<number, number>>;
  /** The stored events of these event ids (those that exist), with their stored metrics. */
  readingEventsByIds(tenantId: string, eventIds: readonly string[]): Promise<PersistedReading[]>;
  /** Latest value of every metric of each device (loaded in one call for many devices). */
  latestReadings(tenantId: string, deviceIds: readonly string[]): Promise<Map<string, MetricPoint[]>>;
  /**
   * Partial aggregates per bucket for each run of buckets (each run from one rollup level or
   * from raw readings), in the order given. The embedded store reads every run from one
   * snapshot, so a batch committed meanwhile counts in all of them or in none.
   */
  aggregateBuckets(tenantId: string, runs: readonly AggregateQuery[]): Promise<DeviceBuckets[]>;
  /** Every stored value of one series in [from, to), in time order. */
  seriesColumns(tenantId: string, query: SeriesQuery): Promise<SeriesColumns>;
}
