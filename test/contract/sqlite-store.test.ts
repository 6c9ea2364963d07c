import { rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store';
import { MIGRATIONS } from '../../src/store/sqlite/migrations';
import { newDataDir } from '../support/server';
import { describeDetectionContract } from './detection-contract';
import { describeRollupContract } from './rollup-contract';
import { describeStoreContract, type StoreHarness } from './store-contract';

async function sqliteHarness(): Promise<StoreHarness> {
  const dir = newDataDir();
  const store = new SqliteStore({ file: path.join(dir, 'telemetry.db') });
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
