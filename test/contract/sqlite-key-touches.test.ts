import { rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store';
import { newDataDir } from '../support/server';

/**
 * A key's last-used time, written from the API's connection, never waits for the write lock:
 * better-sqlite3 waits synchronously, so a touch behind another connection's transaction held
 * the API thread (and every request on it) until the lock came free or busy_timeout ran out.
 */
describe('SQLite: touching API keys while another connection holds the write lock', () => {
  let dir: string;
  let store: SqliteStore;
  let other: Database.Database;
  beforeEach(async () => {
    dir = newDataDir();
    const file = path.join(dir, 'telemetry.db');
    store = new SqliteStore({ file });
    await store.ensureTenant('t', 'T');
    for (const id of ['k1', 'k2']) await store.createApiKey({ id, tenantId: 't', role: 'admin', label: id, secretHash: id.repeat(32) });
    other = new Database(file);
  });
  afterEach(async () => {
    other.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const lastUsed = async () => Object.fromEntries((await store.listApiKeys('t', true)).map((key) => [key.id, key.lastUsedAt]));

  it('keeps the touch instead of waiting, and writes it with the next one once the lock is free', async () => {
    other.exec('BEGIN IMMEDIATE');
    // Waiting for the lock here would block this very thread (the other connection's holder) until
    // busy_timeout, then fail with SQLITE_BUSY: it resolves instead.
    await expect(store.touchApiKey('k1', 5000)).resolves.toBeUndefined();
    await expect(store.touchApiKey('k1', 6000)).resolves.toBeUndefined();
    other.exec('COMMIT');
    expect(await lastUsed()).toEqual({ k1: null, k2: null });
    await store.touchApiKey('k2', 7000);
    expect(await lastUsed()).toEqual({ k1: 6000, k2: 7000 });
    // An older time never overwrites a newer one.
    await store.touchApiKey('k1', 1000);
    expect((await lastUsed())['k1']).toBe(6000);
  });

  it('leaves other writes of the connection waiting as before (busy_timeout restored)', async () => {
    other.exec('BEGIN IMMEDIATE');
    await store.touchApiKey('k1', 5000);
    other.exec('COMMIT');
    expect(store['db'].pragma('busy_timeout', { simple: true })).toBe(5000);
  });
});
