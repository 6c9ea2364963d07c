import { createHash } from 'node:crypto';
import pino from 'pino';
import type { Client } from 'graphql-ws';
import * as loggerModule from '../../src/logger';
import { connect } from '../support/ws-client';
import { startTestServer, type TestServer } from '../support/server';

/**
 * Client mistakes are never internal errors: each gets its own documented code and status
 * (docs/PROTOCOL.md §5), and nothing is logged at error level, where the server reports its
 * own faults. The server's log is captured for that.
 */

interface Answer {
  readonly status: number;
  /** The code of every GraphQL error, or of the plain `error`. */
  readonly codes: readonly string[];
}

interface Case {
  readonly name: string;
  readonly send: (server: TestServer) => Promise<Answer>;
  readonly status: number;
  /** Every error carries this code. */
  readonly code: string;
  /** How many errors, when it matters. */
  readonly count?: number;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const INGEST = 'mutation($r: [ReadingInput!]!) { ingestReadings(readings: $r) { acceptedCount } }';

async function send(
  server: TestServer,
  init: { method?: string; search?: string; headers?: Record<string, string>; body?: string | Buffer; json?: unknown },
): Promise<Answer> {
  const response = await fetch(`${server.app.url}${init.search ?? ''}`, {
    method: init.method ?? 'POST',
    headers: {
      accept: 'application/graphql-response+json',
      authorization: `Bearer ${server.adminKey}`,
      ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}),
      ...init.headers,
    },
    ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : init.body !== undefined ? { body: init.body } : {}),
  });
  const text = await response.text();
  const body = JSON.parse(text) as { errors?: { extensions?: { code?: string } }[]; error?: { code: string } };
  return { status: response.status, codes: body.errors ? body.errors.map((error) => String(error.extensions?.code)) : body.error ? [body.error.code] : [] };
}

