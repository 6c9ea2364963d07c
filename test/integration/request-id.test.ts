import path from 'node:path';
import Database from 'better-sqlite3';
import { print } from 'graphql';
import { startApp, type RunningApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { DeadLettersDocument } from '../generated/graphql';
import { newDataDir, randomKey } from '../support/server';

/**
 * Every HTTP answer carries a request id (X-Request-Id: a proxy's sane one is kept); the same id
 * is on the request's log lines, and it is the correlation id of a masked error, so that what a
 * client quotes finds the operator's lines. With TELEMETRY_ACCESS_LOG=on each request is logged.
 */

interface Started {
  readonly app: RunningApp;
  readonly adminKey: string;
  readonly dataDir: string;
  readonly lines: () => Record<string, unknown>[];
}

async function start(env: Record<string, string> = {}): Promise<Started> {
  const dataDir = newDataDir();
  const adminKey = randomKey();
  const config = loadConfig({
    PORT: '0',
    TELEMETRY_MQTT_PORT: 'off',
    TELEMETRY_DATA_DIR: dataDir,
    TELEMETRY_ADMIN_KEY: adminKey,
    TELEMETRY_STREAM_SYNC: 'normal',
    LOG_LEVEL: 'silent',
    ...env,
  });
  const written: string[] = [];
  const app = await startApp(config, createLogger('info', { write: (line: string) => void written.push(line) }));
  return { app, adminKey, dataDir, lines: () => written.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('request ids', () => {
  let started: Started;
  afterEach(() => started.app.close());

  it('answer every request with an id, keeping a sane one a proxy sent and replacing one that is not', async () => {
    started = await start();
    const base = started.app.url.replace(/\/graphql$/, '');
    expect((await fetch(`${base}/healthz`)).headers.get('x-request-id')).toMatch(UUID);
    expect((await fetch(`${base}/healthz`, { headers: { 'x-request-id': 'lb-7f3a.42' } })).headers.get('x-request-id')).toBe('lb-7f3a.42');
    const forged = await fetch(`${base}/nowhere`, { headers: { 'x-request-id': '"quoted" id; with=spaces' } });
    expect(forged.status).toBe(404);
    expect(forged.headers.get('x-request-id')).toMatch(UUID);
    const long = await fetch(`${base}/healthz`, { headers: { 'x-request-id': 'a'.repeat(129) } });
    expect(long.headers.get('x-request-id')).toMatch(UUID);
  });

  it('make the request id the correlation id of a masked error, and put it on the log line that explains it', async () => {
    started = await start();
    // A table gone under the service: the query fails inside the store, a fault the client must not see.
    const db = new Database(path.join(started.dataDir, 'telemetry.db'));
    db.exec('DROP TABLE dead_letters');
    db.close();
    const response = await fetch(started.app.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${started.adminKey}`, 'x-request-id': 'req-under-test' },
      body: JSON.stringify({ query: print(DeadLettersDocument), variables: { first: 1 } }),
    });
    const body = (await response.json()) as { errors?: { message: string; extensions?: Record<string, unknown> }[] };
    expect(response.headers.get('x-request-id')).toBe('req-under-test');
    const error = body.errors?.[0];
    expect(error?.extensions).toMatchObject({ code: expect.stringMatching(/^(INTERNAL_SERVER_ERROR|UNAVAILABLE)$/), correlationId: 'req-under-test' });
    expect(error?.message).not.toContain('dead_letters');
    const explained = started.lines().filter((line) => line['requestId'] === 'req-under-test');
    expect(explained).toEqual([
      expect.objectContaining({ correlationId: 'req-under-test', err: expect.objectContaining({ message: expect.stringContaining('dead_letters') }) }),
    ]);
  });

  it('log one line per request with TELEMETRY_ACCESS_LOG=on, none without', async () => {
    started = await start({ TELEMETRY_ACCESS_LOG: 'on' });
    const base = started.app.url.replace(/\/graphql$/, '');
    await fetch(`${base}/readyz?probe=1`, { headers: { 'x-request-id': 'probe-1' } });
    const access = started.lines().filter((line) => line['requestId'] === 'probe-1');
    expect(access).toEqual([
      expect.objectContaining({ level: 30, component: 'api', method: 'GET', route: 'readyz', status: expect.any(Number), durationMs: expect.any(Number) }),
    ]);
    await started.app.close();
    started = await start();
    await fetch(`${started.app.url.replace(/\/graphql$/, '')}/readyz`, { headers: { 'x-request-id': 'probe-2' } });
    expect(started.lines().filter((line) => line['requestId'] === 'probe-2')).toEqual([]);
  });
});
