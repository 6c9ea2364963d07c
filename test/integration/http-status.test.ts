import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_TENANT_ID } from '../../src/tenants/tenant-service';
import { createOciTestIdentity } from '../support/oci-test-auth';
import { startStreamingStandin, type StreamingStandin } from '../support/oci-streaming-standin';
import { startTestServer, type TestServer } from '../support/server';

/**
 * The HTTP status of every error code, for each Accept header, on /graphql and /ingest: the
 * table of docs/PROTOCOL.md §5, read from the document itself, each row provoked for real.
 * Three servers: one with small limits, one with a rate of one request per second, and one
 * on OCI Streaming (local stand-in) told to refuse a device's readings, so the stream
 * stores none of them (UNAVAILABLE).
 */

const MODERN = 'application/graphql-response+json';
const LEGACY = 'application/json';

interface Sent {
  readonly status: number;
  readonly retryAfter: string | null;
  /** The code of the first GraphQL error, of the plain `error`, or '—' when there is none. */
  readonly code: string;
  /** `retryAfterSeconds` of that error (GraphQL extensions or the plain `error`), when it has one. */
  readonly retryAfterSeconds?: unknown;
}

interface Servers {
  readonly main: TestServer;
  readonly limited: TestServer;
  readonly down: TestServer;
  /** A key of `main` whose role (device) may not register devices. */
  readonly deviceKey: string;
}

type Send = (servers: Servers, accept: string) => Promise<Sent>;

interface Row {
  readonly endpoint: string;
  readonly code: string;
  readonly when: string;
  readonly modern: string;
  readonly legacy: string;
  readonly send: Send;
}

const iso = () => new Date(Date.now() - 60_000).toISOString();