const CASES: Case[] = [
  // The three of the issue.
  {
    name: 'a subscription over HTTP POST',
    send: (s) => send(s, { json: { query: 'subscription { readingAdded(deviceId: "d1") { eventId } }' } }),
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    name: 'a persisted-query hash that does not match its query',
    send: (s) =>
      send(s, { json: { query: '{ viewer { role } }', extensions: { persistedQuery: { version: 1, sha256Hash: sha256('{ viewer { keyId } }') } } } }),
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    name: '60 invalid variable values (50 reported, then one saying so)',
    send: (s) => send(s, { json: { query: INGEST, variables: { r: Array.from({ length: 60 }, () => ({ deviceId: 'd1', timestamp: 'soon', metrics: [] })) } } }),
    status: 400,
    code: 'BAD_USER_INPUT',
    count: 51,
  },
  // Persisted queries.
  {
    name: 'an unknown persisted-query hash',
    send: (s) => send(s, { json: { extensions: { persistedQuery: { version: 1, sha256Hash: sha256('never sent') } } } }),
    status: 200,
    code: 'PERSISTED_QUERY_NOT_FOUND',
  },
  {
    name: 'a persisted-query version other than 1',
    send: (s) => send(s, { json: { query: '{ viewer { role } }', extensions: { persistedQuery: { version: 2, sha256Hash: sha256('{ viewer { role } }') } } } }),
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    name: 'a persisted-query extension that is not an object',
    send: (s) => send(s, { json: { query: '{ viewer { role } }', extensions: { persistedQuery: 'yes' } } }),
    status: 400,
    code: 'BAD_REQUEST',
  },
  // Operations.
  {
    name: 'a mutation over GET',
    send: (s) => send(s, { method: 'GET', search: `?query=${encodeURIComponent('mutation { registerDevice(input: { id: "g1" }) { deviceKey } }')}` }),
    status: 405,
    code: 'BAD_REQUEST',
  },
  {
    name: 'an unknown operationName',
    send: (s) => send(s, { json: { query: 'query A { viewer { role } }', operationName: 'B' } }),
    status: 400,
    code: 'OPERATION_RESOLUTION_FAILURE',
  },
  {
    name: 'several operations without operationName',
    send: (s) => send(s, { json: { query: 'query A { viewer { role } } query B { viewer { keyId } }' } }),
    status: 400,
    code: 'OPERATION_RESOLUTION_FAILURE',
  },
  {
    name: 'an operationName that is not a string',
    send: (s) => send(s, { json: { query: '{ viewer { role } }', operationName: 7 } }),
    status: 400,
    code: 'BAD_REQUEST',
  },
  // The body and the request.
  {
    name: 'a body that is not JSON',
    send: (s) => send(s, { headers: { 'content-type': 'application/json' }, body: '{"query": ' }),
    status: 400,
    code: 'BAD_USER_INPUT',
  },
  {
    name: 'a body that is not UTF-8',
    send: (s) => send(s, { headers: { 'content-type': 'application/json' }, body: Buffer.from([0x7b, 0xc3, 0x28, 0x7d]) }),
    status: 400,
    code: 'BAD_USER_INPUT',
  },
  {
    name: 'a text/plain body',
    send: (s) => send(s, { headers: { 'content-type': 'text/plain' }, body: '{ viewer { role } }' }),
    status: 400,
    code: 'BAD_REQUEST',
  },
  { name: 'no content type', send: (s) => send(s, { body: JSON.stringify({ query: '{ viewer { role } }' }) }), status: 400, code: 'BAD_REQUEST' },
  { name: 'a JSON array (a batch)', send: (s) => send(s, { json: [{ query: '{ viewer { role } }' }] }), status: 400, code: 'BAD_REQUEST' },
  { name: 'JSON null', send: (s) => send(s, { json: null }), status: 400, code: 'BAD_REQUEST' },
  { name: 'no query', send: (s) => send(s, { json: {} }), status: 400, code: 'BAD_REQUEST' },
  { name: 'an empty query', send: (s) => send(s, { json: { query: '' } }), status: 400, code: 'BAD_REQUEST' },
  { name: 'a query that is not a string', send: (s) => send(s, { json: { query: 42 } }), status: 400, code: 'BAD_REQUEST' },
  { name: 'variables that are an array', send: (s) => send(s, { json: { query: '{ viewer { role } }', variables: [1] } }), status: 400, code: 'BAD_REQUEST' },
  {
    name: 'variables that are a JSON string',
    send: (s) => send(s, { json: { query: '{ viewer { role } }', variables: '{}' } }),
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    name: 'extensions that are not an object',
    send: (s) => send(s, { json: { query: '{ viewer { role } }', extensions: 1 } }),
    status: 400,
    code: 'BAD_REQUEST',
  },
  { name: 'a PUT', send: (s) => send(s, { method: 'PUT', json: { query: '{ viewer { role } }' } }), status: 405, code: 'BAD_REQUEST' },
  { name: 'a GET without query', send: (s) => send(s, { method: 'GET' }), status: 400, code: 'BAD_REQUEST' },
  {
    name: 'a GET with variables that are not JSON',
    send: (s) => send(s, { method: 'GET', search: '?query=%7B%20viewer%20%7B%20role%20%7D%20%7D&variables=%7Bx' }),
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    name: 'an Accept with neither JSON type',
    send: (s) => send(s, { headers: { accept: 'text/csv' }, json: { query: '{ viewer { role } }' } }),
    status: 406,
    code: 'BAD_REQUEST',
  },
  {
    name: 'huge variables (a body over the limit)',
    send: (s) => send(s, { json: { query: INGEST, variables: { r: 'x'.repeat(70_000) } } }),
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
  },
  // Variables and values.
  {
    name: 'a variable of the wrong type',
    send: (s) => send(s, { json: { query: 'query($n: Int) { devices(first: $n) { edges { cursor } } }', variables: { n: 'ten' } } }),
    status: 400,
    code: 'BAD_USER_INPUT',
  },
  { name: 'a required variable missing', send: (s) => send(s, { json: { query: INGEST } }), status: 400, code: 'BAD_USER_INPUT' },
  {
    name: 'null for an argument that may not be null',
    send: (s) => send(s, { json: { query: 'query($n: Int) { devices(first: $n) { edges { cursor } } }', variables: { n: null } } }),
    status: 200,
    code: 'BAD_USER_INPUT',
  },
  {
    name: 'an integer literal over 32 bits',
    send: (s) => send(s, { json: { query: '{ devices(first: 99999999999) { edges { cursor } } }' } }),
    status: 400,
    code: 'GRAPHQL_VALIDATION_FAILED',
  },
  { name: 'a syntax error', send: (s) => send(s, { json: { query: '{ viewer { role }' } }), status: 400, code: 'GRAPHQL_PARSE_FAILED' },
];

