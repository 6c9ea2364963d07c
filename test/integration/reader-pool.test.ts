import path from 'node:path';
import Database from 'better-sqlite3';
import { print } from 'graphql';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store';
import { DEFAULT_TENANT_ID } from '../../src/tenants/tenant-service';
import { AggregatesDocument } from '../generated/graphql';
import { newDataDir, startTestServer, type TestServer } from '../support/server';
import { seriesIdOf } from '../support/sqlite-samples';

/**
 * The API's queries read on reader threads (TELEMETRY_SQLITE_READERS): a raw scan of many rows
 * in flight leaves the API thread free to answer other requests, and a flood of scans past the
 * read queue is refused as any overload is (503, UNAVAILABLE, Retry-After).
 */

const BASE = Date.parse('2026-01-01T00:00:00Z');
const ROWS = 500_000;

/** A data directory whose database holds ROWS readings of device d, metric m, one a second. */
async function seededDataDir(): Promise<string> {
  const dir = newDataDir();
  const file = path.join(dir, 'telemetry.db');
  const store = new SqliteStore({ file });
  await store.ensureTenant(DEFAULT_TENANT_ID, 'Default');
  await store.registerDevice(DEFAULT_TENANT_ID, { id: 'd', name: 'D', tags: [] });
  await store.close();
  const db = new Database(file);
  db.prepare(
    `WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < ?)
     INSERT INTO samples (series_id, ts, value) SELECT ?, ? + i * 1000, i % 97 FROM s`,
  ).run(ROWS - 1, seriesIdOf(db, DEFAULT_TENANT_ID, 'd', 'm'), BASE);
  db.close();
  return dir;
}

describe('queries on reader threads', () => {
  let server: TestServer;

  beforeAll(async () => {
    // One reader and room for one waiting query: the third concurrent scan is refused.
    server = await startTestServer({ TELEMETRY_SQLITE_READERS: '1', TELEMETRY_SQLITE_READ_QUEUE: '1' }, await seededDataDir());
  });

  afterAll(async () => {
    await server.close();
  });

  /** A raw scan of every reading, over HTTP, with its status and Retry-After. */
  async function rawScan(): Promise<{
    status: number;
    retryAfter: string | null;
    body: { data?: unknown; errors?: { extensions?: Record<string, unknown> }[] };
  }> {
    const variables = {
      deviceIds: ['d'],
      metric: 'm',
      from: new Date(BASE).toISOString(),
      to: new Date(BASE + ROWS * 1000).toISOString(),
      bucket: '1d',
      plan: 'RAW',
    };
    const response = await fetch(server.app.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.adminKey}` },
      body: JSON.stringify({ query: print(AggregatesDocument), variables }),
    });
    return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as never };
  }

  it('answers /healthz again and again while a raw scan is in flight', async () => {
    const progress: { scanned: boolean } = { scanned: false };
    const scanning = () => !progress.scanned;
    const scan = rawScan().then((answer) => {
      progress.scanned = true;
      return answer;
    });
    // One after the other, until the scan is answered. On the API thread the scan would hold
    // the event loop from the moment it starts: only the probes answered before it began
    // would count, a handful at most.
    let answeredDuringScan = 0;
    while (scanning()) {
      const probe = await fetch(`${server.baseUrl}/healthz`);
      expect(probe.status).toBe(200);
      if (scanning()) answeredDuringScan++;
    }
    const answer = await scan;
    expect(answer.status).toBe(200);
    expect(answer.body.errors).toBeUndefined();
    expect(answeredDuringScan).toBeGreaterThanOrEqual(20);
  });

  it('refuses scans past the read queue with 503, UNAVAILABLE and Retry-After, and answers the others', async () => {
    const answers = await Promise.all([rawScan(), rawScan(), rawScan()]);
    const refused = answers.filter((answer) => answer.status === 503);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    for (const answer of refused) {
      expect(answer.retryAfter).toBe('1');
      expect(answer.body.errors?.[0]?.extensions).toMatchObject({ code: 'UNAVAILABLE', retryable: true, retryAfterSeconds: 1 });
    }
    expect(answers.filter((answer) => answer.status === 200 && answer.body.errors === undefined).length).toBeGreaterThanOrEqual(1);
    // Once the readers are free, the same scan is answered.
    expect((await rawScan()).status).toBe(200);
  });
});
