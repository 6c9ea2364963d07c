import { rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { applyBatch } from '../../src/consumers/pipeline/apply-batch';
import { step } from '../../src/store/batch-steps';
import { databaseAtVersion } from '../support/sqlite-at-version';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store';
import type { StoredValue } from '../../src/domain/timeseries/rollup-deltas';
import type { MetricPoint } from '../../src/domain/reading';
import { newDataDir } from '../support/server';

/**
 * Raw readings stored by series id (migration 13): what the migration keeps, what tenants and
 * device deletes do to series, and the consumer's cache of ids across rolled-back batches.
 */

const BASE = Date.parse('2026-06-01T00:00:00Z');
const HOUR = 3_600_000;

interface Opened {
  readonly file: string;
  readonly dir: string;
}

function newFile(): Opened {
  const dir = newDataDir();
  return { dir, file: path.join(dir, 'telemetry.db') };
}

const everything = (deviceId: string, metric: string) => ({ deviceId, metric, first: 100_000, order: 'OLDEST_FIRST' as const });

let offset = 0;
const reading = (tenantId: string, deviceId: string, timestamp: number, metrics: Record<string, number>) => ({
  tenantId,
  deviceId,
  eventId: `e${offset}`,
  timestamp,
  metrics: Object.entries(metrics).map(([name, value]) => ({ name, value })),
  offset: offset++,
});
const ingest = (store: SqliteStore, readings: ReturnType<typeof reading>[]) =>
  applyBatch(store, { source: 'readings', partitions: [{ partition: 0, lastOffset: readings.at(-1)!.offset, readings, deadLetters: [] }] });

const seriesRows = (file: string) => {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT id, tenant_id AS tenant, device_id AS device, metric FROM series ORDER BY id').all() as {
      id: number;
      tenant: string;
      device: string;
      metric: string;
    }[];
  } finally {
    db.close();
  }
};

