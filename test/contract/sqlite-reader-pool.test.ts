import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { BackendError, TelemetryError } from '../../src/domain/errors';
import type { AggregateQuery, ReadingQuery } from '../../src/store/ports/reading-store';
import { SqliteReaderPool } from '../../src/store/sqlite/reader-pool';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store';
import { newDataDir } from '../support/server';
import { seriesIdOf } from '../support/sqlite-samples';

/**
 * The embedded store's reader threads (SqliteReaderPool): reads that serve queries leave the
 * calling thread; a dead reader fails its read retryably and is replaced; the queue is bounded;
 * every read sees whole transactions only. The contract suites (sqlite-store.test.ts) run every
 * port against a pooled store too, tenant scoping included.
 */

const BASE = Date.parse('2026-01-01T00:00:00Z');
const HEAVY_ROWS = 300_000;

interface Opened {
  readonly store: SqliteStore;
  readonly pool: SqliteReaderPool;
  readonly file: string;
  close(): Promise<void>;
}

function openPooled(size: number, maxQueued: number, niceIncrement = 0): Opened {
  const dir = newDataDir();
  const file = path.join(dir, 'telemetry.db');
  let pool: SqliteReaderPool | undefined;
  const store = new SqliteStore({ file, readers: (migrated) => (pool = new SqliteReaderPool({ file: migrated, size, maxQueued, niceIncrement })) });
  return {
    store,
    pool: pool!,
    file,
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Writes readings of (t, d, m) straight into the table, one per second from BASE, in one transaction. */
function seed(file: string, rows: number, tenantId = 't', from = 0): void {
  const db = new Database(file);
  db.prepare(
    `WITH RECURSIVE s(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM s WHERE i < ?)
     INSERT INTO samples (series_id, ts, value) SELECT ?, ? + i * 1000, i % 97 FROM s`,
  ).run(from, from + rows - 1, seriesIdOf(db, tenantId, 'd', 'm'), BASE);
  db.close();
}

/** The nice value of the process's main thread, whose task id is the process id. */
function niceOfMainThread(): number {
  return niceOf(readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8'));
}

/** Field 19 of a /proc/<pid>/task/<tid>/stat line: the fields after the command name in parentheses (which may hold spaces) start at field 3. */
function niceOf(stat: string): number {
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

/** The nice value of each thread of this process (Linux: field 19 of /proc/self/task/<tid>/stat). */
function niceOfThreads(): number[] {
  return readdirSync('/proc/self/task').flatMap((tid) => {
    try {
      return [niceOf(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8'))];
    } catch {
      return []; // a thread that ended while listed
    }
  });
}

const onLinux = process.platform === 'linux' ? it : it.skip;

const everything: ReadingQuery = { deviceId: 'd', metric: 'm', first: 100_000, order: 'OLDEST_FIRST' };
const rawScan: AggregateQuery = { deviceIds: ['d'], metric: 'm', boundaries: [BASE, BASE + HEAVY_ROWS * 1000], source: 'raw', withValues: true };

describe('SQLite reader pool', () => {
  it('runs a heavy read on a reader thread: a small read issued after it is answered first', async () => {
    const opened = openPooled(2, 10);
    try {
      await opened.store.ensureTenant('t', 'T');
      await opened.store.registerDevice('t', { id: 'd', name: 'D', tags: [] });
      seed(opened.file, HEAVY_ROWS);
      const answered: string[] = [];
      const heavy = opened.store.aggregateBuckets('t', [rawScan]).then(([buckets]) => answered.push(`scan of ${buckets!.get('d')![0]!.partial.count}`));
      const small = opened.store.listDevices('t', {}, { first: 10 }).then((page) => answered.push(`${page.items.length} device`));
      await Promise.all([heavy, small]);
      // On the calling thread the scan, issued first, would hold it until done.
      expect(answered).toEqual(['1 device', `scan of ${HEAVY_ROWS}`]);
    } finally {
      await opened.close();
    }
  });

  onLinux('runs its readers below the CPU priority of the thread that made it, and no other thread', async () => {
    // The main thread's task id is the process id (it is not always listed first: thread ids wrap around).
    const own = niceOfMainThread();
    const before = niceOfThreads();
    const opened = openPooled(2, 10, 7);
    try {
      await opened.store.ensureTenant('t', 'T');
      seed(opened.file, 10);
      // Two reads at once: both readers have started (and lowered themselves) to answer them.
      const reads = await Promise.all([opened.store.queryReadings('t', everything), opened.store.queryReadings('t', everything)]);
      expect(reads.map((read) => read.items.length)).toEqual([10, 10]);
      const during = niceOfThreads();
      expect(during.filter((nice) => nice === own + 7).length - before.filter((nice) => nice === own + 7).length).toBe(2);
      expect(niceOfMainThread()).toBe(own);
    } finally {
      await opened.close();
    }
    expect(niceOfThreads().filter((nice) => nice === own + 7)).toEqual(before.filter((nice) => nice === own + 7));
  });

  it('fails the read of a reader that dies with a retryable BackendError, and replaces the reader', async () => {
    const opened = openPooled(1, 10);
    try {
      await opened.store.ensureTenant('t', 'T');
      seed(opened.file, 10);
      opened.pool.crashReader(0);
      const failed = await opened.store.queryReadings('t', everything).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failed).toBeInstanceOf(BackendError);
      expect(failed).toMatchObject({ retryable: true, message: expect.stringContaining('reader stopped') });
      // The replacement answers, as do reads queued behind the failed one.
      const [again, queued] = await Promise.all([opened.store.queryReadings('t', everything), opened.store.queryReadings('t', everything)]);
      expect(again.items).toHaveLength(10);
      expect(queued.items).toHaveLength(10);
    } finally {
      await opened.close();
    }
  });

  it('refuses reads past its queue with a retryable UNAVAILABLE that says when to retry, and takes reads again once it drains', async () => {
    const opened = openPooled(1, 2);
    try {
      await opened.store.ensureTenant('t', 'T');
      seed(opened.file, 1000);
      // Issued in one turn of the event loop: one runs, two wait, the fourth finds the queue full.
      const reads = Array.from({ length: 4 }, () => opened.store.queryReadings('t', everything));
      const settled = await Promise.allSettled(reads);
      expect(settled.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
      const refusal = (settled[3] as PromiseRejectedResult).reason as unknown;
      expect(refusal).toBeInstanceOf(TelemetryError);
      expect(refusal).toMatchObject({ code: 'UNAVAILABLE', retryable: true, details: { retryAfterSeconds: 1 } });
      expect((await opened.store.queryReadings('t', everything)).items).toHaveLength(1000);
    } finally {
      await opened.close();
    }
  });

  it('sees a batch being written either not at all or whole, and reads while it is written', async () => {
    const opened = openPooled(2, 10);
    try {
      await opened.store.ensureTenant('t', 'T');
      seed(opened.file, 1000);
      // The consumer's connection, in the middle of a large batch.
      const writer = new Database(opened.file);
      writer.exec('BEGIN IMMEDIATE');
      const series = seriesIdOf(writer, 't', 'd', 'm');
      const insert = writer.prepare('INSERT INTO samples (series_id, ts, value) VALUES (?, ?, 1)');
      for (let i = 1000; i < 3000; i++) insert.run(series, BASE + i * 1000);
      expect((await opened.store.queryReadings('t', everything)).items).toHaveLength(1000);
      for (let i = 3000; i < 5000; i++) insert.run(series, BASE + i * 1000);
      expect((await opened.store.aggregateBuckets('t', [rawScan]))[0]!.get('d')![0]!.partial.count).toBe(1000);
      writer.exec('COMMIT');
      writer.close();
      expect((await opened.store.queryReadings('t', everything)).items).toHaveLength(5000);
    } finally {
      await opened.close();
    }
  });

  it("sees the API's own writes in the next read, and never another tenant's rows", async () => {
    const opened = openPooled(2, 10);
    try {
      await opened.store.ensureTenant('t', 'T');
      await opened.store.ensureTenant('u', 'U');
      seed(opened.file, 10, 't');
      seed(opened.file, 20, 'u', 100);
      await opened.store.registerDevice('t', { id: 'new', name: 'New', tags: [] });
      expect((await opened.store.listDevices('t', {}, { first: 10 })).items.map((device) => device.id)).toEqual(['new']);
      expect((await opened.store.listDevices('u', {}, { first: 10 })).items).toEqual([]);
      expect((await opened.store.queryReadings('t', everything)).items).toHaveLength(10);
      expect((await opened.store.queryReadings('u', everything)).items).toHaveLength(20);
    } finally {
      await opened.close();
    }
  });

  it("serves tenants in turn: another tenant's read waits for one of a busy tenant's reads, not for all of them", async () => {
    const opened = openPooled(1, 10);
    try {
      await opened.store.ensureTenant('t', 'T');
      await opened.store.ensureTenant('u', 'U');
      seed(opened.file, 100, 't');
      seed(opened.file, 100, 'u');
      const answered: string[] = [];
      // Issued in one turn of the event loop: t's first read runs, three more of t's wait, then u's.
      const reads = [
        ...[1, 2, 3, 4].map((n) => opened.store.queryReadings('t', everything).then(() => answered.push(`t${n}`))),
        opened.store.queryReadings('u', everything).then(() => answered.push('u1')),
      ];
      await Promise.all(reads);
      expect(answered).toEqual(['t1', 'u1', 't2', 't3', 't4']);
    } finally {
      await opened.close();
    }
  });

  it("keeps a quarter of the waiting places for other tenants: a tenant's flood is refused while another tenant's read is queued and answered", async () => {
    const opened = openPooled(1, 4);
    try {
      await opened.store.ensureTenant('t', 'T');
      await opened.store.ensureTenant('u', 'U');
      seed(opened.file, 100, 't');
      seed(opened.file, 100, 'u');
      // One runs, three wait (three quarters of four places), the fifth is t's flood: refused.
      const flood = Array.from({ length: 5 }, () => opened.store.queryReadings('t', everything));
      const other = opened.store.queryReadings('u', everything);
      const settled = await Promise.allSettled([...flood, other]);
      expect(settled.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
      expect((settled[4] as PromiseRejectedResult).reason).toMatchObject({
        code: 'UNAVAILABLE',
        retryable: true,
        message: expect.stringContaining('this tenant already has 3 queries waiting'),
      });
      expect((settled[5] as PromiseFulfilledResult<{ items: unknown[] }>).value.items).toHaveLength(100);
    } finally {
      await opened.close();
    }
  });

  it('closes with the store: reads in flight finish, later ones fail retryably', async () => {
    const opened = openPooled(1, 10);
    await opened.store.ensureTenant('t', 'T');
    seed(opened.file, 100);
    const inFlight = opened.store.queryReadings('t', everything);
    await opened.close();
    expect((await inFlight).items).toHaveLength(100);
    await expect(opened.store.queryReadings('t', everything)).rejects.toMatchObject({ name: 'BackendError', retryable: true });
  });
});