async function request(
  server: TestServer,
  pathname: string,
  init: { method?: string; accept: string; key?: string | null; contentType?: string; body?: unknown; raw?: string },
): Promise<Sent> {
  const response = await fetch(`${server.baseUrl}${pathname}`, {
    method: init.method ?? 'POST',
    headers: {
      accept: init.accept,
      ...(init.key === null ? {} : { authorization: `Bearer ${init.key ?? server.adminKey}` }),
      ...(init.body !== undefined || init.raw !== undefined ? { 'content-type': init.contentType ?? 'application/json' } : {}),
    },
    ...(init.raw !== undefined ? { body: init.raw } : init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await response.text();
  let code: string;
  let retryAfterSeconds: unknown;
  try {
    const body = JSON.parse(text) as {
      errors?: { extensions?: { code?: string; retryAfterSeconds?: unknown } }[];
      error?: { code?: string; retryAfterSeconds?: unknown };
    };
    code = body.errors?.[0]?.extensions?.code ?? body.error?.code ?? '—';
    retryAfterSeconds = body.errors?.[0]?.extensions?.retryAfterSeconds ?? body.error?.retryAfterSeconds;
  } catch {
    code = `not JSON: ${text.slice(0, 40)}`;
  }
  return { status: response.status, retryAfter: response.headers.get('retry-after'), code, retryAfterSeconds };
}

const graphql = (query: string, variables?: object, extra: object = {}) => ({ query, variables, ...extra });

/** Sends until the key's bucket is empty: at one request per second, the second in a row is refused. */
async function overTheRate(send: () => Promise<Sent>): Promise<Sent> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const sent = await send();
    if (sent.status === 429) return sent;
  }
  throw new Error('never rate limited');
}

const ROWS: Row[] = [
  {
    endpoint: '/graphql',
    code: '—',
    when: 'data, with or without field errors',
    modern: '200',
    legacy: '200',
    send: (s, accept) => request(s.main, '/graphql', { accept, body: graphql('{ viewer { role } }') }),
  },
  {
    endpoint: '/graphql',
    code: 'GRAPHQL_PARSE_FAILED',
    when: 'syntax error, too many tokens or nested brackets',
    modern: '400',
    legacy: '200',
    send: (s, accept) => request(s.main, '/graphql', { accept, body: graphql('{ viewer { ') }),
  },
  {
    endpoint: '/graphql',
    code: 'GRAPHQL_VALIDATION_FAILED',
    when: 'invalid document, over a document or cost limit',
    modern: '400',
    legacy: '200',
    send: (s, accept) => request(s.main, '/graphql', { accept, body: graphql('{ viewer { nope } }') }),
  },
  {
    endpoint: '/graphql',
    code: 'OPERATION_RESOLUTION_FAILURE',
    when: 'unknown `operationName`',
    modern: '400',
    legacy: '200',
    send: (s, accept) => request(s.main, '/graphql', { accept, body: graphql('query A { viewer { role } }', undefined, { operationName: 'B' }) }),
  },
  {
    endpoint: '/graphql',
    code: 'BAD_USER_INPUT',
    when: 'variables that do not fit their types',
    modern: '400',
    legacy: '200',
    send: (s, accept) => request(s.main, '/graphql', { accept, body: graphql('query($n: Int) { devices(first: $n) { edges { cursor } } }', { n: 'ten' }) }),
  },
  {
    endpoint: '/graphql',
    code: 'BAD_USER_INPUT',
    when: 'an argument refused during execution',
    modern: '200',
    legacy: '200',
    send: (s, accept) => request(s.main, '/graphql', { accept, body: graphql('{ devices(first: 100000) { edges { cursor } } }') }),
  },
  {
    endpoint: '/graphql',
    code: 'FORBIDDEN',
    when: "the key's role may not run the field",
    modern: '200',
    legacy: '200',
    send: (s, accept) =>
      request(s.main, '/graphql', { accept, key: s.deviceKey, body: graphql('mutation { registerDevice(input: { id: "x" }) { deviceKey } }') }),
  },
  {
    endpoint: '/graphql',
    code: 'NOT_FOUND',
    when: 'an unknown id',
    modern: '200',
    legacy: '200',
    send: (s, accept) => request(s.main, '/graphql', { accept, body: graphql('mutation { deleteAnomalyRule(id: "nope") }') }),
  },
  {
    endpoint: '/graphql',
    code: 'ALREADY_EXISTS',
    when: 'an id taken',
    modern: '200',
    legacy: '200',
    send: (s, accept) => request(s.main, '/graphql', { accept, body: graphql('mutation { registerDevice(input: { id: "d1" }) { deviceKey } }') }),
  },
  {
    endpoint: '/graphql',
    code: 'PAYLOAD_TOO_LARGE',
    when: 'a batch over `TELEMETRY_MAX_BATCH_SIZE`',
    modern: '200',
    legacy: '200',
    send: (s, accept) =>
      request(s.main, '/graphql', {
        accept,
        body: graphql('mutation($r: [ReadingInput!]!) { ingestReadings(readings: $r) { acceptedCount } }', {
          r: [1, 2, 3].map(() => ({ deviceId: 'd1', timestamp: iso(), metrics: [{ name: 'v', value: 1 }] })),
        }),
      }),
  },
  {
    endpoint: '/graphql',
    code: 'PERSISTED_QUERY_NOT_FOUND',
    when: 'an unknown persisted-query hash',
    modern: '200',
    legacy: '200',
    send: (s, accept) =>
      request(s.main, '/graphql', {
        accept,
        body: { extensions: { persistedQuery: { version: 1, sha256Hash: createHash('sha256').update(randomUUID()).digest('hex') } } },
      }),
  },
  {
    endpoint: '/graphql',
    code: 'BAD_REQUEST',
    when: 'a malformed request (here: a JSON array body)',
    modern: '400',
    legacy: '400',
    send: (s, accept) => request(s.main, '/graphql', { accept, body: [graphql('{ viewer { role } }')] }),
  },
  {
    endpoint: '/graphql',
    code: 'BAD_REQUEST',
    when: 'a subscription over HTTP',
    modern: '400',
    legacy: '400',
    send: (s, accept) => request(s.main, '/graphql', { accept, body: graphql('subscription { readingAdded(deviceId: "d1") { eventId } }') }),
  },
  {
    endpoint: '/graphql',
    code: 'BAD_REQUEST',
    when: 'a method other than GET and POST, or a mutation over GET',
    modern: '405',
    legacy: '405',
    send: (s, accept) => request(s.main, '/graphql', { accept, method: 'PUT', body: graphql('{ viewer { role } }') }),
  },
  {
    endpoint: '/graphql',
    code: 'BAD_USER_INPUT',
    when: 'a body that is not JSON (plain `error` body)',
    modern: '400',
    legacy: '400',
    send: (s, accept) => request(s.main, '/graphql', { accept, raw: '{"query": ' }),
  },
  {
    endpoint: '/graphql',
    code: 'PAYLOAD_TOO_LARGE',
    when: 'a body over `TELEMETRY_MAX_BODY_BYTES` (plain `error` body)',
    modern: '413',
    legacy: '413',
    send: (s, accept) => request(s.main, '/graphql', { accept, body: graphql(`{ viewer { role } } #${'x'.repeat(5000)}`) }),
  },
  {
    endpoint: '/graphql',
    code: 'UNAUTHENTICATED',
    when: 'no key, or an unknown one',
    modern: '401',
    legacy: '401',
    send: (s, accept) => request(s.main, '/graphql', { accept, key: 'tk_unknown', body: graphql('{ viewer { role } }') }),
  },
  {
    endpoint: '/graphql',
    code: 'RATE_LIMITED',
    when: "over the key's rate",
    modern: '429, `Retry-After`',
    legacy: '429, `Retry-After`',
    send: (s, accept) => overTheRate(() => request(s.limited, '/graphql', { accept, body: graphql('{ viewer { role } }') })),
  },
  {
    endpoint: '/graphql',
    code: 'UNAVAILABLE',
    when: 'the stream stored none of the readings',
    modern: '503, `Retry-After`',
    legacy: '503, `Retry-After`',
    send: (s, accept) =>
      request(s.down, '/graphql', {
        accept,
        body: graphql('mutation($r: ReadingInput!) { ingestReading(reading: $r) { acceptedCount } }', {
          r: { deviceId: 'down-1', timestamp: iso(), metrics: [{ name: 'v', value: 1 }] },
        }),
      }),
  },
  {
    endpoint: '/ingest',
    code: '—',
    when: 'at least one item accepted',
    modern: '202',
    legacy: '202',
    send: (s, accept) => request(s.main, '/ingest', { accept, body: { deviceId: 'd1', timestamp: iso(), metrics: { v: 1 } } }),
  },
  {
    endpoint: '/ingest',
    code: '—',
    when: 'every item rejected',
    modern: '422',
    legacy: '422',
    send: (s, accept) => request(s.main, '/ingest', { accept, body: { deviceId: 'nobody', timestamp: iso(), metrics: { v: 1 } } }),
  },
  {
    endpoint: '/ingest',
    code: 'BAD_USER_INPUT',
    when: 'a body that is not JSON, or an empty batch',
    modern: '400',
    legacy: '400',
    send: (s, accept) => request(s.main, '/ingest', { accept, raw: '[]' }),
  },
  {
    endpoint: '/ingest',
    code: 'BAD_USER_INPUT',
    when: 'a method other than POST',
    modern: '405',
    legacy: '405',
    send: (s, accept) => request(s.main, '/ingest', { accept, method: 'GET' }),
  },
  {
    endpoint: '/ingest',
    code: 'BAD_USER_INPUT',
    when: 'an unsupported content type',
    modern: '415',
    legacy: '415',
    send: (s, accept) => request(s.main, '/ingest', { accept, contentType: 'text/csv', raw: 'd1,1' }),
  },
  {
    endpoint: '/ingest',
    code: 'PAYLOAD_TOO_LARGE',
    when: 'a body or batch over its limit',
    modern: '413',
    legacy: '413',
    send: (s, accept) => request(s.main, '/ingest', { accept, body: [1, 2, 3].map(() => ({ deviceId: 'd1', timestamp: iso(), metrics: { v: 1 } })) }),
  },
  {
    endpoint: '/ingest',
    code: 'UNAUTHENTICATED',
    when: 'no key, or an unknown one',
    modern: '401',
    legacy: '401',
    send: (s, accept) => request(s.main, '/ingest', { accept, key: null, body: {} }),
  },
  {
    endpoint: '/ingest',
    code: 'RATE_LIMITED',
    when: "over the key's rate",
    modern: '429, `Retry-After`',
    legacy: '429, `Retry-After`',
    send: (s, accept) => overTheRate(() => request(s.limited, '/ingest', { accept, body: {} })),
  },
  {
    endpoint: '/ingest',
    code: 'UNAVAILABLE',
    when: 'the stream stored none of the readings',
    modern: '503, `Retry-After`',
    legacy: '503, `Retry-After`',
    send: (s, accept) => request(s.down, '/ingest', { accept, body: { deviceId: 'down-1', timestamp: iso(), metrics: { v: 1 } } }),
  },
  {
    endpoint: 'other paths',
    code: 'NOT_FOUND',
    when: 'no such route',
    modern: '404',
    legacy: '404',
    send: (s, accept) => request(s.main, '/graphq', { accept, method: 'GET' }),
  },
];

/** The rows of the status table in docs/PROTOCOL.md, cells without their backticks around endpoint and code. */
function documentedRows(): Omit<Row, 'send'>[] {
  const text = readFileSync(path.join(__dirname, '..', '..', '..', 'docs', 'PROTOCOL.md'), 'utf8');
  const start = text.indexOf('<!-- status table: read by test/integration/http-status.test.ts -->');
  expect(start).toBeGreaterThan(0);
  const lines = text.slice(start).split('\n').slice(1);
  const table = lines
    .slice(
      0,
      lines.findIndex((line) => !line.startsWith('|')),
    )
    .slice(2);
  return table.map((line) => {
    const [endpoint, code, when, modern, legacy] = line.split(' | ').map((cell) => cell.replace(/^\| /, '').replace(/ \|$/, ''));
    const bare = (cell: string) => cell.replace(/^`(.*)`$/, '$1');
    return { endpoint: bare(endpoint!), code: bare(code!), when: when!, modern: modern!, legacy: legacy! };
  });
}

describe('HTTP status by error code and Accept header (docs/PROTOCOL.md §5)', () => {
  let servers: Servers;
  let standin: StreamingStandin | undefined;
  const started: TestServer[] = [];
  const start = async (env: Record<string, string>) => {
    const server = await startTestServer(env);
    started.push(server);
    return server;
  };
  const register = async (server: TestServer, id: string) => {
    const response = await fetch(server.app.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.adminKey}` },
      body: JSON.stringify({ query: `mutation { registerDevice(input: { id: "${id}" }) { deviceKey } }` }),
    });
    return ((await response.json()) as { data: { registerDevice: { deviceKey: string } } }).data.registerDevice.deviceKey;
  };
  beforeAll(async () => {
    const identity = createOciTestIdentity();
    standin = await startStreamingStandin({ partitions: 4, keyId: identity.keyId, publicKeyPem: identity.publicKeyPem });
    const main = await start({ TELEMETRY_MAX_BATCH_SIZE: '2', TELEMETRY_MAX_BODY_BYTES: '4096' });
    const limited = await start({ TELEMETRY_RATE_LIMIT_PER_SECOND: '1', TELEMETRY_RATE_LIMIT_BURST: '1' });
    const down = await start({
      TELEMETRY_STREAM: 'oci',
      TELEMETRY_PARTITIONS: '4',
      TELEMETRY_OCI_MESSAGES_ENDPOINT: standin.endpoint,
      TELEMETRY_OCI_READINGS_STREAM_OCID: 'ocid1.stream.oc1.eu-frankfurt-1.readings',
      TELEMETRY_OCI_EVENTS_STREAM_OCID: 'ocid1.stream.oc1.eu-frankfurt-1.events',
      TELEMETRY_OCI_CONFIG_FILE: identity.configFile,
      TELEMETRY_OCI_PRODUCE_TIMEOUT_MS: '300',
    });
    const deviceKey = await register(main, 'd1');
    await register(down, 'down-1');
    // The stream refuses every reading of down-1 (partition key "<tenant>/<device>").
    standin.refuseEntriesWithKey(`${DEFAULT_TENANT_ID}/down-1`);
    servers = { main, limited, down, deviceKey };
  });
  afterAll(async () => {
    await Promise.all(started.map((server) => server.close()));
    await standin?.close();
  });

  it('documents exactly the rows this test checks', () => {
    expect(documentedRows()).toEqual(ROWS.map(({ send: _send, ...row }) => row));
  });

  describe.each([
    ['application/graphql-response+json', MODERN, 'modern'],
    ['application/json', LEGACY, 'legacy'],
  ] as const)('Accept: %s', (_name, accept, column) => {
    it.each(ROWS.map((row) => [`${row.endpoint} ${row.code}: ${row.when}`, row] as const))('%s', async (_title, row) => {
      const sent = await row.send(servers, accept);
      const expected = row[column];
      expect({ status: sent.status, code: sent.code }).toEqual({ status: Number.parseInt(expected, 10), code: row.code });
      if (expected.includes('Retry-After')) {
        expect(Number(sent.retryAfter)).toBeGreaterThanOrEqual(1);
        // The body says the same, for clients that read the body and not the headers.
        expect(sent.retryAfterSeconds).toBe(Number(sent.retryAfter));
      } else {
        expect(sent.retryAfter).toBeNull();
      }
    });
  });
});