/** Error-level lines of the server's log (pino level 50 and above). */
const errorLogs: string[] = [];

describe('client mistakes are never internal errors', () => {
  let server: TestServer;
  let client: Client;
  beforeAll(async () => {
    jest.spyOn(loggerModule, 'createLogger').mockImplementation((_level: string) =>
      pino(
        { level: 'warn' },
        {
          write: (line: string) => {
            if ((JSON.parse(line) as { level: number }).level >= 50) errorLogs.push(line);
          },
        },
      ),
    );
    server = await startTestServer({ TELEMETRY_MAX_BODY_BYTES: '65536' });
    client = connect(server.app.wsUrl, server.adminKey);
  });
  afterAll(async () => {
    await client.dispose();
    await server.close();
    jest.restoreAllMocks();
  });
  beforeEach(() => void errorLogs.splice(0));

  it.each(CASES.map((c) => [c.name, c] as const))('over HTTP: %s', async (_name, testCase) => {
    const answer = await testCase.send(server);
    expect(answer.codes).not.toContain('INTERNAL_SERVER_ERROR');
    expect({ status: answer.status, codes: [...new Set(answer.codes)] }).toEqual({ status: testCase.status, codes: [testCase.code] });
    if (testCase.count !== undefined) expect(answer.codes).toHaveLength(testCase.count);
    expect(errorLogs).toEqual([]);
  });

  /** Runs one operation over the WebSocket and returns the codes of its errors. */
  const overWebSocket = (payload: { query: string; variables?: Record<string, unknown>; operationName?: string }) =>
    new Promise<string[]>((resolve) => {
      const codes: string[] = [];
      client.subscribe(payload, {
        next: (value) => codes.push(...(value.errors ?? []).map((error) => String(error.extensions?.['code']))),
        error: (errors) =>
          resolve(
            Array.isArray(errors)
              ? errors.map((error: { extensions?: { code?: string } }) => String(error.extensions?.code))
              : [`closed ${(errors as { code?: number }).code}`],
          ),
        complete: () => resolve(codes),
      });
    });

  it.each([
    ['an unknown operationName', { query: 'query A { viewer { role } }', operationName: 'B' }, 'OPERATION_RESOLUTION_FAILURE', 1],
    ['several operations without operationName', { query: 'query A { viewer { role } } query B { viewer { keyId } }' }, 'OPERATION_RESOLUTION_FAILURE', 1],
    ['a variable of the wrong type', { query: 'query($n: Int) { devices(first: $n) { edges { cursor } } }', variables: { n: 'ten' } }, 'BAD_USER_INPUT', 1],
    [
      '60 invalid variable values',
      { query: INGEST, variables: { r: Array.from({ length: 60 }, () => ({ deviceId: 'd1', timestamp: 'soon', metrics: [] })) } },
      'BAD_USER_INPUT',
      51,
    ],
    [
      'null for an argument that may not be null',
      { query: 'query($n: Int) { devices(first: $n) { edges { cursor } } }', variables: { n: null } },
      'BAD_USER_INPUT',
      1,
    ],
  ] as const)('over WebSocket: %s', async (_name, payload, code, count) => {
    const codes = await overWebSocket(payload);
    expect(codes).toEqual(Array.from({ length: count }, () => code));
    expect(errorLogs).toEqual([]);
  });
});
