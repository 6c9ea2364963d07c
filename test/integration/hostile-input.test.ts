import WebSocket from 'ws';
import { IngestReadingDocument, ReadingsDocument, RegisterDeviceDocument } from '../generated/graphql';
import { eventually, startTestServer, type TestServer } from '../support/server';

/**
 * Hostile input, table-driven per entry point. Each case gets its precise status and code;
 * afterwards the server still serves and the database holds exactly the one valid reading
 * each table sends.
 */

const INGEST = 'mutation($r: [ReadingInput!]!) { ingestReadings(readings: $r) { acceptedCount rejected { index code } } }';
const iso = (offsetMs = 0) => new Date(Date.now() - 60_000 + offsetMs).toISOString();

interface HttpCase {
  readonly name: string;
  readonly path: '/graphql' | '/ingest';
  readonly contentType?: string;
  readonly body: string | Buffer;
  readonly status: number;
  /** Expected code: of the first GraphQL error, of the plain-HTTP error, or of the first rejected item. */
  readonly code: string;
}

const gqlBody = (readings: unknown) => JSON.stringify({ query: INGEST, variables: { r: readings } });
const metric = (value: unknown) => [{ deviceId: 'probe-1', timestamp: iso(), metrics: [{ name: 'v', value }] }];

const HTTP_CASES: HttpCase[] = [
  { name: 'malformed JSON', path: '/graphql', body: '{"query": ', status: 400, code: 'BAD_USER_INPUT' },
  { name: 'a JSON array body', path: '/graphql', body: '[1,2]', status: 400, code: 'BAD_REQUEST' },
  { name: 'text/plain', path: '/graphql', contentType: 'text/plain', body: '{ viewer { role } }', status: 400, code: 'BAD_REQUEST' },
  { name: 'an invalid document', path: '/graphql', body: JSON.stringify({ query: '{ viewer { ' }), status: 200, code: 'GRAPHQL_PARSE_FAILED' },
  {
    name: 'a query deeper than the limit',
    path: '/graphql',
    body: JSON.stringify({ query: '{ devices { edges { node { latest { metric } } } } }' }),
    status: 200,
    code: 'GRAPHQL_VALIDATION_FAILED',
  },
  {
    name: 'a body over the size limit',
    path: '/graphql',
    body: JSON.stringify({ query: `{ viewer { role } } #${'x'.repeat(40_000)}` }),
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
  },
  { name: 'a batch over the limit', path: '/graphql', body: gqlBody(Array.from({ length: 11 }, () => metric(1)[0])), status: 200, code: 'PAYLOAD_TOO_LARGE' },
  {
    name: 'Infinity (1e400) as a value',
    path: '/graphql',
    body: gqlBody(metric(1)).replace('"value":1', '"value":1e400'),
    status: 200,
    code: 'BAD_USER_INPUT',
  },
  { name: 'a string as a value', path: '/graphql', body: gqlBody(metric('12')), status: 200, code: 'BAD_USER_INPUT' },
  { name: 'null as a value', path: '/graphql', body: gqlBody(metric(null)), status: 200, code: 'BAD_USER_INPUT' },
  { name: 'a huge finite value', path: '/graphql', body: gqlBody(metric(1.7e308)), status: 200, code: 'ACCEPTED' },
  {
    name: 'a malformed timestamp',
    path: '/graphql',
    body: gqlBody([{ deviceId: 'probe-1', timestamp: '2026-13-45T99:00:00Z', metrics: [{ name: 'v', value: 1 }] }]),
    status: 200,
    code: 'BAD_USER_INPUT',
  },
  {
    name: 'a timestamp beyond year 9999',
    path: '/graphql',
    body: gqlBody([{ deviceId: 'probe-1', timestamp: 8.64e15 + 1, metrics: [{ name: 'v', value: 1 }] }]),
    status: 200,
    code: 'BAD_USER_INPUT',
  },
  {
    name: 'a timestamp in 1970',
    path: '/graphql',
    body: gqlBody([{ deviceId: 'probe-1', timestamp: 0, metrics: [{ name: 'v', value: 1 }] }]),
    status: 200,
    code: 'TIMESTAMP_TOO_OLD',
  },
  {
    name: 'too many metrics',
    path: '/graphql',
    body: gqlBody([{ deviceId: 'probe-1', timestamp: iso(), metrics: Array.from({ length: 33 }, (_, i) => ({ name: `m${i}`, value: i })) }]),
    status: 200,
    code: 'INVALID_METRIC_COUNT',
  },
  {
    name: 'a 1,000-character metric name',
    path: '/graphql',
    body: gqlBody([{ deviceId: 'probe-1', timestamp: iso(), metrics: [{ name: 'm'.repeat(1000), value: 1 }] }]),
    status: 200,
    code: 'INVALID_METRIC_NAME',
  },
  {
    name: 'a 1,000-character event id',
    path: '/graphql',
    body: gqlBody([{ ...metric(1)[0], eventId: 'e'.repeat(1000) }]),
    status: 200,
    code: 'INVALID_EVENT_ID',
  },
  // Invalid UTF-8 refuses the whole request: no byte of it is interpreted.
  {
    name: 'invalid UTF-8 in a device id',
    path: '/graphql',
    body: Buffer.concat([
      Buffer.from(gqlBody(metric(1)).split('probe-1')[0]!),
      Buffer.from([0x70, 0xc3, 0x28, 0xff]),
      Buffer.from(gqlBody(metric(1)).split('probe-1')[1]!),
    ]),
    status: 400,
    code: 'BAD_USER_INPUT',
  },
  {
    name: 'the one valid reading',
    path: '/graphql',
    body: gqlBody([{ deviceId: 'probe-1', timestamp: iso(1), metrics: [{ name: 'v', value: 42 }] }]),
    status: 200,
    code: 'ACCEPTED',
  },
  { name: 'malformed JSON', path: '/ingest', body: '{"deviceId": ', status: 400, code: 'BAD_USER_INPUT' },
  { name: 'wrong content type', path: '/ingest', contentType: 'application/xml', body: '<reading/>', status: 415, code: 'BAD_USER_INPUT' },
  { name: 'an empty array', path: '/ingest', body: '[]', status: 400, code: 'BAD_USER_INPUT' },
  {
    name: 'a body over the size limit',
    path: '/ingest',
    body: JSON.stringify(Array.from({ length: 300 }, () => ({ deviceId: 'probe-2', timestamp: iso(), metrics: { v: 1 }, pad: 'x'.repeat(100) }))),
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
  },
  {
    name: 'a batch over the limit',
    path: '/ingest',
    body: JSON.stringify(Array.from({ length: 11 }, () => ({ deviceId: 'probe-2', timestamp: iso(), metrics: { v: 1 } }))),
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
  },
  {
    name: 'NaN as a string',
    path: '/ingest',
    body: JSON.stringify({ deviceId: 'probe-2', timestamp: iso(), metrics: { v: 'NaN' } }),
    status: 422,
    code: 'INVALID_VALUE',
  },
  {
    name: 'Infinity (1e400)',
    path: '/ingest',
    body: '{"deviceId":"probe-2","timestamp":"' + iso() + '","metrics":{"v":1e400}}',
    status: 422,
    code: 'INVALID_VALUE',
  },
  {
    name: 'a malformed timestamp',
    path: '/ingest',
    body: JSON.stringify({ deviceId: 'probe-2', timestamp: 'yesterday', metrics: { v: 1 } }),
    status: 422,
    code: 'INVALID_TIMESTAMP',
  },
  {
    name: 'a nested object as metrics',
    path: '/ingest',
    body: JSON.stringify({ deviceId: 'probe-2', timestamp: iso(), metrics: { v: { deep: 1 } } }),
    status: 422,
    code: 'INVALID_VALUE',
  },
  {
    name: 'another device (unknown)',
    path: '/ingest',
    body: JSON.stringify({ deviceId: 'nobody', timestamp: iso(), metrics: { v: 1 } }),
    status: 422,
    code: 'UNKNOWN_DEVICE',
  },
  {
    name: 'invalid UTF-8',
    path: '/ingest',
    body: Buffer.concat([Buffer.from('{"deviceId":"pr'), Buffer.from([0xc3, 0x28]), Buffer.from(`","timestamp":"${iso()}","metrics":{"v":1}}`)]),
    status: 400,
    code: 'BAD_USER_INPUT',
  },
  {
    name: 'the one valid reading',
    path: '/ingest',
    body: JSON.stringify({ deviceId: 'probe-2', timestamp: iso(2), metrics: { v: 7 } }),
    status: 202,
    code: 'ACCEPTED',
  },
];

