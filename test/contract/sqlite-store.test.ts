import { applyBatch, applyBatchSteps } from '../../src/consumers/pipeline/apply-batch';
import { rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store';
import { SqliteReaderPool } from '../../src/store/sqlite/reader-pool';
import { MIGRATIONS } from '../../src/store/sqlite/migrations';
import { databaseAtVersion } from '../support/sqlite-at-version';
import { newDataDir } from '../support/server';
import { describeDetectionContract } from './detection-contract';
import { describeRollupContract } from './rollup-contract';
import { describeStoreContract, type StoreHarness } from './store-contract';
import { runSeries } from '../../src/queries/series';

async function sqliteHarness(): Promise<StoreHarness> {
  return harnessOf((file) => new SqliteStore({ file }));
}

/** The API's store: the reads that serve queries run on two reader threads. */
async function pooledHarness(): Promise<StoreHarness> {
  return harnessOf((file) => new SqliteStore({ file, readers: (migrated) => new SqliteReaderPool({ file: migrated, size: 2, maxQueued: 100 }) }));
}

function harnessOf(open: (file: string) => SqliteStore): StoreHarness {
  const dir = newDataDir();
  const store = open(path.join(dir, 'telemetry.db'));
  return {
    store,
    close: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describeStoreContract('embedded SQLite', sqliteHarness);
describeRollupContract('embedded SQLite', sqliteHarness);
describeStoreContract('embedded SQLite with reader threads', pooledHarness);
describeRollupContract('embedded SQLite with reader threads', pooledHarness);
describeDetectionContract('embedded SQLite', async () => {
  const dir = newDataDir();
  const file = path.join(dir, 'telemetry.db');
  let store = new SqliteStore({ file });
  return {
    get store() {
      return store;
    },
    // A restarted consumer: a new connection, nothing kept in memory.
    async reopen() {
      await store.close();
      store = new SqliteStore({ file });
      return store;
    },
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('SQLite migrations', () => {
  it('apply once, record their version, and are a no-op on reopen', async () => {
    const dir = newDataDir();
    const file = path.join(dir, 'telemetry.db');
    await new SqliteStore({ file }).close();
    await new SqliteStore({ file }).close();
    const db = new Database(file);
    const versions = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[];
    expect(versions.map((v) => v.version)).toEqual(MIGRATIONS.map((m) => m.version));
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuse a database written by a newer version', () => {
    const dir = newDataDir();
    const file = path.join(dir, 'telemetry.db');
    const db = new Database(file);
    db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    db.prepare('INSERT INTO schema_migrations VALUES (999, ?, 0)').run('future');
    db.close();
    expect(() => new SqliteStore({ file })).toThrow(/newer than this build/);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('open anomalies read by a batch', () => {
  it('are read only for series whose previous batch left one open (or that have no state yet)', async () => {
    const dir = newDataDir();
    const store = new SqliteStore({ file: path.join(dir, 'telemetry.db') });
    await store.ensureTenant('t', 'x');
    await store.putAnomalyRule({
      id: 'r',
      tenantId: 't',
      scope: { kind: 'tenant' },
      metric: 'temp',
      zScore: null,
      min: null,
      max: 100,
      maxRatePerSecond: null,
      severity: 'WARNING',
      clearAfterMs: 3_600_000,
      updatedAt: 0,
    });
    const reads: number[] = [];
    let offset = 0;
    const apply = async (value: number) => {
      const reading = { tenantId: 't', deviceId: 'd', eventId: `e${offset}`, timestamp: 1000 * (offset + 1), metrics: [{ name: 'temp', value }], offset };
      const batch = { source: 'readings', partitions: [{ partition: 0, lastOffset: offset++, readings: [reading], deadLetters: [] }] };
      let read = 0;
      const applied = await store.transact((tx) =>
        applyBatchSteps({ ...tx, openAnomalies: (series) => ((read += series.length), tx.openAnomalies(series)) }, batch, 0),
      );
      reads.push(read);
      return applied.anomalies;
    };
    await apply(50); // no state yet: read
    await apply(60); // none left open: not read
    const [raised] = await apply(150); // not read; raises one
    await apply(60); // one open: read
    await store.transitionAnomaly('t', raised!.id, { action: 'resolve', by: 'k', at: 1 });
    await apply(60); // still read (a key closed it, the state cannot know): finds none
    await apply(60); // not read
    expect(reads).toEqual([1, 0, 0, 1, 1, 0]);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('anomalies stored before migration 7 (the alarm lifecycle)', () => {
  it('get their seq as id and one occurrence, and a new trigger of their series and kind updates them', async () => {
    const dir = newDataDir();
    const file = path.join(dir, 'telemetry.db');
    // A database at version 6, holding an open THRESHOLD anomaly.
    const old = databaseAtVersion(file, 6);
    old
      .prepare(
        `INSERT INTO anomalies (seq, tenant_id, device_id, metric, kind, severity, score, value, expected_min, expected_max, ts, detected_at)
         VALUES (41, 't', 'd', 'temp', 'THRESHOLD', 'WARNING', 5, 105, NULL, 100, 1000, 1001)`,
      )
      .run();
    old.close();

    const store = new SqliteStore({ file });
    await store.ensureTenant('t', 'x');
    const [migrated] = (await store.listAnomalies('t', {}, { first: 10 })).items;
    expect(migrated).toMatchObject({ seq: 41, id: 41, occurrences: 1, value: 105, lastValue: 105, timestamp: 1000, lastTimestamp: 1000, status: 'OPEN' });
    await store.putAnomalyRule({
      id: 'r',
      tenantId: 't',
      scope: { kind: 'tenant' },
      metric: 'temp',
      zScore: null,
      min: null,
      max: 100,
      maxRatePerSecond: null,
      severity: 'WARNING',
      clearAfterMs: null,
      updatedAt: 0,
    });
    const reading = { tenantId: 't', deviceId: 'd', eventId: 'e', timestamp: 2000, metrics: [{ name: 'temp', value: 110 }], offset: 0 };
    const { anomalies } = await applyBatch(store, { source: 'readings', partitions: [{ partition: 0, lastOffset: 0, readings: [reading], deadLetters: [] }] });
    expect(anomalies).toEqual([expect.objectContaining({ id: 41, seq: 42, occurrences: 2, value: 105, lastValue: 110, lastTimestamp: 2000, score: 10 })]);
    expect((await store.listAnomalies('t', {}, { first: 10 })).items).toEqual(anomalies);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('rollups written before migration 6 (no extreme times)', () => {
  it('keep their unknown times through merges, and make a series over them read raw readings', async () => {
    const dir = newDataDir();
    const file = path.join(dir, 'telemetry.db');
    const base = Date.parse('2026-05-01T00:00:00Z');
    const reading = (second: number, value: number) => ({
      tenantId: 't',
      deviceId: 'd',
      eventId: `e${second}`,
      timestamp: base + second * 1000,
      metrics: [{ name: 'm', value }],
      offset: second,
    });
    const store = new SqliteStore({ file });
    await applyBatch(store, {
      source: 'readings',
      partitions: [{ partition: 0, lastOffset: 7199, readings: Array.from({ length: 7200 }, (_, s) => reading(s, s % 60)), deadLetters: [] }],
    });
    // As a database upgraded from before migration 6 would hold them.
    const db = new Database(file);
    db.exec('UPDATE rollups SET min_ts = NULL, max_ts = NULL');
    db.close();
    // A late reading: a new strict minimum is known exactly, a tie on the maximum stays unknown.
    await applyBatch(store, {
      source: 'readings',
      partitions: [
        {
          partition: 0,
          lastOffset: 7200,
          readings: [{ ...reading(7200, 0), timestamp: base + 30_500, eventId: 'late', metrics: [{ name: 'm', value: -1 }] }],
          deadLetters: [],
        },
      ],
    });
    const [minute] = (await store.aggregateBuckets('t', [{ deviceIds: ['d'], metric: 'm', boundaries: [base, base + 60_000], source: 60_000 }]))[0]!.get('d')!;
    expect(minute!.partial).toMatchObject({ min: -1, minTs: base + 30_500, max: 59, maxTs: null });
    const series = await runSeries(store, 't', { deviceId: 'd', metric: 'm', from: base, to: base + 7_200_000, points: 100, maxRows: 100_000 });
    expect(series).toMatchObject({ source: 'RAW', totalPoints: 7201 });
    expect(series.points).toHaveLength(100);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
