import type Database from 'better-sqlite3';
import { TelemetryError } from '../../../domain/errors';
import type { SeriesColumns, SeriesQuery } from '../../ports/reading-store';

/** Reads one series into typed arrays, growing them by doubling; refuses more than maxRows. */
export function readSeriesColumns(db: Database.Database, tenantId: string, query: SeriesQuery): SeriesColumns {
  const rows = db
    .prepare(
      'SELECT ts, value FROM samples WHERE series_id = (SELECT id FROM series WHERE tenant_id = ? AND device_id = ? AND metric = ?) AND ts >= ? AND ts < ? ORDER BY ts',
    )
    .raw()
    .iterate(tenantId, query.deviceId, query.metric, query.from, query.to) as IterableIterator<[number, number]>;
  let timestamps = new Float64Array(1024);
  let values = new Float64Array(1024);
  let length = 0;
  for (const [ts, value] of rows) {
    if (length === query.maxRows) {
      rows.return?.();
      throw new TelemetryError('BAD_USER_INPUT', `the range holds more than ${query.maxRows} readings; ask for a shorter range`, {
        details: { limit: query.maxRows },
      });
    }
    if (length === timestamps.length) {
      const grownTs = new Float64Array(length * 2);
      grownTs.set(timestamps);
      timestamps = grownTs;
      const grownValues = new Float64Array(length * 2);
      grownValues.set(values);
      values = grownValues;
    }
    timestamps[length] = ts;
    values[length] = value;
    length++;
  }
  return { timestamps: timestamps.subarray(0, length), values: values.subarray(0, length) };
}
