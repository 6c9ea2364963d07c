import type { Client } from 'graphql-ws';
import { connect } from '../support/ws-client';
import { startTestServer, type TestServer } from '../support/server';
import {
  deepNesting,
  doublingFragments,
  fragmentChain,
  fragmentCycle,
  manyAliases,
  manyDirectives,
  manyFragments,
  manyTokens,
  repeatedFields,
} from '../support/adversarial-documents';

/**
 * One request must not stall the server: documents built to make validation or cost
 * exponential or quadratic are refused (or answered) promptly, over HTTP and WebSocket,
 * while a simple query sent at the same time is answered.
 *
 * The only time bound is generous on purpose (5 s, on a shared 2-core machine that may run a whole
 * test suite and other jobs beside: 1 s was once missed by 98 ms under such load): each of these
 * takes milliseconds when the checks are linear, and seconds to hours when they are not
 * (22 doubling fragments took 7 s, and each one more doubles it). The work itself is counted,
 * not timed, in test/unit/query-limits.test.ts.
 */

const BOUND_MS = 5000;

interface Case {
  readonly name: string;
  readonly query: string;
  /** The code of the first error, or 'DATA' for a correct answer. */
  readonly code: 'GRAPHQL_PARSE_FAILED' | 'GRAPHQL_VALIDATION_FAILED' | 'DATA';
  readonly message?: RegExp;
}

const CASES: Case[] = [
  {
    name: '22 fragments each spreading the next twice',
    query: doublingFragments(22),
    code: 'GRAPHQL_VALIDATION_FAILED',
    message: /selections once its fragments are spread/,
  },
  {
    name: '30 fragments each spreading the next twice',
    query: doublingFragments(30),
    code: 'GRAPHQL_VALIDATION_FAILED',
    message: /selections once its fragments are spread/,
  },
  {
    name: '40 fragments each spreading the next twice',
    query: doublingFragments(40),
    code: 'GRAPHQL_VALIDATION_FAILED',
    message: /nests selection sets more than 40 deep/,
  },
  { name: '3 fragments each spreading the next twice (answered)', query: doublingFragments(3), code: 'DATA' },
  { name: 'a chain of 2,400 fragments', query: fragmentChain(2400), code: 'GRAPHQL_VALIDATION_FAILED', message: /nests selection sets more than 40 deep/ },
  { name: '1,500 distinct fragments spread together', query: manyFragments(1500), code: 'GRAPHQL_VALIDATION_FAILED', message: /same fields too many times/ },
  { name: 'a fragment cycle', query: fragmentCycle, code: 'GRAPHQL_VALIDATION_FAILED', message: /within itself/ },
  { name: '10,000 nested fields', query: deepNesting(10_000), code: 'GRAPHQL_PARSE_FAILED', message: /nests brackets more than 40 deep/ },
  { name: '5,000 aliases', query: manyAliases(5000), code: 'GRAPHQL_VALIDATION_FAILED', message: /more than 100 aliases/ },
  { name: '5,000 directives on one field', query: manyDirectives(5000), code: 'GRAPHQL_VALIDATION_FAILED', message: /Unknown directive "@a"/ },
  { name: '1,000 copies of one nested field', query: repeatedFields(1000), code: 'GRAPHQL_VALIDATION_FAILED', message: /same fields too many times/ },
  { name: '100,000 tokens', query: manyTokens(100_000), code: 'GRAPHQL_PARSE_FAILED', message: /more th(?:an|at) 20000 tokens/ },
];

interface Outcome {
  readonly code: string;
  readonly message: string;
  readonly data?: unknown;
  readonly ms: number;
}

describe('adversarial documents do not stall the server', () => {
  let server: TestServer;
  let client: Client;
  beforeAll(async () => {
    server = await startTestServer();
    client = connect(server.app.wsUrl, server.adminKey);
  });
  afterAll(async () => {
    await client.dispose();
    await server.close();
  });

  const timed = async (run: () => Promise<Omit<Outcome, 'ms'>>): Promise<Outcome> => {
    const started = Date.now();
    const outcome = await run();
    return { ...outcome, ms: Date.now() - started };
  };

  const overHttp = (query: string) =>
    timed(async () => {
      const response = await fetch(server.app.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${server.adminKey}` },
        body: JSON.stringify({ query }),
      });
      const body = (await response.json()) as { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] };
      const error = body.errors?.[0];
      expect(response.status).toBe(error ? 400 : 200);
      return error ? { code: String(error.extensions?.code), message: error.message } : { code: 'DATA', message: '', data: body.data };
    });

  const overWebSocket = (query: string) =>
    timed(
      () =>
        new Promise((resolve) => {
          let data: unknown;
          client.subscribe(
            { query },
            {
              next: (value) => (data = value.data),
              error: (errors) => {
                // An array of GraphQL errors for this operation; anything else means the socket closed.
                if (!Array.isArray(errors)) {
                  resolve({ code: 'SOCKET_CLOSED', message: String((errors as { code?: number }).code) });
                  return;
                }
                const first = errors[0] as { message: string; extensions?: { code?: string } };
                resolve({ code: String(first.extensions?.code), message: first.message });
              },
              complete: () => resolve({ code: 'DATA', message: '', data }),
            },
          );
        }),
    );

  const simpleQuery = () =>
    timed(async () => {
      const response = await fetch(server.app.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${server.adminKey}` },
        body: JSON.stringify({ query: '{ viewer { role } }' }),
      });
      return { code: 'DATA', message: '', data: ((await response.json()) as { data: unknown }).data };
    });

  const expectOutcome = (outcome: Outcome, testCase: Case) => {
    expect({ code: outcome.code, message: outcome.message }).toEqual({
      code: testCase.code,
      message: testCase.message ? expect.stringMatching(testCase.message) : '',
    });
    if (testCase.code === 'DATA') expect(outcome.data).toEqual({ viewer: { keyId: expect.any(String) } });
    expect(outcome.ms).toBeLessThan(BOUND_MS);
  };

  it.each(CASES.map((c) => [c.name, c] as const))('over HTTP: %s', async (_name, testCase) => {
    const [hostile, simple] = await Promise.all([overHttp(testCase.query), simpleQuery()]);
    expectOutcome(hostile, testCase);
    expect(simple.data).toEqual({ viewer: { role: 'ADMIN' } });
    expect(simple.ms).toBeLessThan(BOUND_MS);
  });

  it.each(CASES.map((c) => [c.name, c] as const))('over WebSocket: %s', async (_name, testCase) => {
    const [hostile, simple] = await Promise.all([overWebSocket(testCase.query), simpleQuery()]);
    expectOutcome(hostile, testCase);
    expect(simple.data).toEqual({ viewer: { role: 'ADMIN' } });
    expect(simple.ms).toBeLessThan(BOUND_MS);
  });
});
