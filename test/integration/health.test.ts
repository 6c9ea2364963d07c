import path from 'node:path';
import { RegisterDeviceDocument, ReadingsDocument } from '../generated/graphql';
import { eventually, startTestServer, type TestServer } from '../support/server';
import { holdWriteLock } from '../support/write-lock';

/**
 * /healthz (liveness) and /readyz (readiness) tell the truth: a consumer that retries a batch
 * the database refuses is reported, with the database's reason, instead of "ok" while nothing
 * is applied; a node whose stream refuses writes is not ready.
 */

interface Probe {
  readonly status: number;
  readonly body: { status: string; reasons?: string[]; checks: Record<string, { ok: boolean; state?: string; reason?: string }> };
}

async function probe(server: TestServer, path: '/healthz' | '/readyz'): Promise<Probe> {
  const response = await fetch(`${server.baseUrl}${path}`);
  return { status: response.status, body: (await response.json()) as Probe['body'] };
}

async function ingest(server: TestServer, deviceId: string, timestamp: number): Promise<Response> {
  return fetch(`${server.baseUrl}/ingest`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ deviceId, timestamp, metrics: [{ name: 'temperature', value: 20 }] }),
  });
}

describe('health and readiness probes', () => {
  it('are ok and ready on a working node, with each check listed', async () => {
    const server = await startTestServer();
    try {
      await eventually(async () => ((await probe(server, '/readyz')).status === 200 ? true : undefined), 5000, 'ready');
      expect(await probe(server, '/readyz')).toEqual({
        status: 200,
        body: { status: 'ready', role: 'all', checks: { consumer: { ok: true, state: 'running' }, store: { ok: true }, stream: { ok: true } } },
      });
      const live = await probe(server, '/healthz');
      expect(live).toMatchObject({
        status: 200,
        body: { status: 'ok', checks: { consumer: { ok: true, state: 'running' } }, consumer: { appliedReadings: 0 } },
      });
    } finally {
      await server.close();
    }
  });

  it("report a consumer stuck on a failing database with the database's reason, and recover with it", async () => {
    const server = await startTestServer({ TELEMETRY_CONSUMER_STUCK_SECONDS: '1' });
    try {
      await server.ok(RegisterDeviceDocument, { input: { id: 'boiler-1' } });
      const lock = holdWriteLock(path.join(server.dataDir, 'telemetry.db'));
      let released = false;
      try {
        // The stream still takes readings: the consumer is the one that cannot store them.
        expect((await ingest(server, 'boiler-1', Date.now() - 1000)).status).toBe(202);
        const live = await eventually(
          async () => {
            const answer = await probe(server, '/healthz');
            return answer.status === 503 && /SQLITE_BUSY/.test(answer.body.reasons?.join() ?? '') ? answer : undefined;
          },
          30_000,
          '/healthz to report the stuck consumer',
        );
        expect(live.body).toMatchObject({
          status: 'degraded',
          reasons: [expect.stringMatching(/^consumer: the consumer has been retrying for \d+ s, nothing applied: database error SQLITE_BUSY/)],
        });
        expect(live.body.checks['consumer']).toMatchObject({ ok: false, state: 'stuck' });
        const ready = await probe(server, '/readyz');
        expect(ready).toMatchObject({
          status: 503,
          body: { status: 'not ready', checks: { consumer: { ok: false }, store: { ok: true }, stream: { ok: true } } },
        });
        lock.release();
        released = true;
      } finally {
        if (!released) lock.release();
      }
      await eventually(async () => ((await probe(server, '/healthz')).status === 200 ? true : undefined), 30_000, 'the consumer to recover');
      const stored = await server.ok(ReadingsDocument, { deviceId: 'boiler-1', metric: 'temperature', first: 10 });
      expect(stored.readings.edges).toHaveLength(1);
      expect((await probe(server, '/readyz')).status).toBe(200);
    } finally {
      await server.close();
    }
  }, 60_000);

  it('take a node whose stream refuses writes out of rotation, and back once a write succeeds', async () => {
    const server = await startTestServer();
    try {
      await server.ok(RegisterDeviceDocument, { input: { id: 'boiler-1' } });
      const lock = holdWriteLock(path.join(server.dataDir, 'stream.db'));
      let released = false;
      try {
        const refused = await ingest(server, 'boiler-1', Date.now() - 2000);
        expect(refused.status).toBe(503);
        const ready = await probe(server, '/readyz');
        expect(ready).toMatchObject({
          status: 503,
          body: {
            status: 'not ready',
            reasons: [expect.stringMatching(/^stream: the last write to the stream failed \d+ s ago: stream append failed: database is locked/)],
          },
        });
        // Liveness is not affected: restarting would not make the stream writable.
        expect((await probe(server, '/healthz')).status).toBe(200);
        lock.release();
        released = true;
      } finally {
        if (!released) lock.release();
      }
      expect((await ingest(server, 'boiler-1', Date.now() - 1000)).status).toBe(202);
      expect((await probe(server, '/readyz')).status).toBe(200);
    } finally {
      await server.close();
    }
  }, 30_000);
});
