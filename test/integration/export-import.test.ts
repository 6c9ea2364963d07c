import { execFile } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { AggregatesDocument, CreateApiKeyDocument, IngestReadingDocument, ReadingsDocument, RegisterDeviceDocument } from '../generated/graphql';
import { createTenantWithCli } from '../support/service-process';
import { postGraphQL } from '../support/graphql-post';
import { eventually, startTestServer, type TestServer } from '../support/server';

const DAY = 86_400_000;
/** A device's year, ending 35 days ago: its older part is beyond normal ingest's 365 days. */
const END = Math.floor(Date.now() / DAY) * DAY - 35 * DAY;
const START = END - 365 * DAY;
/** One value every 8 hours of that year, on two metrics. */
const HISTORY = Array.from({ length: 365 * 3 }, (_, i) => START + i * 8 * 3_600_000).flatMap((ts, i) => [
  { deviceId: 'pump', metric: 'temp', timestamp: new Date(ts).toISOString(), value: 20 + Math.sin(i / 10) * 5 },
  { deviceId: 'pump', metric: 'rpm', timestamp: ts, value: 1000 + (i % 17) },
]);

async function importFile(server: TestServer, body: string, query: string, key = server.adminKey) {
  const response = await fetch(`${server.baseUrl}/import?${query}`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body });
  const text = await response.text();
  return {
    status: response.status,
    lines: text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, Record<string, unknown>>),
  };
}

async function exportText(server: TestServer, query: string, key = server.adminKey) {
  const response = await fetch(`${server.baseUrl}/export?${query}`, { headers: { authorization: `Bearer ${key}` } });
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
}

/** The year's aggregates of one metric: what must survive export and import exactly. */
async function yearOf(server: TestServer, metric: string) {
  const answer = await server.ok(AggregatesDocument, {
    deviceIds: ['pump'],
    metric,
    from: new Date(START).toISOString(),
    to: new Date(END).toISOString(),
    bucket: '1d',
  });
  return answer.aggregates[0]!.buckets.map((bucket) => ({ ...bucket, source: undefined }));
}

/** Every reading of the device imported so far is applied once a later one of the same device is (per-device order). */
let barrier = 0;
async function applied(server: TestServer): Promise<void> {
  const value = ++barrier;
  await server.ok(IngestReadingDocument, { reading: { deviceId: 'pump', timestamp: new Date().toISOString(), metrics: [{ name: 'barrier', value }] } });
  await eventually(
    async () =>
      (await server.ok(ReadingsDocument, { deviceId: 'pump', metric: 'barrier', first: 100 })).readings.edges.some((edge) => edge.node.value === value)
        ? true
        : undefined,
    20_000,
    'the import applied',
  );
}

