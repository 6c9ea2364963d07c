import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { postGraphQL } from '../support/graphql-post';
import { eventually, startTestServer, type TestServer } from '../support/server';
import { accessibilityProblems, layoutAndContrastProblems, unreachableByTab } from './a11y';
import { chromiumPath, launchChromium } from './browser';
import { TcpProxy } from './tcp-proxy';

/**
 * The web console and GraphiQL in headless Chromium against the real server: one browser for
 * the whole suite, pages reached through a TCP proxy the tests can cut. Screenshots of each
 * page go to artifacts/screenshots/ (gitignored).
 */
const executable = chromiumPath();
const SHOTS = path.join(__dirname, '..', '..', '..', 'artifacts', 'screenshots');
if (!executable) process.stdout.write('browser tests skipped: no chromium found (apt-get install chromium, or set CHROMIUM_PATH)\n');
const describeWithBrowser = executable ? describe : describe.skip;

describeWithBrowser('web console (headless chromium)', () => {
  let server: TestServer;
  let proxy: TcpProxy;
  let browser: Browser;
  let origin: string;
  let readerKey: string;
  const foreignRequests: string[] = [];
  const contexts: BrowserContext[] = [];
  /** What each page opened by openPage logged as an error in its devtools console. */
  const consoleErrors = new WeakMap<Page, string[]>();

  const gql = async (query: string, variables: Record<string, unknown> = {}, key = server.adminKey) => {
    const body = (await postGraphQL(server.app.url, key, query, variables)) as { data?: any; errors?: unknown[] };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data;
  };
  const ingest = (deviceId: string, at: number, value: number) =>
    gql('mutation($r: ReadingInput!) { ingestReading(reading: $r) { acceptedCount } }', {
      r: { deviceId, timestamp: new Date(at).toISOString(), metrics: [{ name: 'temperature', value }] },
    });

  const openPage = async (key: string, hash = '#/fleet'): Promise<Page> => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    contexts.push(context);
    const page = await context.newPage();
    const errors: string[] = [];
    consoleErrors.set(page, errors);
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('request', (request) => {
      const url = request.url();
      if (!url.startsWith(origin) && !url.startsWith(origin.replace('http:', 'ws:')) && !url.startsWith('data:')) foreignRequests.push(url);
    });
    await page.goto(`${origin}/${hash}`);
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#connection').waitFor();
    return page;
  };
  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  /** The chart's x values (seconds) for a metric, read from the page. */
  const chartTimes = (page: Page, metric: string) =>
    page.evaluate((m) => [...((globalThis as any).telemetryCharts?.get(m)?.timestamps ?? [])] as number[], metric);
  interface ChartState {
    lines: string[];
    times: number[];
    columns: (number | null)[][];
  }
  /** Waits until a metric's chart draws `expected` (lines, x values in seconds, values per line). */
  const chartShows = async (page: Page, metric: string, expected: ChartState) => {
    const read = () =>
      page.evaluate((m): ChartState | undefined => {
        const chart = (globalThis as any).telemetryCharts?.get(m);
        return chart && { lines: [...chart.lines], times: [...chart.timestamps], columns: chart.columns.map((column: number[]) => [...column]) };
      }, metric);
    let last: ChartState | undefined;
    await eventually(async () => {
      last = await read();
      return JSON.stringify(last) === JSON.stringify(expected) ? true : undefined;
    }).catch(() => undefined);
    expect(last).toEqual(expected);
  };

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    // Webhooks may reach this machine's receiver, and give up after one attempt.
    server = await startTestServer({ TELEMETRY_WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'on', TELEMETRY_WEBHOOK_POLL_MS: '50', TELEMETRY_WEBHOOK_MAX_ATTEMPTS: '1' });
    proxy = await TcpProxy.start(server.app.port);
    origin = `http://127.0.0.1:${proxy.port}`;
    browser = await launchChromium(executable!);
    for (const [id, tags] of [
      ['boiler-1', ['basement']],
      ['pump-7', ['roof', 'water']],
      ['meter-3', ['basement']],
    ] as const) {
      await gql('mutation($i: RegisterDeviceInput!) { registerDevice(input: $i) { device { id } } }', { i: { id, tags } });
    }
    readerKey = (await gql('mutation { createApiKey(input: { label: "viewer", role: READER }) { secret } }')).createApiKey.secret;
  });

  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser.close();
    await proxy.close();
    await server.close();
  });

  it('serves the console at / with a strict CSP and hashed, cacheable assets', async () => {
    const page = await fetch(`${server.baseUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('content-security-policy')).not.toMatch(/unsafe-inline|https?:/);
    const script = /src="(\/assets\/console-[^"]+\.js)"/.exec(await page.text())![1]!;
    const asset = await fetch(`${server.baseUrl}${script}`);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toContain('immutable');
  });

  it('signs in and shows the registered devices in the fleet, logging no error on the way', async () => {
    const page = await openPage(server.adminKey);
    await page.locator('#fleet tr[data-device="pump-7"]').waitFor();
    // Before, every load logged "Failed to load resource: 404" for the OIDC sign-in it asks about.
    expect(consoleErrors.get(page)).toEqual([]);
    expect(await page.locator('#fleet tr[data-device="boiler-1"]').textContent()).toContain('basement');
    await page.getByLabel('Tag').fill('roof');
    await page.locator('#fleet tr[data-device="boiler-1"]').waitFor({ state: 'detached' });
    // The key lives in this tab's sessionStorage, not in the URL nor localStorage.
    expect(page.url()).not.toContain(server.adminKey);
    expect(await page.evaluate(() => JSON.stringify((globalThis as any).localStorage))).not.toContain('tk_');
    await shot(page, 'fleet');
  });

  it('extends the device chart live with a reading ingested through the API, and resumes after a network drop with no gap', async () => {
    const page = await openPage(server.adminKey, `#/device/boiler-1`);
    const start = Date.now() - 60_000;
    await ingest('boiler-1', start, 20);
    await page.waitForFunction(() => ((globalThis as any).telemetryCharts?.get('temperature')?.pointCount ?? 0) >= 1);
    await ingest('boiler-1', start + 1000, 21);
    await page.waitForFunction(() => (globalThis as any).telemetryCharts.get('temperature').pointCount >= 2);
    await shot(page, 'device');

    proxy.drop();
    await page.locator('#connection[data-state="reconnecting"]').waitFor();
    for (let i = 2; i < 7; i += 1) await ingest('boiler-1', start + i * 1000, 20 + i);
    proxy.restore();
    await page.waitForFunction(() => (globalThis as any).telemetryCharts.get('temperature').pointCount >= 7);
    expect(await chartTimes(page, 'temperature')).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => (start + i * 1000) / 1000));
  });

  it("draws a reading stored while the live connection was still opening: no gap between the charts' queries and the subscription", async () => {
    await gql('mutation { registerDevice(input: { id: "valve-9" }) { device { id } } }');
    proxy.holdWebSockets();
    try {
      const page = await openPage(server.adminKey, '#/device/valve-9');
      // The device and its (empty) charts are read; the subscription has not reached the server.
      await page.getByText('No readings yet').waitFor();
      const at = Date.now() - 5000;
      await ingest('valve-9', at, 42);
      await eventually(async () => {
        const { readings } = await gql('{ readings(deviceId: "valve-9", metric: "temperature") { edges { cursor } } }');
        return readings.edges.length === 1 ? true : undefined;
      });
      proxy.releaseWebSockets();
      await page.waitForFunction(() => ((globalThis as any).telemetryCharts?.get('temperature')?.pointCount ?? 0) >= 1);
      expect(await chartTimes(page, 'temperature')).toEqual([at / 1000]);
    } finally {
      proxy.releaseWebSockets();
    }
  });

  it('draws a custom range in buckets with the chosen functions and time zone', async () => {
    const hour = 3_600_000;
    const t0 = Math.floor((Date.now() - 3 * hour) / hour) * hour;
    const readings = [
      [10_000, 1],
      [20_000, 2],
      [30_000, 3],
      [70_000, 10],
      [80_000, 20],
    ] as const;
    for (const [offset, value] of readings) await ingest('meter-3', t0 + offset, value);
    await eventually(async () => {
      const { readings: stored } = await gql('{ readings(deviceId: "meter-3", metric: "temperature") { edges { cursor } } }');
      return stored.edges.length === readings.length ? true : undefined;
    });
    const page = await openPage(server.adminKey, '#/device/meter-3');
    await page.locator('figure.chart[data-metric="temperature"]').waitFor();
    const wall = (ms: number) => new Date(ms).toISOString().slice(0, 16);
    await page.getByLabel('Time zone').selectOption('UTC');
    await page.getByLabel('Range').selectOption('custom');
    await page.getByLabel('From', { exact: true }).fill(wall(t0));
    await page.getByLabel('To', { exact: true }).fill(wall(t0 + 5 * 60_000));
    const times = readings.map(([offset]) => (t0 + offset) / 1000);
    await chartShows(page, 'temperature', { lines: ['temperature'], times, columns: [readings.map(([, value]) => value)] });

    await page.getByLabel('Bucket').selectOption('1m');
    await page.getByLabel('max', { exact: true }).check();
    await chartShows(page, 'temperature', {
      lines: ['avg', 'max'],
      times: [t0 / 1000, t0 / 1000 + 60],
      columns: [
        [2, 15],
        [3, 20],
      ],
    });
    await shot(page, 'device-aggregates');

    // Another zone keeps the range's instants (its inputs now read Tokyo's wall clock) and
    // puts calendar buckets on Tokyo's midnight (UTC+9, no daylight saving).
    const tokyo = 9 * hour;
    await page.getByLabel('Time zone').selectOption('Asia/Tokyo');
    expect(await page.getByLabel('From', { exact: true }).inputValue()).toBe(wall(t0 + tokyo));
    await page.getByLabel('Bucket').selectOption('day');
    const midnight = Math.floor((t0 + tokyo) / 86_400_000) * 86_400_000 - tokyo;
    await chartShows(page, 'temperature', { lines: ['avg', 'max'], times: [midnight / 1000], columns: [[7.2], [20]] });
  });

  it('an anomaly acknowledged in one browser changes for a second one watching the inbox', async () => {
    await gql('mutation { setAnomalyRule(input: { deviceId: "pump-7", metric: "temperature", max: 50, zScore: null }) { id } }');
    const watcher = await openPage(readerKey, '#/anomalies');
    const actor = await openPage(server.adminKey, '#/anomalies');
    await ingest('pump-7', Date.now() - 1000, 99);
    const row = (page: Page) => page.locator('#inbox tr[data-anomaly]').first();
    await row(actor).waitFor();
    await row(watcher).waitFor();
    await shot(actor, 'anomalies');
    const id = await row(actor).getAttribute('data-anomaly');
    await row(actor).getByRole('button', { name: 'Acknowledge' }).click();
    // The watcher's inbox shows OPEN anomalies: the acknowledged one leaves it, then shows under ACKNOWLEDGED.
    await watcher.locator(`#inbox tr[data-anomaly="${id}"]`).waitFor({ state: 'detached' });
    await watcher.getByLabel('Status').selectOption('ACKNOWLEDGED');
    await watcher.locator(`#inbox tr[data-anomaly="${id}"][data-status="ACKNOWLEDGED"]`).waitFor();
  });

  it('keeps the inbox current through the anomaly subscription alone, resuming after a network drop', async () => {
    await gql('mutation { setAnomalyRule(input: { deviceId: "meter-3", metric: "*", max: 50, zScore: null }) { id } }');
    const watcher = await openPage(readerKey, '#/anomalies');
    await ingest('meter-3', Date.now() - 2000, 99);
    const first = watcher.locator('#inbox tr[data-anomaly]', { hasText: 'meter-3' }).first();
    await first.waitFor();
    const id = await first.getAttribute('data-anomaly');
    // From here the watcher's HTTP requests fail: only the subscription can change its inbox.
    await watcher.route('**/graphql', (route) => route.abort());
    await gql('mutation($id: ID!) { acknowledgeAnomaly(id: $id) { id } }', { id });
    await watcher.locator(`#inbox tr[data-anomaly="${id}"]`).waitFor({ state: 'detached' });

    proxy.drop();
    await watcher.locator('#connection[data-state="reconnecting"]').waitFor();
    await gql('mutation($r: ReadingInput!) { ingestReading(reading: $r) { acceptedCount } }', {
      r: { deviceId: 'meter-3', timestamp: new Date(Date.now() - 1000).toISOString(), metrics: [{ name: 'humidity', value: 99 }] },
    });
    const raised = await eventually(async () => {
      const { anomalies } = await gql('{ anomalies(first: 1, filter: { deviceId: "meter-3", status: OPEN }) { edges { node { id metric } } } }');
      return anomalies.edges[0]?.node.metric === 'humidity' ? anomalies.edges[0].node.id : undefined;
    });
    proxy.restore();
    await watcher.locator(`#inbox tr[data-anomaly="${raised}"]`, { hasText: 'humidity' }).waitFor();
    await watcher.locator('#connection[data-state="live"]').waitFor();
  });

  it('a reader key sees no admin actions', async () => {
    const page = await openPage(readerKey, '#/anomalies');
    await page.locator('#inbox tbody tr').first().waitFor();
    await page.locator('#rules').waitFor();
    expect(await page.getByRole('link', { name: 'Admin' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /Acknowledge|Resolve|Delete|Save rule/ }).count()).toBe(0);
    await page.goto(`${origin}/#/admin`);
    await page.locator('#fleet').waitFor();
    expect(await page.getByRole('heading', { name: 'Admin' }).count()).toBe(0);
  });

  it('shows keys, webhooks and dead letters to an admin, and a new key once', async () => {
    const page = await openPage(server.adminKey, '#/admin');
    await page.getByLabel('Label').fill('dashboard');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = await page.locator('#new-secret').textContent();
    expect(secret).toMatch(/^tk_/);
    await page.locator('#keys tr', { hasText: 'dashboard' }).waitFor();
    await shot(page, 'admin');
  });

  it('serves GraphiQL at a browser GET /graphql, offline, with the console key, and runs a query', async () => {
    const page = await openPage(server.adminKey);
    const answers: number[] = [];
    page.on('response', (response) => {
      if (response.request().method() === 'POST' && new URL(response.url()).pathname === '/graphql') answers.push(response.status());
    });
    // The schema loads by itself, with the key: before, GraphiQL opened on "Error fetching schema" (401).
    const introspection = page.waitForResponse((response) => response.request().postData()?.includes('IntrospectionQuery') === true);
    await page.goto(`${origin}/graphql`);
    expect((await introspection).status()).toBe(200);
    // ... and answers it with the schema: the depth limit refused its ofType chain with a 200.
    expect(((await (await introspection).json()) as { data?: { __schema?: unknown }; errors?: unknown }).errors).toBeUndefined();
    await page.locator('.graphiql-execute-button').click();
    await page.locator('.result-window', { hasText: 'pump-7' }).waitFor();
    expect(answers.length).toBeGreaterThanOrEqual(2);
    expect(answers.filter((status) => status !== 200)).toEqual([]);
    await shot(page, 'graphiql');
  });

  it('shows the latest value of each metric with a sparkline of the last hour, all from one query, extended live', async () => {
    const sparkCount = async (deviceId: string) => {
      const to = Date.now() + 60_000;
      const { aggregates } = await gql(
        'query($ids: [ID!]!, $from: DateTime!, $to: DateTime!) { aggregates(deviceIds: $ids, metric: "temperature", from: $from, to: $to, bucket: "2m") { buckets { avg } } }',
        { ids: [deviceId], from: new Date(to - 3_600_000).toISOString(), to: new Date(to).toISOString() },
      );
      return aggregates[0].buckets.length as number;
    };
    const expected = { 'boiler-1': await sparkCount('boiler-1'), 'pump-7': await sparkCount('pump-7') };
    expect(expected['boiler-1']).toBeGreaterThan(0);
    const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    contexts.push(context);
    const page = await context.newPage();
    const sparkRequests: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'POST' && request.postData()?.includes('aggregates')) sparkRequests.push(request.postData()!);
    });
    await page.goto(`${origin}/#/fleet`);
    await page.getByLabel('API key').fill(server.adminKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const spark = (deviceId: string) => page.locator(`#fleet tr[data-device="${deviceId}"] svg.sparkline[data-metric="temperature"]`);
    for (const [deviceId, count] of Object.entries(expected))
      await spark(deviceId)
        .and(page.locator(`[data-count="${count}"]`))
        .waitFor();
    expect(await spark('boiler-1').getAttribute('aria-label')).toMatch(/^temperature over the last hour, \d+ points from /);
    expect(sparkRequests).toHaveLength(1);

    await ingest('boiler-1', Date.now(), 30);
    await spark('boiler-1')
      .and(page.locator(`[data-count="${expected['boiler-1'] + 1}"]`))
      .waitFor();
    expect(await page.locator('#fleet tr[data-device="boiler-1"] .metric[data-metric="temperature"] b').textContent()).toBe('30');
    await shot(page, 'fleet-sparklines');
  });

  it("shows each webhook's deliveries with their status, attempts, HTTP status and error", async () => {
    const receiver = createServer((_request, response) => response.writeHead(503).end());
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', () => resolve()));
    try {
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
      const { createWebhook } = await gql('mutation($url: String!) { createWebhook(input: { url: $url }) { webhook { id } } }', { url });
      const webhookId = createWebhook.webhook.id as string;
      // Above the rule's max: an anomaly of a new series, delivered to the webhook.
      await gql('mutation { setAnomalyRule(input: { deviceId: "meter-3", metric: "*", max: 50, zScore: null }) { id } }');
      await gql('mutation($r: ReadingInput!) { ingestReading(reading: $r) { acceptedCount } }', {
        r: { deviceId: 'meter-3', timestamp: new Date().toISOString(), metrics: [{ name: 'pressure', value: 77 }] },
      });
      const failed = await eventually(async () => {
        const { webhooks } = await gql('{ webhooks { id deliveries { id anomalyId status } } }');
        return webhooks.find((hook: { id: string }) => hook.id === webhookId)?.deliveries.find((d: { status: string }) => d.status === 'FAILED');
      });
      const page = await openPage(server.adminKey, '#/admin');
      const detail = page.locator(`details[data-webhook="${webhookId}"]`);
      await detail.locator('summary').click();
      const row = detail.locator(`tr[data-delivery="${failed.id}"]`);
      await row.waitFor();
      expect((await row.locator('td').allTextContents()).slice(1, 6)).toEqual([failed.anomalyId, 'failed', '1', '503', expect.stringMatching(/503/)]);
      await shot(page, 'admin-webhook-deliveries');
    } finally {
      await new Promise((resolve) => receiver.close(resolve));
    }
  });

  it('names every control and lets a keyboard reach each one, skip to the content and move between views', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${origin}/`);
    await page.getByLabel('API key').waitFor();
    expect(await accessibilityProblems(page)).toEqual([]);
    await page.getByLabel('API key').fill(server.adminKey);
    await page.keyboard.press('Enter');
    const views: [string, string][] = [
      ['#/fleet', '#fleet tr[data-device]'],
      ['#/device/boiler-1', '.device-header h1'],
      ['#/anomalies', '#rules'],
      ['#/admin', '#keys'],
    ];
    for (const [hash, ready] of views) {
      await page.evaluate((to) => ((globalThis as any).location.hash = to), hash);
      await page.locator(ready).first().waitFor();
      if (hash.startsWith('#/device')) await page.getByLabel('Range').selectOption('custom');
      expect({ hash, problems: await accessibilityProblems(page) }).toEqual({ hash, problems: [] });
      expect({ hash, unreachable: await unreachableByTab(page) }).toEqual({ hash, unreachable: [] });
    }

    // The first Tab reaches the skip link; it moves focus to the content and stays on the page.
    await page.evaluate(() => ((globalThis as any).location.hash = '#/anomalies'));
    await page.locator('#inbox').waitFor();
    await page.evaluate(() => (globalThis as any).document.activeElement?.blur());
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => (globalThis as any).document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => [(globalThis as any).document.activeElement?.id, (globalThis as any).location.hash])).toEqual(['main', '#/anomalies']);
    // Tab on to the navigation's Fleet link and follow it with Enter.
    for (let i = 0; i < 10 && (await page.evaluate(() => (globalThis as any).document.activeElement?.textContent)) !== 'Fleet'; i += 1)
      await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Enter');
    await page.locator('#fleet').waitFor();
    await shot(page, 'keyboard-fleet');
  });

  it('fits a phone screen without horizontal scrolling, with text contrast of at least WCAG AA, on every view', async () => {
    const context = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${origin}/`);
    await page.getByLabel('API key').waitFor();
    expect(await layoutAndContrastProblems(page)).toEqual([]);
    await page.getByLabel('API key').fill(server.adminKey);
    await page.keyboard.press('Enter');
    for (const [hash, ready] of [
      ['#/fleet', '#fleet tr[data-device]'],
      ['#/device/boiler-1', '.device-header h1'],
      ['#/anomalies', '#rules'],
      ['#/admin', '#keys'],
    ] as const) {
      await page.evaluate((to) => ((globalThis as any).location.hash = to), hash);
      await page.locator(ready).first().waitFor();
      expect({ hash, problems: await layoutAndContrastProblems(page) }).toEqual({ hash, problems: [] });
      await shot(page, `phone-${hash.split('/')[1]}`);
    }
  });

  it('sent no request to another origin', () => {
    expect(foreignRequests).toEqual([]);
  });
});