describe('hostile input on every entry point', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ TELEMETRY_MAX_BATCH_SIZE: '10', TELEMETRY_MAX_BODY_BYTES: '30000', TELEMETRY_MAX_QUERY_DEPTH: '4' });
    for (const id of ['probe-1', 'probe-2']) await server.ok(RegisterDeviceDocument, { input: { id } });
  });
  afterAll(() => server.close());

  it.each(HTTP_CASES.map((c) => [`${c.path}: ${c.name}`, c] as const))('%s', async (_name, testCase) => {
    const response = await fetch(`${server.baseUrl}${testCase.path}`, {
      method: 'POST',
      headers: { 'content-type': testCase.contentType ?? 'application/json', authorization: `Bearer ${server.adminKey}` },
      body: testCase.body,
    });
    const text = await response.text();
    expect(text).not.toMatch(/\bat .+\.(js|ts):\d+/); // never a stack trace
    const body = JSON.parse(text) as {
      errors?: { extensions?: { code?: string } }[];
      error?: { code: string };
      data?: { ingestReadings?: { acceptedCount: number; rejected: { code: string }[] } } | null;
      acceptedCount?: number;
      rejected?: { code: string }[];
    };
    const code =
      body.errors?.[0]?.extensions?.code ??
      body.error?.code ??
      body.data?.ingestReadings?.rejected[0]?.code ??
      body.rejected?.[0]?.code ??
      ((body.data?.ingestReadings?.acceptedCount ?? body.acceptedCount) === 1 ? 'ACCEPTED' : 'NONE');
    expect({ status: response.status, code }).toEqual({ status: testCase.status, code: testCase.code });
  });

  it('stored exactly the valid readings of the table, and still serves', async () => {
    const stored = async (deviceId: string) =>
      (await server.ok(ReadingsDocument, { deviceId, metric: 'v', first: 100 })).readings.edges.map((e) => e.node.value);
    // A sentinel sent now is applied after everything the table got accepted for its device
    // (one partition, in order): once it is queryable, so is the rest.
    for (const deviceId of ['probe-1', 'probe-2']) {
      await server.ok(IngestReadingDocument, {
        reading: { deviceId, timestamp: new Date(Date.now() - 1000).toISOString(), metrics: [{ name: 'sentinel', value: 1 }] },
      });
      await eventually(
        async () => ((await server.ok(ReadingsDocument, { deviceId, metric: 'sentinel', first: 1 })).readings.edges.length === 1 ? true : undefined),
        15_000,
        `${deviceId}'s sentinel stored`,
      );
    }
    // probe-1: the huge finite value and the valid reading; probe-2: the valid reading.
    expect((await stored('probe-1')).sort()).toEqual([1.7e308, 42].sort());
    expect(await stored('probe-2')).toEqual([7]);
  });

  describe('WebSocket protocol violations', () => {
    /** Opens a raw socket, runs `script`, and resolves with the close code and reason. */
    const session = (script: (socket: WebSocket) => void, subprotocol = 'graphql-transport-ws') =>
      new Promise<{ code: number; reason: string; messages: string[] }>((resolve) => {
        const socket = new WebSocket(server.app.wsUrl, subprotocol);
        const messages: string[] = [];
        socket.on('message', (data) => messages.push((data as Buffer).toString())); // ws's default binaryType: Buffers
        socket.on('error', () => {}); // a refused handshake errors, then closes
        socket.once('open', () => script(socket));
        socket.once('close', (code, reason) => resolve({ code, reason: String(reason), messages }));
      });
    const init = (socket: WebSocket) => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${server.adminKey}` } }));
    const subscribeMessage = (id: string) =>
      JSON.stringify({ id, type: 'subscribe', payload: { query: 'subscription { readingAdded(deviceId: "probe-1") { eventId } }' } });

    it.each([
      ['a subscribe before connection_init', (s: WebSocket) => s.send(subscribeMessage('1')), 4401],
      ['a frame that is not JSON', (s: WebSocket) => s.send('{{{'), 4400],
      [
        'an unknown message type',
        (s: WebSocket) => {
          init(s);
          s.send(JSON.stringify({ type: 'explode' }));
        },
        4400,
      ],
      [
        'a second connection_init',
        (s: WebSocket) => {
          init(s);
          init(s);
        },
        4429,
      ],
      [
        'a duplicate operation id',
        (s: WebSocket) => {
          init(s);
          s.once('message', () => {
            s.send(subscribeMessage('same'));
            s.send(subscribeMessage('same'));
          });
        },
        4409,
      ],
      [
        'a frame over the size limit',
        (s: WebSocket) => {
          init(s);
          s.send('x'.repeat(40_000));
        },
        1009,
      ],
      ['no connection_init at all', () => {}, 4408],
      ['a wrong key', (s: WebSocket) => s.send(JSON.stringify({ type: 'connection_init', payload: { authorization: 'Bearer tk_wrong' } })), 4403],
    ] as const)('closes on %s', async (_name, script, code) => {
      const { code: closedWith } = await session(script);
      expect(closedWith).toBe(code);
    });

    it('refuses an unknown subprotocol at the handshake', async () => {
      // The server selects no subprotocol, so the client aborts the connection (1006).
      const { code } = await session(() => {}, 'graphql-ws');
      expect(code).toBe(1006);
    });
  });

  it('still serves after all of it', async () => {
    expect((await server.ok(ReadingsDocument, { deviceId: 'probe-2', metric: 'v' })).readings.edges).toHaveLength(1);
  });
});
