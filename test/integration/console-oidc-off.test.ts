import { startTestServer, type TestServer } from '../support/server';

/**
 * A node without OIDC sign-in (the default): the console asks GET /console/oidc on every load,
 * and "not configured" is an answer (204), not an error a browser logs; there is no token
 * exchange to forward to (404 NOT_FOUND, saying how to sign in instead).
 */
describe('GET /console/oidc without OIDC sign-in', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  it('answers 204 with no body to GET and HEAD', async () => {
    for (const method of ['GET', 'HEAD']) {
      const response = await fetch(`${server.baseUrl}/console/oidc`, { method });
      expect({ method, status: response.status, body: await response.text() }).toEqual({ method, status: 204, body: '' });
      expect(response.headers.get('cache-control')).toBe('no-store');
    }
  });

  it('refuses the token exchange with NOT_FOUND, saying how to sign in', async () => {
    const response = await fetch(`${server.baseUrl}/console/oidc/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: { code: 'NOT_FOUND', message: expect.stringContaining('sign in with an API key'), retryable: false } });
  });
});