describe('raw readings stored before migration 13 (keyed by tenant, device and metric names)', () => {
  it('are all readable after it, with equal aggregates, each tenant its own series, and ingest continues on the same series', async () => {
    const { dir, file } = newFile();
    // A database at version 12: two tenants with the same device and metric names, and a series only one has.
    const old = databaseAtVersion(file, 12);
    const insert = old.prepare('INSERT INTO readings (tenant_id, device_id, metric, ts, value) VALUES (?, ?, ?, ?, ?)');
    const series = [
      ['t1', 'd1', 'temp'],
      ['t1', 'd1', 'hum'],
      ['t1', 'd2', 'temp'],
      ['t2', 'd1', 'temp'],
      ['t2', 'd2', 'temp'],
      ['t2', 'd3', 'temp'],
    ] as const;
    old.transaction(() => {
      series.forEach(([tenant, device, metric], s) => {
        // Uneven spacing across three hours; whole, fractional and negative values.
        for (let i = 0; i < 700; i++) insert.run(tenant, device, metric, BASE + i * 15_000 + s * 7, i % 3 === 0 ? i : (i * (s + 1)) / 7 - 40);
      });
    })();
    const before = (tenant: string, device: string, metric: string): MetricPoint[] =>
      (
        old.prepare('SELECT ts, value FROM readings WHERE tenant_id = ? AND device_id = ? AND metric = ? ORDER BY ts').all(tenant, device, metric) as {
          ts: number;
          value: number;
        }[]
      ).map((row) => ({ deviceId: device, metric, timestamp: row.ts, value: row.value }));
    const expected = series.map(([tenant, device, metric]) => before(tenant, device, metric));
    const hourlyBefore = (tenant: string, device: string) =>
      old
        .prepare(
          `SELECT CAST(ts - ? AS INTEGER) / ${HOUR} AS bucket, count(*) AS count, sum(value) AS sum, min(value) AS min, max(value) AS max
           FROM readings WHERE tenant_id = ? AND device_id = ? AND metric = 'temp' GROUP BY bucket ORDER BY bucket`,
        )
        .all(BASE, tenant, device);
    const hourly = { t1: ['d1', 'd2'].map((d) => hourlyBefore('t1', d)), t2: ['d1', 'd2', 'd3'].map((d) => hourlyBefore('t2', d)) };
    old.close();

    const store = new SqliteStore({ file });
    try {
      for (const [s, [tenant, device, metric]] of series.entries()) {
        expect((await store.queryReadings(tenant, everything(device, metric))).items).toEqual(expected[s]);
      }
      const boundaries = [BASE, BASE + HOUR, BASE + 2 * HOUR, BASE + 3 * HOUR];
      for (const [tenant, devices] of [
        ['t1', ['d1', 'd2']],
        ['t2', ['d1', 'd2', 'd3']],
      ] as const) {
        const [buckets] = await store.aggregateBuckets(tenant, [{ deviceIds: devices, metric: 'temp', boundaries, source: 'raw' }]);
        const after = devices.map((device) =>
          buckets!
            .get(device)!
            .map(
              (bucket, index) =>
                bucket && { bucket: index, count: bucket.partial.count, sum: bucket.partial.sum, min: bucket.partial.min, max: bucket.partial.max },
            )
            .filter((bucket) => bucket !== undefined),
        );
        const want = hourly[tenant].map((rows) =>
          rows.map((row) => expect.objectContaining({ ...(row as object), sum: expect.closeTo((row as { sum: number }).sum, 6) })),
        );
        expect(after).toEqual(want);
      }
      // Each (tenant, device, metric) is its own series, with its own id.
      const rows = seriesRows(file);
      expect(rows.map((r) => [r.tenant, r.device, r.metric]).sort()).toEqual(series.map((s) => [...s]).sort());
      expect(new Set(rows.map((r) => r.id)).size).toBe(series.length);

      // Ingest after the migration: a new value joins the series, a repeated (device, metric, ts) is still stored once.
      const stored = expected[0]![5]!;
      await ingest(store, [reading('t1', 'd1', BASE + 4 * HOUR, { temp: 1.5 }), reading('t1', 'd1', stored.timestamp, { temp: 999 })]);
      const d1 = (await store.queryReadings('t1', everything('d1', 'temp'))).items;
      expect(d1).toHaveLength(expected[0]!.length + 1);
      expect(d1.find((p) => p.timestamp === stored.timestamp)).toEqual(stored);
      expect(d1.at(-1)).toEqual({ deviceId: 'd1', metric: 'temp', timestamp: BASE + 4 * HOUR, value: 1.5 });
      expect(seriesRows(file)).toHaveLength(series.length);
      // The other tenant's series of the same names did not move.
      expect((await store.queryReadings('t2', everything('d1', 'temp'))).items).toEqual(expected[3]);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('rollups stored before migration 15 (keyed by names)', () => {
  it('read back exactly after it, a series with rollups only gets its id, and new values merge into the migrated buckets', async () => {
    const { dir, file } = newFile();
    const old = databaseAtVersion(file, 14);
    // (t1, d1) has raw values too; (t1, gone)'s raw values were removed by retention; t2 has the same names as t1.
    old.prepare("INSERT INTO series (tenant_id, device_id, metric) VALUES ('t1', 'd1', 'temp')").run();
    const insert = old.prepare(
      `INSERT INTO rollups (tenant_id, device_id, metric, resolution_ms, bucket_start, count, sum, sum_sq, min, max, first_ts, first_value, last_ts, last_value, min_ts, max_ts)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const partial = (start: number, k: number, minTs: number | null) => ({
      count: k,
      sum: k * 1.5,
      sumSq: k * 2.25,
      min: -k,
      max: k + 0.25,
      minTs,
      maxTs: minTs === null ? null : start + 2,
      firstTs: start,
      firstValue: k / 3,
      lastTs: start + 59_000,
      lastValue: k / 7,
    });
    const stored: [string, string, number, number, ReturnType<typeof partial>][] = [];
    for (const [tenant, device, k] of [
      ['t1', 'd1', 1],
      ['t1', 'gone', 2],
      ['t2', 'd1', 3],
    ] as const) {
      for (const [resolution, start, minTs] of [
        [60_000, BASE, BASE + 1],
        [60_000, BASE + 60_000, null],
        [HOUR, BASE, BASE + 1],
      ] as const) {
        const p = partial(start, k + resolution / 60_000, minTs);
        stored.push([tenant, device, resolution, start, p]);
        insert.run(
          tenant,
          device,
          'temp',
          resolution,
          start,
          p.count,
          p.sum,
          p.sumSq,
          p.min,
          p.max,
          p.firstTs,
          p.firstValue,
          p.lastTs,
          p.lastValue,
          p.minTs,
          p.maxTs,
        );
      }
    }
    old.close();

    const store = new SqliteStore({ file });
    try {
      for (const [tenant, device, resolution, start, p] of stored) {
        const [buckets] = await store.aggregateBuckets(tenant, [
          { deviceIds: [device], metric: 'temp', boundaries: [start, start + resolution], source: resolution },
        ]);
        expect(buckets!.get(device)![0]!.partial).toEqual(p);
      }
      expect(seriesRows(file).map((r) => `${r.tenant}/${r.device}`)).toEqual(['t1/d1', 't1/gone', 't2/d1']);
      // A new value of (t1, d1) in the first minute merges into its migrated bucket, not t2's.
      await store.ensureTenant('t1', 't1');
      await ingest(store, [reading('t1', 'd1', BASE + 30_000, { temp: 100 })]);
      const [t1] = await store.aggregateBuckets('t1', [{ deviceIds: ['d1'], metric: 'temp', boundaries: [BASE, BASE + 60_000], source: 60_000 }]);
      expect(t1!.get('d1')![0]!.partial).toMatchObject({ count: 3, max: 100 });
      const [t2] = await store.aggregateBuckets('t2', [{ deviceIds: ['d1'], metric: 'temp', boundaries: [BASE, BASE + 60_000], source: 60_000 }]);
      expect(t2!.get('d1')![0]!.partial.count).toBe(4);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('series ids', () => {
  let opened: Opened;
  let store: SqliteStore;

  beforeEach(async () => {
    opened = newFile();
    store = new SqliteStore({ file: opened.file });
    for (const tenant of ['t1', 't2']) {
      await store.ensureTenant(tenant, tenant);
      await store.registerDevice(tenant, { id: 'a', name: 'a', tags: [] });
    }
  });

  afterEach(async () => {
    await store.close();
    rmSync(opened.dir, { recursive: true, force: true });
  });

  it('are one per tenant: two tenants with the same device and metric names never see each other', async () => {
    await ingest(store, [reading('t1', 'a', BASE, { temp: 1 }), reading('t2', 'a', BASE, { temp: 2 }), reading('t2', 'a', BASE + 1000, { temp: 3 })]);
    const rows = seriesRows(opened.file);
    expect(rows.map((r) => r.tenant)).toEqual(['t1', 't2']);
    expect(rows[0]!.id).not.toBe(rows[1]!.id);
    expect((await store.queryReadings('t1', everything('a', 'temp'))).items.map((p) => p.value)).toEqual([1]);
    expect((await store.queryReadings('t2', everything('a', 'temp'))).items.map((p) => p.value)).toEqual([2, 3]);
  });

  it('created by a batch that rolled back are not reused from the cache when SQLite hands the number to another series', async () => {
    const value = (deviceId: string, metric: string, timestamp: number, v: number): StoredValue => ({ tenantId: 't1', deviceId, metric, timestamp, value: v });
    await expect(
      store.transact(function* (tx) {
        yield* step(tx.insertReadings([value('a', 'first', BASE, 1)]));
        throw new Error('the batch failed after creating a series');
      }),
    ).rejects.toThrow('the batch failed');
    // The rolled-back id is free again: this series gets it.
    await store.transact(function* (tx) {
      yield* step(tx.insertReadings([value('a', 'second', BASE + 1000, 2)]));
    });
    await store.transact(function* (tx) {
      yield* step(tx.insertReadings([value('a', 'first', BASE + 2000, 3)]));
    });
    expect((await store.queryReadings('t1', everything('a', 'first'))).items.map((p) => p.value)).toEqual([3]);
    expect((await store.queryReadings('t1', everything('a', 'second'))).items.map((p) => p.value)).toEqual([2]);
  });

  describe('of a deleted device (deleted through another connection than the consumer, which caches the ids)', () => {
    let api: SqliteStore;

    beforeEach(async () => {
      api = new SqliteStore({ file: opened.file });
      // The consumer's cache knows the series before the delete.
      await ingest(store, [reading('t1', 'a', BASE, { temp: 1 }), reading('t2', 'a', BASE, { temp: 10 })]);
    });

    afterEach(() => api.close());

    it('stay when its data is deleted: after it is registered again, ingest stores only the new values, under the same id', async () => {
      const ids = seriesRows(opened.file);
      expect((await api.deleteDevice('t1', 'a', false, 5000))?.removingData).toBe(true);
      while ((await api.removeDeletedDeviceData(100)).more);
      expect((await api.queryReadings('t1', everything('a', 'temp'))).items).toEqual([]);
      await api.registerDevice('t1', { id: 'a', name: 'again', tags: [] });
      await ingest(store, [reading('t1', 'a', BASE + 1000, { temp: 2 })]);
      expect((await api.queryReadings('t1', everything('a', 'temp'))).items.map((p) => p.value)).toEqual([2]);
      expect(seriesRows(opened.file)).toEqual(ids);
      // The other tenant's device of the same id kept its data.
      expect((await api.queryReadings('t2', everything('a', 'temp'))).items.map((p) => p.value)).toEqual([10]);
    });

    it('stay when its data is kept: after it is registered again, old and new values are one series', async () => {
      expect((await api.deleteDevice('t1', 'a', true, 5000))?.removingData).toBe(false);
      await api.registerDevice('t1', { id: 'a', name: 'again', tags: [] });
      await ingest(store, [reading('t1', 'a', BASE + 1000, { temp: 2 })]);
      expect((await api.queryReadings('t1', everything('a', 'temp'))).items.map((p) => p.value)).toEqual([1, 2]);
      expect(seriesRows(opened.file)).toHaveLength(2);
    });
  });
});
