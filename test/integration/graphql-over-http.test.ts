import { auditServer } from 'graphql-http';
import { startTestServer, type TestServer } from '../support/server';

describe('GraphQL over HTTP conformance (graphql-http server audits)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  it('passes all 61 audits with no warning and no notice', async () => {
    // The audits know nothing of authentication: every request carries the admin key.
    const fetchFn = (input: string, init: RequestInit = {}) =>
      fetch(input, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${server.adminKey}` } });
    const results = await auditServer({ url: server.app.url, fetchFn });
    const notOk = results
      .filter((result) => result.status !== 'ok')
      .map((result) => `${result.status} ${result.id} ${result.name}: ${'reason' in result ? result.reason : ''}`);
    expect(notOk).toEqual([]);
    expect(results).toHaveLength(61);
  });

  it('answers document errors with 200 to application/json clients and 400 to graphql-response+json clients', async () => {
    const send = (accept: string) =>
      fetch(server.app.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept, authorization: `Bearer ${server.adminKey}` },
        body: JSON.stringify({ query: '{ viewer { nope } }' }),
      });
    const legacy = await send('application/json');
    expect(legacy.status).toBe(200);
    expect(await legacy.json()).toMatchObject({ errors: [{ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] });
    const modern = await send('application/graphql-response+json');
    expect(modern.status).toBe(400);
    expect(modern.headers.get('content-type')).toMatch(/^application\/graphql-response\+json/);
    // A body that is not JSON is a bad HTTP request whatever the client accepts.
    const malformed = await fetch(server.app.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${server.adminKey}` },
      body: '{',
    });
    expect(malformed.status).toBe(400);
  });
});
