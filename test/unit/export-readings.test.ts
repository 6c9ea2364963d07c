import { exportPages } from '../../src/queries/export-readings';
import type { MetricPoint } from '../../src/domain/reading';
import type { ReadingQuery } from '../../src/store/ports/reading-store';
import { formatRow, parsePosition, parseRow } from '../../src/domain/export-format';

/** A store of `count` values per (device, metric), recording every query it answers. */
function fakeStore(count: number) {
  const queries: ReadingQuery[] = [];
  return {
    queries,
    async queryReadings(_tenantId: string, query: ReadingQuery) {
      queries.push(query);
      const all = Array.from({ length: count }, (_, i): MetricPoint => ({ deviceId: query.deviceId, metric: query.metric, timestamp: i * 10, value: i }));
      const beyond = all.filter((point) => query.afterTimestamp === undefined || point.timestamp > query.afterTimestamp);
      return { items: beyond.slice(0, query.first), hasMore: beyond.length > query.first };
    },
    async latestReadings(_tenantId: string, deviceIds: readonly string[]) {
      return new Map(deviceIds.map((id) => [id, ['b', 'a'].map((metric) => ({ deviceId: id, metric, timestamp: 0, value: 0 }))]));
    },
  };
}

describe('export pages', () => {
  it('reads one page per step, only when the consumer asks for it: memory is one page for any range', async () => {
    const store = fakeStore(25);
    const pages = exportPages(store, { tenantId: 't', deviceIds: ['d1', 'd2'], pageSize: 10 });
    expect(store.queries).toHaveLength(0);
    const first = await pages.next();
    expect(first.value).toHaveLength(10);
    expect(store.queries).toHaveLength(1);
    let streamed = 10;
    let largest = 10;
    for await (const page of pages) {
      streamed += page.length;
      largest = Math.max(largest, page.length);
    }
    // 2 devices x 2 metrics (every metric each has, by name) x 25 values, 3 queries each.
    expect(streamed).toBe(100);
    expect(largest).toBe(10);
    expect(store.queries.every((query) => query.first === 10 && query.order === 'OLDEST_FIRST')).toBe(true);
    expect(store.queries.map((query) => `${query.deviceId}/${query.metric}/${query.afterTimestamp ?? '-'}`)).toEqual(
      ['d1/a', 'd1/b', 'd2/a', 'd2/b'].flatMap((series) => [`${series}/-`, `${series}/90`, `${series}/190`]),
    );
  });

  it('resumes right after a position: earlier devices and metrics are skipped', async () => {
    const store = fakeStore(5);
    const rows: MetricPoint[] = [];
    for await (const page of exportPages(store, {
      tenantId: 't',
      deviceIds: ['d1', 'd2'],
      metrics: ['a', 'b'],
      after: { deviceId: 'd1', metric: 'b', timestamp: 20 },
    }))
      rows.push(...page);
    expect(rows.map((row) => `${row.deviceId}/${row.metric}/${row.timestamp}`)).toEqual([
      'd1/b/30',
      'd1/b/40',
      ...['a', 'b'].flatMap((metric) => [0, 10, 20, 30, 40].map((ts) => `d2/${metric}/${ts}`)),
    ]);
  });
});

describe('export format', () => {
  it('reads back exactly what it writes, in both formats', () => {
    const point: MetricPoint = { deviceId: 'dev-1:a', metric: 'temp.c', timestamp: 1_700_000_000_123, value: 0.1 + 0.2 };
    for (const format of ['csv', 'ndjson'] as const) expect(parseRow(format, formatRow(format, point).trimEnd())).toEqual({ ok: true, row: point });
    expect(parsePosition('dev-1:a,temp.c,2023-11-14T22:13:20.123Z')).toEqual({ deviceId: 'dev-1:a', metric: 'temp.c', timestamp: 1_700_000_000_123 });
    expect(parsePosition('dev,temp')).toBeUndefined();
  });
});
