import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AnomaliesDocument,
  CreateWebhookDocument,
  DeleteWebhookDocument,
  IngestReadingsDocument,
  RegisterDeviceDocument,
  SetAnomalyRuleDocument,
  WebhooksDocument,
  type CreateWebhookMutation,
} from '../generated/graphql';
import { eventually, startTestServer, type TestServer } from '../support/server';

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A local webhook receiver answering with the given statuses in turn (the last one repeats). */
async function receiver(statuses: number[]): Promise<{ url: string; received: Received[]; close: () => Promise<void> }> {
  const received: Received[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      received.push({ headers: request.headers, body });
      response.writeHead(statuses[Math.min(received.length - 1, statuses.length - 1)]!).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/telemetry`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** What a receiver does: recompute the HMAC over "<t>.<body>" and compare in constant time. */
function verify(secret: string, { headers, body }: Received): boolean {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(headers['x-telemetry-signature']));
  if (!match) return false;
  const expected = createHmac('sha256', secret).update(`${match[1]}.${body}`).digest();
  return timingSafeEqual(expected, Buffer.from(match[2]!, 'hex'));
}

describe('anomaly webhooks', () => {
  let server: TestServer;
  const receivers: Awaited<ReturnType<typeof receiver>>[] = [];

  beforeAll(async () => {
    // The receivers listen on 127.0.0.1, which production refuses (see the last test).
    server = await startTestServer({
      TELEMETRY_WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'on',
      TELEMETRY_WEBHOOK_POLL_MS: '50',
      TELEMETRY_WEBHOOK_RETRY_BASE_MS: '20',
      TELEMETRY_WEBHOOK_MAX_ATTEMPTS: '3',
    });
    for (const id of ['valve-1', 'valve-2']) await server.ok(RegisterDeviceDocument, { input: { id } });
    await server.ok(SetAnomalyRuleDocument, { input: { deviceId: 'valve-1', zScore: null, max: 10, severity: 'CRITICAL' } });
    await server.ok(SetAnomalyRuleDocument, { input: { deviceId: 'valve-2', zScore: null, max: 10, severity: 'WARNING' } });
  });
  afterAll(async () => {
    await server.close();
    await Promise.all(receivers.map((r) => r.close()));
  });

  it('delivers signed anomalies at or above each webhook severity, retries failures, and shows delivery status', async () => {
    const healthy = await receiver([204]);
    const flaky = await receiver([500, 503, 200]);
    const broken = await receiver([500]);
    receivers.push(healthy, flaky, broken);
    const created: CreateWebhookMutation['createWebhook'][] = [];
    for (const [target, minSeverity] of [
      [healthy, 'CRITICAL'],
      [flaky, 'WARNING'],
      [broken, 'WARNING'],
    ] as const) {
      created.push((await server.ok(CreateWebhookDocument, { input: { url: target.url, minSeverity } })).createWebhook);
    }
    expect(created[0]!.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);

    const now = Date.now() - 5000;
    await server.ok(IngestReadingsDocument, {
      readings: [
        { deviceId: 'valve-1', timestamp: new Date(now).toISOString(), metrics: [{ name: 'flow', value: 50 }] },
        { deviceId: 'valve-2', timestamp: new Date(now).toISOString(), metrics: [{ name: 'flow', value: 20 }] },
      ],
    });

    const deliveries = async () => Object.fromEntries((await server.ok(WebhooksDocument, { first: 10 })).webhooks.map((w) => [w.id, w.deliveries]));
    const settled = await eventually(
      async () => {
        const all = await deliveries();
        const states = Object.values(all)
          .flat()
          .map((d) => d.status);
        return states.length === 5 && !states.includes('PENDING') ? all : undefined;
      },
      15_000,
      'deliveries settled',
    );

    // The CRITICAL-only webhook got the CRITICAL anomaly only, signed with its own secret.
    expect(settled[created[0]!.webhook.id]).toEqual([
      expect.objectContaining({ status: 'DELIVERED', attempts: 1, lastStatusCode: 204, lastError: null, nextAttemptAt: null }),
    ]);
    expect(healthy.received).toHaveLength(1);
    expect(verify(created[0]!.secret, healthy.received[0]!)).toBe(true);
    expect(verify(created[1]!.secret, healthy.received[0]!)).toBe(false);
    expect(JSON.parse(healthy.received[0]!.body)).toMatchObject({
      type: 'anomaly.detected',
      anomaly: { deviceId: 'valve-1', kind: 'THRESHOLD', severity: 'CRITICAL', value: 50, expectedMax: 10 },
    });

    // The flaky one succeeded on its third attempt, for both anomalies.
    expect(settled[created[1]!.webhook.id]!.map((d) => [d.status, d.attempts])).toEqual([
      ['DELIVERED', expect.any(Number)],
      ['DELIVERED', expect.any(Number)],
    ]);
    expect(settled[created[1]!.webhook.id]!.reduce((sum, d) => sum + d.attempts, 0)).toBe(4);
    expect(flaky.received.every((r) => verify(created[1]!.secret, r))).toBe(true);

    // The broken one gave up after the configured three attempts, with the reason.
    expect(settled[created[2]!.webhook.id]!.map((d) => [d.status, d.attempts, d.lastStatusCode, d.lastError])).toEqual([
      ['FAILED', 3, 500, 'HTTP 500'],
      ['FAILED', 3, 500, 'HTTP 500'],
    ]);
    expect(broken.received).toHaveLength(6);

    expect(await server.ok(DeleteWebhookDocument, { id: created[2]!.webhook.id })).toEqual({ deleteWebhook: true });
    expect((await server.gql(DeleteWebhookDocument, { id: created[2]!.webhook.id })).errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('tells a webhook of an anomaly once: when it opens at the webhook severity, or when a later trigger escalates it there', async () => {
    await server.ok(RegisterDeviceDocument, { input: { id: 'valve-3' } });
    await server.ok(SetAnomalyRuleDocument, { input: { deviceId: 'valve-3', zScore: null, max: 10, severity: 'WARNING' } });
    const critical = await receiver([204]);
    const warning = await receiver([204]);
    receivers.push(critical, warning);
    const hooks: string[] = [];
    for (const [target, minSeverity] of [
      [critical, 'CRITICAL'],
      [warning, 'WARNING'],
    ] as const) {
      hooks.push((await server.ok(CreateWebhookDocument, { input: { url: target.url, minSeverity } })).createWebhook.webhook.id);
    }
    const start = Date.now() - 10_000;
    const ingest = (second: number, value: number) =>
      server.ok(IngestReadingsDocument, {
        readings: [{ deviceId: 'valve-3', timestamp: new Date(start + second * 1000).toISOString(), metrics: [{ name: 'flow', value }] }],
      });
    const bodies = (target: Awaited<ReturnType<typeof receiver>>) =>
      target.received.map((r) => JSON.parse(r.body) as { anomaly: Record<string, unknown> }).filter((body) => body.anomaly['deviceId'] === 'valve-3');

    await ingest(0, 20); // opens a WARNING anomaly: the WARNING webhook is told
    const [opened] = await eventually(() => (bodies(warning).length >= 1 ? bodies(warning) : undefined), 15_000, 'the WARNING webhook told');
    await ingest(1, 30); // a second WARNING trigger updates it: nobody is told
    // The rule changes only once that trigger is applied (a rule applies to values stored after it).
    await eventually(
      async () => ((await server.ok(AnomaliesDocument, { filter: { deviceId: 'valve-3' } })).anomalies.edges[0]?.node.occurrences === 2 ? true : undefined),
      15_000,
      'the second trigger applied',
    );
    await server.ok(SetAnomalyRuleDocument, { input: { deviceId: 'valve-3', zScore: null, max: 10, severity: 'CRITICAL' } });
    await ingest(2, 40); // a CRITICAL trigger escalates it: the CRITICAL webhook is told, of the anomaly as it is
    const [escalated] = await eventually(() => (bodies(critical).length >= 1 ? bodies(critical) : undefined), 15_000, 'the CRITICAL webhook told');
    expect(escalated!.anomaly).toMatchObject({ id: opened!.anomaly['id'], severity: 'CRITICAL', status: 'OPEN', occurrences: 3, value: 20, lastValue: 40 });
    // Deliveries are queued in the transaction of the change: the escalation's is there, so every earlier one is.
    const deliveries = (await server.ok(WebhooksDocument, { first: 100 })).webhooks.filter((w) => hooks.includes(w.id));
    expect(deliveries.map((w) => w.deliveries.filter((d) => d.anomalyId === opened!.anomaly['id']).length)).toEqual([1, 1]);
  });

  it.each([
    ['another scheme', 'ftp://example.com/hook'],
    ['not a URL', 'not a url'],
    ['credentials in the URL', 'https://user:pass@example.com/hook'],
    ['a URL over 2048 characters', `https://example.com/${'a'.repeat(2100)}`],
  ])('refuses a webhook url with %s', async (_label, url) => {
    const response = await server.gql(CreateWebhookDocument, { input: { url } });
    expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'url' });
  });

  it('refuses webhooks to loopback, private, link-local and other special-purpose addresses, however spelt, when private networks are not allowed (the default)', async () => {
    const strict = await startTestServer();
    try {
      for (const url of [
        'http://127.0.0.1:8080/hook',
        'http://localhost/hook',
        'http://localhost./hook',
        'http://169.254.169.254/opc/v2/instance/',
        'http://[::1]/hook',
        'https://10.0.0.7/hook',
        'http://api.localhost/hook',
        // Disguises: other spellings of IPv4 (WHATWG URL parsing normalises them), and IPv6 addresses embedding a private IPv4 one.
        'http://2130706433/hook',
        'http://0177.0.0.1/hook',
        'http://0x7f.1/hook',
        'http://0xa9.0xfe.0xa9.0xfe/opc/v2/instance/',
        'http://[::ffff:127.0.0.1]/hook',
        'http://[::127.0.0.1]/hook',
        'http://[2002:a9fe:a9fe::1]/opc/v2/instance/',
        'http://[64:ff9b::169.254.169.254]/opc/v2/instance/',
        'http://[2001:0:4136:e378:8000:63bf:5601:5601]/opc/v2/instance/',
        'http://192.88.99.1/hook',
      ]) {
        const response = await strict.gql(CreateWebhookDocument, { input: { url } });
        expect({ url, error: response.errors?.[0] }).toMatchObject({
          url,
          error: {
            message: expect.stringMatching(/public address.*TELEMETRY_WEBHOOK_ALLOW_PRIVATE_NETWORKS=on$/),
            extensions: { code: 'BAD_USER_INPUT', field: 'url' },
          },
        });
      }
      expect((await strict.gql(CreateWebhookDocument, { input: { url: 'https://hooks.example.com/telemetry' } })).errors).toBeUndefined();
      expect((await strict.gql(CreateWebhookDocument, { input: { url: 'https://[2606:4700::1111]/telemetry' } })).errors).toBeUndefined();
    } finally {
      await strict.close();
    }
  });
});