describe('export and import', () => {
  let source: TestServer;
  let target: TestServer;
  beforeAll(async () => {
    // Services that keep two years of raw readings: a history import may load what normal
    // ingest refuses, but never what the tenant's retention would remove (ingest refuses that).
    const keepTwoYears = { TELEMETRY_RETENTION_RAW_DAYS: '730', TELEMETRY_RETENTION_MINUTE_ROLLUP_DAYS: '730' };
    [source, target] = await Promise.all([startTestServer(keepTwoYears), startTestServer(keepTwoYears)]);
    for (const server of [source, target]) await server.ok(RegisterDeviceDocument, { input: { id: 'pump' } });
  });
  afterAll(async () => {
    await Promise.all([source.close(), target.close()]);
  });

  it('refuses timestamps older than normal ingest allows unless the admin allows old timestamps', async () => {
    const old = `${JSON.stringify(HISTORY[0])}\n`;
    const refused = await importFile(source, old, 'format=ndjson');
    expect(refused.lines).toEqual([
      {
        error: {
          line: 1,
          code: 'TIMESTAMP_TOO_OLD',
          message: expect.stringMatching(/in the past \(to import history, pass allowOldTimestamps=true; npm run import: --allow-old-timestamps\)$/),
        },
      },
      { progress: { lines: 1, accepted: 0, rejected: 1 } },
      { done: { lines: 1, accepted: 0, rejected: 1 } },
    ]);
  });

  it("exports a device's year and imports it into a fresh service: the aggregates are equal, and re-importing stores nothing twice", async () => {
    const loaded = await importFile(source, HISTORY.map((row) => JSON.stringify(row)).join('\n'), 'format=ndjson&allowOldTimestamps=true');
    expect(loaded.lines.at(-1)).toEqual({ done: { lines: HISTORY.length, accepted: HISTORY.length, rejected: 0 } });
    await applied(source);

    const range = `devices=pump&metric=rpm,temp&from=${new Date(START).toISOString()}&to=${new Date(END).toISOString()}`;
    const csv = await exportText(source, `${range}&format=csv`);
    expect(csv.status).toBe(200);
    expect(csv.type).toBe('text/csv; charset=utf-8');
    const rows = csv.text.trimEnd().split('\n');
    expect(rows[0]).toBe('deviceId,metric,timestamp,value');
    expect(rows).toHaveLength(HISTORY.length + 1);
    // Ordered by device, metric, timestamp: rpm first.
    expect(rows[1]).toBe(`pump,rpm,${new Date(START).toISOString()},1000`);

    const first = await importFile(target, csv.text, 'format=csv&allowOldTimestamps=true');
    expect(first.lines.at(-1)).toEqual({ done: { lines: HISTORY.length + 1, accepted: HISTORY.length, rejected: 0 } });
    await applied(target);
    for (const metric of ['temp', 'rpm']) expect(await yearOf(target, metric)).toEqual(await yearOf(source, metric));

    // Again: the stream takes the rows, the consumer stores none of them twice.
    const again = await importFile(target, csv.text, 'format=csv&allowOldTimestamps=true');
    expect(again.lines.at(-1)).toEqual({ done: { lines: HISTORY.length + 1, accepted: HISTORY.length, rejected: 0 } });
    await applied(target);
    for (const metric of ['temp', 'rpm']) expect(await yearOf(target, metric)).toEqual(await yearOf(source, metric));
    const ndjson = await exportText(target, `${range}&format=ndjson`);
    expect(ndjson.text.trimEnd().split('\n')).toHaveLength(HISTORY.length);
  });

  it('stores imported history without taking it for its device being seen: the device stays NEVER_SEEN', async () => {
    // It came ONLINE (last seen at the import), then went OFFLINE with a SILENCE anomaly once its
    // heartbeat timeout passed, for a device that no longer reports.
    await target.ok(RegisterDeviceDocument, { input: { id: 'archive' } });
    const rows = HISTORY.slice(0, 4).map((row) => JSON.stringify({ ...row, deviceId: 'archive' }));
    expect((await importFile(target, rows.join('\n'), 'format=ndjson&allowOldTimestamps=true')).lines.at(-1)).toEqual({
      done: { lines: 4, accepted: 4, rejected: 0 },
    });
    const device = async () =>
      (
        (await postGraphQL(target.app.url, target.adminKey, '{ device(id: "archive") { status lastSeenAt latest { metric } } }', {})) as {
          data: { device: { status: string; lastSeenAt: string | null; latest: { metric: string }[] } };
        }
      ).data.device;
    // Applied once its latest values are there (both metrics); nothing else ingests for it.
    const stored = await eventually(async () => {
      const now = await device();
      return now.latest.length === 2 ? now : undefined;
    });
    expect(stored).toEqual({ status: 'NEVER_SEEN', lastSeenAt: null, latest: [{ metric: 'rpm' }, { metric: 'temp' }] });
  });

  it('resumes an export right after the last row received', async () => {
    const range = `devices=pump&metric=rpm,temp&from=${new Date(START).toISOString()}&to=${new Date(END).toISOString()}&format=csv`;
    const whole = (await exportText(source, range)).text.trimEnd().split('\n').slice(1);
    const cut = 1500; // inside temp, after every rpm row
    const last = whole[cut - 1]!.split(',').slice(0, 3).join(',');
    const rest = (await exportText(source, `${range}&after=${encodeURIComponent(last)}`)).text.trimEnd().split('\n').slice(1);
    expect([...whole.slice(0, cut), ...rest]).toEqual(whole);
  });

  it('reports each bad line with its number and the reason, and stores the good ones', async () => {
    const t = new Date(Date.now() - 60_000).toISOString();
    const file = [
      'deviceId,metric,timestamp,value',
      `pump,good,${t},1`,
      `pump,good,${t}`,
      `pump,good,yesterday,2`,
      `pump,bad name,${t},3`,
      `nobody,good,${t},4`,
      `pump,good,${t},NaN`,
      `pump,good2,${t},5`,
    ].join('\n');
    const report = await importFile(target, file, 'format=csv');
    expect(report.lines.filter((line) => line['error']).map((line) => [line['error']!['line'], line['error']!['code']])).toEqual([
      [3, 'INVALID_LINE'],
      [4, 'INVALID_LINE'],
      [5, 'INVALID_LINE'],
      [7, 'INVALID_LINE'],
      [6, 'UNKNOWN_DEVICE'],
    ]);
    expect(report.lines.at(-1)).toEqual({ done: { lines: 8, accepted: 2, rejected: 5 } });
  });

  it('exports and imports from the command line, with a report of the lines not stored', async () => {
    const tool = (name: string) => path.join(__dirname, '../../src/tools', `${name}.js`);
    const run = (name: string, args: string[], server: TestServer) =>
      promisify(execFile)(process.execPath, [tool(name), ...args, '--url', server.baseUrl, '--key', server.adminKey]);
    const out = path.join(source.dataDir, 'pump.csv');
    const exportedNote = await run(
      'export',
      ['--devices', 'pump', '--metric', 'rpm', '--to', new Date(END).toISOString(), '--format', 'csv', '--out', out],
      source,
    );
    expect(exportedNote.stderr).toBe(`exported to ${out} (${statSync(out).size.toLocaleString('en')} bytes)\n`);
    const exported = readFileSync(out, 'utf8').trimEnd().split('\n');
    expect(exported).toHaveLength(HISTORY.length / 2 + 1);
    writeFileSync(out, [...exported, 'pump,rpm,not-a-time,1'].join('\n'));
    // A line not stored: the import ran, and says so with exit status 2 (it exited 0).
    const imported = await run('import', [out, '--allow-old-timestamps'], target).then(
      () => {
        throw new Error('an import with a line not stored exited 0');
      },
      (error: unknown) => error as { code: number; stdout: string; stderr: string },
    );
    expect(imported.code).toBe(2);
    expect(JSON.parse(imported.stdout)).toEqual({ done: { lines: exported.length + 1, accepted: exported.length - 1, rejected: 1 } });
    expect(imported.stderr).toMatch(/1 line\(s\) not stored/);
    expect(JSON.parse(readFileSync(`${out}.errors.ndjson`, 'utf8'))).toMatchObject({ line: exported.length + 1, code: 'INVALID_LINE' });
    // Imported again without the bad line: nothing refused, and no empty report left behind.
    writeFileSync(out, exported.join('\n'));
    const clean = await run('import', [out, '--allow-old-timestamps'], target);
    expect(JSON.parse(clean.stdout)).toMatchObject({ done: { rejected: 0 } });
    expect(existsSync(`${out}.errors.ndjson`)).toBe(false);
    // No service at the address: both tools say where they looked and why (not just "fetch failed").
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    for (const [name, args] of [
      ['import', [out]],
      ['export', ['--devices', 'pump', '--out', `${out}.again`]],
    ] as const) {
      const failed = await promisify(execFile)(process.execPath, [tool(name), ...args, '--url', `http://127.0.0.1:${closed}`, '--key', source.adminKey]).then(
        () => undefined,
        (error: unknown) => error as { code: number; stderr: string },
      );
      expect({ name, code: failed?.code, stderr: failed?.stderr.trim() }).toEqual({
        name,
        code: 1,
        stderr: `cannot reach the service at http://127.0.0.1:${closed}: ECONNREFUSED (is it running there? --url names another)`,
      });
    }
    // A missing file is named as such (it was reported as the service being out of reach).
    const missing = await promisify(execFile)(process.execPath, [tool('import'), `${out}.missing.csv`, '--url', source.baseUrl, '--key', source.adminKey]).then(
      () => undefined,
      (error: unknown) => error as { code: number; stderr: string },
    );
    expect({ code: missing?.code, stderr: missing?.stderr.trim() }).toEqual({ code: 1, stderr: `no file ${out}.missing.csv to import` });
  });

  it('lets readers export and only admins import, within their own tenant; bad parameters are BAD_USER_INPUT', async () => {
    const reader = (await source.ok(CreateApiKeyDocument, { input: { role: 'READER', label: 'export' } })).createApiKey.secret;
    expect((await exportText(source, 'devices=pump&metric=rpm&to=2000-01-01T00:00:00Z', reader)).status).toBe(200);
    expect((await importFile(source, '', 'format=csv', reader)).status).toBe(403);
    const deviceKey = (await source.ok(RegisterDeviceDocument, { input: { id: 'meter' } })).registerDevice.deviceKey;
    expect((await exportText(source, 'devices=meter', deviceKey)).status).toBe(403);
    // A device of another tenant answers exactly as one of no tenant; its data never shows.
    const other = await createTenantWithCli(source.dataDir, 'tenant-b');
    await source.gql(RegisterDeviceDocument, { input: { id: 'b-device' } }, other);
    const [foreign, ghost] = [await exportText(source, 'devices=b-device'), await exportText(source, 'devices=ghost')];
    expect(foreign.status).toBe(404);
    expect(foreign.text.replace('b-device', 'ghost')).toBe(ghost.text);
    expect((await exportText(source, 'devices=b-device', other)).status).toBe(200);
    for (const query of [
      '',
      'devices=',
      'devices=pump&format=xml',
      'devices=pump&from=soon',
      'devices=pump&after=pump,temp',
      'devices=pump&after=other,temp,0',
    ]) {
      const answer = await exportText(source, query);
      expect([query, answer.status, (JSON.parse(answer.text) as { error: { code: string } }).error.code]).toEqual([query, 400, 'BAD_USER_INPUT']);
    }
    expect((await importFile(source, '', 'format=xml')).status).toBe(400);
  });
});
