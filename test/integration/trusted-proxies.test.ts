import { randomUUID } from 'node:crypto';
import { recordingLogger } from '../support/logger';
import { eventually, newDataDir, startTestServer, type TestServer } from '../support/server';

/**
 * Behind an API Gateway every peer is the gateway: the service believes X-Forwarded-For and
 * X-Forwarded-Proto only from TELEMETRY_TRUSTED_PROXIES, so that its logs name the real client
 * and a client cannot put another address in them.
 */
describe('X-Forwarded-* from trusted proxies only', () => {
  /** Sends GET /healthz with `headers` and returns the access-log line of that request. */
  async function accessLogOf(server: TestServer, logger: ReturnType<typeof recordingLogger>, headers: Record<string, string>) {
    const requestId = randomUUID();
    const response = await fetch(`${server.baseUrl}/healthz`, { headers: { 'x-request-id': requestId, ...headers } });
    expect(response.status).toBe(200);
    return eventually(() => logger.lines.find((line) => line.fields['requestId'] === requestId)?.fields, 5000, 'the access log line');
  }

  describe('from a peer that is not a trusted proxy', () => {
    let server: TestServer;
    const logger = recordingLogger();
    beforeAll(async () => {
      server = await startTestServer({ TELEMETRY_ACCESS_LOG: 'on', TELEMETRY_TRUSTED_PROXIES: '10.0.0.0/8' }, newDataDir(), logger);
    });
    afterAll(() => server.close());

    it('ignores spoofed forwarding headers: the peer is the client', async () => {
      const fields = await accessLogOf(server, logger, { 'x-forwarded-for': '203.0.113.5', 'x-forwarded-proto': 'https' });
      expect(fields).toMatchObject({ client: '127.0.0.1', protocol: 'http' });
    });
  });

  describe('from a trusted proxy', () => {
    let server: TestServer;
    const logger = recordingLogger();
    beforeAll(async () => {
      // The test's own connection comes from loopback: here, loopback is the gateway.
      server = await startTestServer({ TELEMETRY_ACCESS_LOG: 'on', TELEMETRY_TRUSTED_PROXIES: '127.0.0.1/32, ::1' }, newDataDir(), logger);
    });
    afterAll(() => server.close());

    it('logs the client the proxy names, and how it connected', async () => {
      const fields = await accessLogOf(server, logger, { 'x-forwarded-for': '203.0.113.5', 'x-forwarded-proto': 'https' });
      expect(fields).toMatchObject({ client: '203.0.113.5', protocol: 'https' });
    });

    it('believes the chain only as far as trusted proxies vouch: what the client wrote itself is ignored', async () => {
      const fields = await accessLogOf(server, logger, { 'x-forwarded-for': '6.6.6.6, 203.0.113.5, 127.0.0.1' });
      expect(fields).toMatchObject({ client: '203.0.113.5', protocol: 'http' });
    });

    it('without forwarding headers, the proxy itself is the client', async () => {
      expect(await accessLogOf(server, logger, {})).toMatchObject({ client: '127.0.0.1' });
    });
  });
});
