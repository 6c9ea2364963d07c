import type { Page } from '../../domain/page';
import type { MetricPoint, PersistedReading } from '../../domain/reading';
import type { DeviceBuckets } from '../ports/reading-store';
import type { ReadName, ReadResult } from './read-operations';
import { decodeBucketColumns, encodeBucketColumns, type BucketColumns } from './bucket-columns';

/**
 * How the result of a read crosses from a reader thread to the API thread. Structured clone,
 * the default, rebuilds every object on the API thread, and for the long pages that costs that
 * thread about as much as the query itself. The long results therefore cross in a form that is
 * cheap to take apart on the API thread: columns of numbers moved as buffers, or JSON text.
 */
interface ResultCodec<T> {
  encode(value: T): unknown;
  decode(encoded: never): T;
}

interface PointColumns {
  readonly deviceId: string;
  readonly metric: string;
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
  readonly hasMore: boolean;
}

/** A page of points of one series: two columns of doubles (moved, not copied), objects rebuilt. */
const pointColumns: ResultCodec<Page<MetricPoint>> = {
  encode(page): PointColumns {
    const timestamps = new Float64Array(page.items.length);
    const values = new Float64Array(page.items.length);
    page.items.forEach((point, i) => {
      timestamps[i] = point.timestamp;
      values[i] = point.value;
    });
    // queryReadings reads one (device, metric): every point carries the same two.
    return { deviceId: page.items[0]?.deviceId ?? '', metric: page.items[0]?.metric ?? '', timestamps, values, hasMore: page.hasMore };
  },
  decode({ deviceId, metric, timestamps, values, hasMore }: PointColumns) {
    const items: MetricPoint[] = new Array<MetricPoint>(timestamps.length);
    for (let i = 0; i < timestamps.length; i++) items[i] = { deviceId, metric, timestamp: timestamps[i]!, value: values[i]! };
    return { items, hasMore };
  },
};

/** Events with their nested metrics, all strings and numbers: JSON keeps them exactly and parses fast. */
const json: ResultCodec<PersistedReading[]> = {
  encode: (value) => JSON.stringify(value),
  decode: (text: string) => JSON.parse(text) as PersistedReading[],
};

/** Aggregate buckets of every run of one query (bucket-columns.ts). */
const bucketColumns: ResultCodec<DeviceBuckets[]> = {
  encode: encodeBucketColumns,
  decode: (columns: BucketColumns) => decodeBucketColumns(columns),
};

const CODECS: { readonly [K in ReadName]?: ResultCodec<ReadResult<K>> } = {
  queryReadings: pointColumns,
  aggregateBuckets: bucketColumns,
  readingEventsAfter: json,
};

export function encodeResult<K extends ReadName>(name: K, value: ReadResult<K>): unknown {
  const codec = CODECS[name];
  return codec ? codec.encode(value) : value;
}

export function decodeResult<K extends ReadName>(name: K, encoded: unknown): ReadResult<K> {
  const codec = CODECS[name];
  return codec ? codec.decode(encoded as never) : (encoded as ReadResult<K>);
}
