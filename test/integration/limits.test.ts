import { DevicesDocument, IngestReadingDocument, ReadingAddedDocument, RegisterDeviceDocument, ViewerDocument } from '../generated/graphql';
import { getIntrospectionQuery, parse } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { connect, subscribe } from '../support/ws-client';
import { startTestServer, type TestServer } from '../support/server';

/**
 * Raw GraphQL over HTTP, for documents the typed operations cannot express. It accepts the
 * GraphQL response type, so request errors come with status 400 (a client accepting only
 * application/json gets them with 200, as the GraphQL-over-HTTP specification asks).
 */
async function post(server: TestServer, query: string, variables?: object, key: string = server.adminKey) {
  const response = await fetch(server.app.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] },
  };
}

describe('limits on documents, rate and introspection', () => {
  describe('document shape', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ TELEMETRY_MAX_QUERY_COST: '500', TELEMETRY_MAX_ALIASES: '10', TELEMETRY_MAX_QUERY_TOKENS: '1000' });
      await server.ok(RegisterDeviceDocument, { input: { id: 'd1' } });
    });
    afterAll(() => server.close());

    it("answers GraphiQL's introspection query (graphql-js's standard one), which the depth limit refused", async () => {
      const { status, body } = await post(server, getIntrospectionQuery({ inputValueDeprecation: true, schemaDescription: true }));
      expect({ status, errors: body.errors }).toEqual({ status: 200, errors: undefined });
      const types = (body.data as { __schema: { types: { name: string }[] } }).__schema.types.map((type) => type.name);
      expect(types).toEqual(expect.arrayContaining(['Device', 'ReadingInput', 'Query', 'Mutation', 'Subscription']));
    });

    it('refuses an alias bomb', async () => {
      const query = `{ ${Array.from({ length: 11 }, (_, i) => `a${i}: viewer { keyId }`).join(' ')} }`;
      const { status, body } = await post(server, query);
      expect(status).toBe(400);
      expect(body.errors?.[0]).toMatchObject({
        message: 'the document uses more than 10 aliases',
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED', limit: 10 },
      });
      expect((await post(server, `{ ${Array.from({ length: 10 }, (_, i) => `a${i}: viewer { keyId }`).join(' ')} }`)).status).toBe(200);
    });

    it('refuses a document with too many tokens before parsing it all', async () => {
      const { status, body } = await post(server, `{ viewer { ${'keyId '.repeat(1200)} } }`);
      expect(status).toBe(400);
      // graphql-js spells it "more that"; match both in case it is fixed.
      expect(body.errors?.[0]).toMatchObject({ message: expect.stringMatching(/more th(?:an|at) 1000 tokens/), extensions: { code: 'GRAPHQL_PARSE_FAILED' } });
    });

    it('refuses an operation whose list sizes make it too costly, with its cost', async () => {
      const query = 'query($n: Int) { devices(first: $n) { edges { node { id name tags latest { metric value timestamp } } } } }';
      const costly = await post(server, query, { n: 100 });
      expect(costly.status).toBe(400);
      expect(costly.body.errors?.[0]?.extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', limit: 500, cost: expect.any(Number) });
      expect(costly.body.errors?.[0]?.extensions?.['cost']).toBeGreaterThan(500);
      expect((await post(server, query, { n: 10 })).status).toBe(200);
    });

    it('applies the same limits to WebSocket operations, as errors of that operation only', async () => {
      const client = connect(server.app.wsUrl, server.adminKey);
      const bomb = subscribe(client, ReadingAddedDocument, { deviceId: 'd1' });
      // A syntax error, an alias bomb and a token flood: each ends its operation, not the socket.
      const raw = (query: string) =>
        new Promise<unknown>((resolve) => client.subscribe({ query }, { next: () => {}, error: resolve, complete: () => resolve('complete') }));
      const syntax = (await raw('subscription { readingAdded(')) as { message: string; extensions: object }[];
      expect(syntax[0]).toMatchObject({ extensions: { code: 'GRAPHQL_PARSE_FAILED' } });
      const aliases = (await raw(`subscription { ${Array.from({ length: 11 }, (_, i) => `a${i}: readingAdded(deviceId: "d1") { eventId }`).join(' ')} }`)) as {
        extensions: object;
      }[];
      expect(aliases).toContainEqual(expect.objectContaining({ extensions: { code: 'GRAPHQL_VALIDATION_FAILED', limit: 10 } }));
      const tokens = (await raw(`subscription { readingAdded(deviceId: "d1") { ${'eventId '.repeat(1200)} } }`)) as { message: string }[];
      expect(tokens[0]!.message).toMatch(/more th(?:an|at) 1000 tokens/);
      // The first subscription is still alive on the same socket.
      await server.ok(IngestReadingDocument, {
        reading: { deviceId: 'd1', timestamp: new Date(Date.now() - 1000).toISOString(), metrics: [{ name: 'v', value: 1 }] },
      });
      await new Promise<void>((resolve, reject) => {
        const deadline = setTimeout(() => reject(new Error('no event')), 10_000);
        const poll = setInterval(() => {
          if (bomb.received.length > 0) {
            clearInterval(poll);
            clearTimeout(deadline);
            resolve();
          }
        }, 20);
      });
      await client.dispose();
    });
  });

  describe('rate per key', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ TELEMETRY_RATE_LIMIT_PER_SECOND: '2', TELEMETRY_RATE_LIMIT_BURST: '3' });
    });
    afterAll(() => server.close());

    /**
     * Sends with `send` until a 429 comes, at most 50 times. The bucket refills while requests
     * run (2/s here), so how many pass first depends on the machine's speed: the test bounds it
     * by the burst plus what the elapsed time refilled, instead of assuming a speed.
     */
    async function untilLimited<T extends { status: number }>(send: () => Promise<T>, admitted = [200]): Promise<{ passed: number; limited: T }> {
      const started = Date.now();
      for (let passed = 0; passed < 50; passed++) {
        const result = await send();
        if (result.status === 429) {
          const refilled = Math.ceil(((Date.now() - started) / 1000) * 2);
          expect(passed).toBeLessThanOrEqual(3 + refilled);
          return { passed, limited: result };
        }
        expect(admitted).toContain(result.status);
      }
      throw new Error('never rate-limited');
    }

    it('answers RATE_LIMITED with Retry-After over HTTP, on GraphQL and on /ingest, and recovers', async () => {
      const { passed, limited } = await untilLimited(() => post(server, '{ viewer { keyId } }'));
      expect(passed).toBeGreaterThanOrEqual(3); // the burst
      expect(limited.headers.get('retry-after')).toBe('1');
      expect(limited.body.errors?.[0]).toMatchObject({ extensions: { code: 'RATE_LIMITED', retryable: true, retryAfterSeconds: 1 } });

      const ingest = await untilLimited(
        () =>
          fetch(`${server.baseUrl}/ingest`, {
            method: 'POST',
            headers: { authorization: `Bearer ${server.adminKey}`, 'content-type': 'application/json' },
            body: '{}',
          }),
        [400, 422], // admitted, and refused for its empty reading
      );
      expect(ingest.limited.headers.get('retry-after')).toBe('1');
      expect(await ingest.limited.json()).toMatchObject({ error: { code: 'RATE_LIMITED', retryable: true } });

      // Waiting as long as Retry-After said is enough: the bucket has refilled by then.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      expect((await server.gql(ViewerDocument)).status).toBe(200);
    });

    it('counts other keys separately', async () => {
      // The test above ended on an admitted request after a 1.1 s refill (2 tokens): one is left.
      const reader = await server.ok(RegisterDeviceDocument, { input: { id: 'x1' } });
      await untilLimited(() => post(server, '{ viewer { keyId } }'));
      // The device key of x1 has its own, full bucket while the admin key's is empty.
      expect((await post(server, '{ viewer { role } }', undefined, reader.registerDevice.deviceKey)).status).toBe(200);
    });
  });

  describe('introspection off (production setting)', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ TELEMETRY_INTROSPECTION: 'off' });
    });
    afterAll(() => server.close());

    it('refuses introspection and drops field-name hints from errors', async () => {
      const introspection = await post(server, '{ __schema { types { name } } }');
      expect(introspection.status).toBe(400);
      expect(introspection.body.errors?.[0]?.extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED' });
      // The message says how to turn it on in this service, not which Apollo option to pass.
      expect(introspection.body.errors?.[0]?.message).toContain('TELEMETRY_INTROSPECTION');
      expect(introspection.body.errors?.[0]?.message).not.toMatch(/ApolloServer|introspection: true/);
      const typo = await post(server, '{ devics { edges { cursor } } }');
      expect(typo.body.errors?.[0]?.message).toBe('Cannot query field "devics" on type "Query".');
      expect((await server.gql(DevicesDocument, {})).status).toBe(200);
    });

    it('refuses introspection over WebSocket too', async () => {
      const client = connect(server.app.wsUrl, server.adminKey);
      try {
        const introspection = subscribe(client, parse('{ __schema { types { name } } }') as TypedDocumentNode<unknown, Record<string, never>>, {});
        const errors = (await introspection.finished) as { extensions?: Record<string, unknown> }[];
        expect(introspection.received).toEqual([]);
        expect(errors[0]?.extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED' });
      } finally {
        await client.dispose();
      }
    });
  });
});
