import { rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store';
import { newDataDir } from '../support/server';

/**
 * The API's writes never hold its thread while another connection (the consumer's batch, a
 * removal step) has the write lock: better-sqlite3 waits synchronously, so a write behind another
 * transaction held the API thread, and every request on it, until the lock came free or
 * busy_timeout ran out. A key's last-used time does not even wait; other writes wait
 * asynchronously.
 */
describe('SQLite: API writes while another connection holds the write lock', () => {
  let dir: string;
  let store: SqliteStore;
  let other: Database.Database;
  beforeEach(async () => {
    dir = newDataDir();
    const file = path.join(dir, 'telemetry.db');
    store = new SqliteStore({ file });
    await store.ensureTenant('t', 'T');
    await store.registerDevice('t', { id: 'd', name: 'd', tags: [] });
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

  it('lets the event loop run while a write waits for the lock, then writes it once, as asked', async () => {
    other.exec('BEGIN IMMEDIATE');
    let settled = false;
    const renamed = store.updateDevice('t', 'd', { name: 'renamed' }).finally(() => (settled = true));
    const registered = store.registerDevice('t', { id: 'd2', name: 'd2', tags: [] });
    // Had the writes waited synchronously, this thread would be stuck in them (busy_timeout, then
    // SQLITE_BUSY) and these timers would run only after they failed.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(settled).toBe(false);
    other.exec('COMMIT');
    expect(await renamed).toMatchObject({ id: 'd', name: 'renamed' });
    expect(await registered).toMatchObject({ id: 'd2' });
    expect((await store.getDevices('t', ['d', 'd2'])).map((device) => device.name).sort()).toEqual(['d2', 'renamed']);
  });

  it('fails as a wait would have once the busy timeout has passed, retryable, and writes nothing', async () => {
    const impatient = new SqliteStore({ file: path.join(dir, 'telemetry.db'), busyTimeoutMs: 50 });
    try {
      other.exec('BEGIN IMMEDIATE');
      await expect(impatient.updateDevice('t', 'd', { name: 'never' })).rejects.toMatchObject({
        retryable: true,
        message: expect.stringMatching(/SQLITE_BUSY/),
      });
      other.exec('COMMIT');
      expect((await store.getDevices('t', ['d']))[0]?.name).toBe('d');
    } finally {
      await impatient.close();
    }
  });
});
