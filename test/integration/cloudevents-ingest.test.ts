import { ReadingsDocument, RegisterDeviceDocument } from '../generated/graphql';
import { eventually, startTestServer, type TestServer } from '../support/server';

/**
 * POST /ingest speaks the CloudEvents 1.0 HTTP binding: required attributes, the one reading
 * type, JSON data, UTF-8, one event per structured request, and binary content mode.
 */

const TYPE = 'io.telemetry.reading.v1';
const STRUCTURED = 'application/cloudevents+json';
const BATCH = 'application/cloudevents-batch+json';
const iso = (offsetMs = 0) => new Date(Date.now() - 60_000 + offsetMs).toISOString();

let sequence = 0;
/** A valid event for device ce-1; each call has a new id and instant. */
const event = (overrides: Record<string, unknown> = {}): Record<string, unknown> => {
  sequence++;
  return {
    specversion: '1.0',
    id: `ce-1-${sequence}`,
    source: '/devices/ce-1',
    type: TYPE,
    time: iso(sequence),
    data: { metrics: { v: sequence } },
    ...overrides,
  };
};
const without = (attribute: string) => {
  const { [attribute]: _removed, ...rest } = event();
  return rest;
};

interface IngestAnswer {
  readonly acceptedCount?: number;
  readonly accepted?: { index: number; eventId: string }[];
  readonly rejected?: { index: number; code: string; message: string }[];
  readonly error?: { code: string; message: string };
}

describe('POST /ingest speaks CloudEvents 1.0', () => {
  let server: TestServer;
  const post = async (body: string, headers: Record<string, string>) => {
    const response = await fetch(`${server.baseUrl}/ingest`, { method: 'POST', headers: { authorization: `Bearer ${server.adminKey}`, ...headers }, body });
    return { status: response.status, body: (await response.json()) as IngestAnswer };
  };

  beforeAll(async () => {
    server = await startTestServer();
    for (const id of ['ce-1', 'ce-bin', 'ce-bin-2']) await server.ok(RegisterDeviceDocument, { input: { id } });
  });
  afterAll(() => server.close());

  describe('per-item rejections, in structured mode and in a batch alike', () => {
    const CASES: readonly (readonly [string, unknown, string, string])[] = [
      ['no id', without('id'), 'MISSING_ATTRIBUTE', 'id is required'],
      ['no source', without('source'), 'MISSING_ATTRIBUTE', 'source is required'],
      ['no type', without('type'), 'MISSING_ATTRIBUTE', 'type is required'],
      ['no specversion (in a CloudEvents content type)', without('specversion'), 'MISSING_ATTRIBUTE', 'specversion is required'],
      ['an empty id', event({ id: '' }), 'INVALID_ATTRIBUTE', 'id must be a non-empty string'],
      ['a numeric id', event({ id: 42 }), 'INVALID_ATTRIBUTE', 'id must be a non-empty string'],
      ['a source that is not a URI-reference', event({ source: '/devices/ce 1' }), 'INVALID_ATTRIBUTE', 'URI-reference'],
      ['an empty subject', event({ subject: '' }), 'INVALID_ATTRIBUTE', 'subject must be a non-empty string'],
      ['a relative dataschema', event({ dataschema: 'schemas/reading' }), 'INVALID_ATTRIBUTE', 'dataschema must be an absolute URI'],
      ['another event type', event({ type: 'com.evil.other' }), 'UNSUPPORTED_EVENT_TYPE', `type must be "${TYPE}"`],
      ['datacontenttype application/xml', event({ datacontenttype: 'application/xml' }), 'UNSUPPORTED_DATA_CONTENT_TYPE', 'must declare JSON'],
      ['binary data (data_base64)', { ...without('data'), data_base64: 'AAEC' }, 'UNSUPPORTED_DATA_CONTENT_TYPE', 'data_base64'],
      ['specversion 0.3', event({ specversion: '0.3' }), 'INVALID_ENVELOPE', 'specversion must be "1.0"'],
      ['a time that does not exist', event({ time: '2026-02-30T00:00:00Z' }), 'INVALID_TIMESTAMP', 'February 2026 has no day 30'],
      ['epoch milliseconds as time (RFC 3339 only)', event({ time: Date.now() }), 'INVALID_TIMESTAMP', 'time must be an RFC 3339 date-time string'],
      ['data that is not an object', event({ data: [1, 2] }), 'INVALID_ENVELOPE', 'data must be a JSON object'],
      ['a plain reading', { deviceId: 'ce-1', timestamp: iso(), metrics: { v: 1 } }, 'MISSING_ATTRIBUTE', 'specversion is required'],
    ];

    it.each(CASES.map(([label, item, code, message]) => [label, code, message, item] as const))('%s: 422 %s', async (_label, code, message, item) => {
      const { status, body } = await post(JSON.stringify(item), { 'content-type': STRUCTURED });
      expect(status).toBe(422);
      expect(body.rejected).toEqual([{ index: 0, code, message: expect.stringContaining(message) }]);
    });

    it('each in a batch, next to a valid event that is stored', async () => {
      const valid = event();
      const { status, body } = await post(JSON.stringify([...CASES.map(([, item]) => item), valid]), { 'content-type': BATCH });
      expect(status).toBe(202);
      expect(body.rejected?.map((r) => [r.index, r.code])).toEqual(CASES.map(([, , code], index) => [index, code]));
      expect(body.accepted).toEqual([expect.objectContaining({ index: CASES.length, eventId: valid['id'] })]);
    });

    it('also for CloudEvents inside an application/json array, where items without specversion stay plain readings', async () => {
      const { status, body } = await post(
        JSON.stringify([without('id'), event({ type: 'com.evil.other' }), { deviceId: 'ce-1', timestamp: iso(), metrics: { v: 1 } }]),
        { 'content-type': 'application/json' },
      );
      expect(status).toBe(202);
      expect(body.rejected?.map((r) => [r.index, r.code])).toEqual([
        [0, 'MISSING_ATTRIBUTE'],
        [1, 'UNSUPPORTED_EVENT_TYPE'],
      ]);
      expect(body.accepted?.map((a) => a.index)).toEqual([2]);
    });
  });

  describe('whole-request errors', () => {
    it('refuses an array sent as application/cloudevents+json (one event): 400, batches have their own type', async () => {
      const { status, body } = await post(JSON.stringify([event(), event()]), { 'content-type': STRUCTURED });
      expect(status).toBe(400);
      expect(body.error).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining(BATCH) });
    });

    it.each([
      [`${STRUCTURED}; charset=utf-16`],
      [`${BATCH}; charset=UTF-16LE`],
      ['application/json; charset=iso-8859-1'],
      ['application/json; charset="utf-16"'],
    ])('refuses %s with 415: the body is read as UTF-8 only', async (contentType) => {
      const body = contentType.startsWith(BATCH) ? JSON.stringify([event()]) : JSON.stringify(event());
      const answer = await post(body, { 'content-type': contentType });
      expect(answer.status).toBe(415);
      expect(answer.body.error).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining('UTF-8') });
    });

    it.each([[`${STRUCTURED}; charset=utf-8`], [`${STRUCTURED};charset="UTF-8"`], ['application/json; charset=utf8']])('accepts %s', async (contentType) => {
      const { status } = await post(JSON.stringify(event()), { 'content-type': contentType });
      expect(status).toBe(202);
    });
  });

  it('accepts JSON data content types other than application/json (*/json, */*+json)', async () => {
    const items = [
      event({ datacontenttype: 'application/json; charset=utf-8' }),
      event({ datacontenttype: 'text/json' }),
      event({ datacontenttype: 'application/vnd.acme.reading+json' }),
    ];
    const { status, body } = await post(JSON.stringify(items), { 'content-type': BATCH });
    expect(status).toBe(202);
    expect(body.acceptedCount).toBe(3);
  });

  describe('binary content mode (ce-* headers, body = data)', () => {
    const binaryHeaders = (overrides: Record<string, string | undefined> = {}) => {
      sequence++;
      const headers: Record<string, string | undefined> = {
        'content-type': 'application/json',
        'ce-specversion': '1.0',
        'ce-id': `ce-bin-${sequence}`,
        'ce-source': '/devices/ce-bin',
        'ce-type': TYPE,
        'ce-time': iso(sequence),
        ...overrides,
      };
      return Object.fromEntries(Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined));
    };

    it('accepts an event as SDKs send it by default, and stores it under its id, device and time', async () => {
      const headers = binaryHeaders({ 'ce-time': '2026-11-30T12:34:56.789+01:00' });
      const { status, body } = await post(JSON.stringify({ metrics: { temperature: 21.5 } }), headers);
      expect(status).toBe(202);
      expect(body.accepted).toEqual([expect.objectContaining({ index: 0, eventId: headers['ce-id'] })]);
      const stored = await eventually(async () => {
        const page = await server.ok(ReadingsDocument, { deviceId: 'ce-bin', metric: 'temperature' });
        return page.readings.edges.length > 0 ? page.readings.edges.map((e) => e.node) : undefined;
      });
      expect(stored).toEqual([expect.objectContaining({ deviceId: 'ce-bin', value: 21.5, timestamp: '2026-11-30T11:34:56.789Z' })]);
    });

    it('percent-decodes header values (the device named by ce-subject; a source holding "%20")', async () => {
      const { status } = await post(
        JSON.stringify({ metrics: { humidity: 40 } }),
        binaryHeaders({ 'ce-source': '/gateways/g%25201', 'ce-subject': 'ce%2Dbin-2' }),
      );
      expect(status).toBe(202);
      const stored = await eventually(async () => {
        const page = await server.ok(ReadingsDocument, { deviceId: 'ce-bin-2', metric: 'humidity' });
        return page.readings.edges.length > 0 ? page.readings.edges.map((e) => e.node.value) : undefined;
      });
      expect(stored).toEqual([40]);
    });

    const BINARY_CASES: readonly (readonly [string, Record<string, string | undefined>, string, string])[] = [
      ['no ce-id', { 'ce-id': undefined }, 'MISSING_ATTRIBUTE', 'ce-id is required'],
      ['no ce-source', { 'ce-source': undefined }, 'MISSING_ATTRIBUTE', 'ce-source is required'],
      ['no ce-type', { 'ce-type': undefined }, 'MISSING_ATTRIBUTE', 'ce-type is required'],
      ['no ce-specversion', { 'ce-specversion': undefined }, 'MISSING_ATTRIBUTE', 'ce-specversion is required'],
      ['an empty ce-id', { 'ce-id': '' }, 'INVALID_ATTRIBUTE', 'ce-id must be a non-empty string'],
      ['another ce-type', { 'ce-type': 'com.evil.other' }, 'UNSUPPORTED_EVENT_TYPE', 'ce-type must be'],
      ['ce-specversion 0.3', { 'ce-specversion': '0.3' }, 'INVALID_ENVELOPE', 'ce-specversion must be "1.0"'],
      ['an impossible ce-time', { 'ce-time': '2026-04-31T12:00:00Z' }, 'INVALID_TIMESTAMP', 'April 2026 has no day 31'],
      ['a ce-datacontenttype header', { 'ce-datacontenttype': 'application/json' }, 'INVALID_ATTRIBUTE', 'ce-datacontenttype must not be sent'],
      ['a malformed percent-encoding', { 'ce-subject': 'ce-bin%E0%A4%A' }, 'INVALID_ATTRIBUTE', 'ce-subject is not valid percent-encoded UTF-8'],
    ];
    it.each(BINARY_CASES.map(([label, overrides, code, message]) => [label, code, message, overrides] as const))(
      'rejects an event with %s: 422 %s',
      async (_label, code, message, overrides) => {
        const { status, body } = await post(JSON.stringify({ metrics: { v: 1 } }), binaryHeaders(overrides));
        expect(status).toBe(422);
        expect(body.rejected).toEqual([{ index: 0, code, message: expect.stringContaining(message) }]);
      },
    );

    it('rejects data that is not JSON without parsing it (Content-Type is the datacontenttype)', async () => {
      const { status, body } = await post('<reading temperature="21.5"/>', binaryHeaders({ 'content-type': 'application/xml' }));
      expect(status).toBe(422);
      expect(body.rejected).toEqual([{ index: 0, code: 'UNSUPPORTED_DATA_CONTENT_TYPE', message: expect.stringContaining('Content-Type must declare JSON') }]);
    });

    it('rejects data that is JSON but not an object holding the reading', async () => {
      const { status, body } = await post('[21.5]', binaryHeaders());
      expect(status).toBe(422);
      expect(body.rejected?.[0]?.code).toBe('INVALID_ENVELOPE');
    });

    it('refuses a body that is not valid JSON as a whole: 400', async () => {
      const { status, body } = await post('{"metrics":', binaryHeaders());
      expect(status).toBe(400);
      expect(body.error?.code).toBe('BAD_USER_INPUT');
    });
  });
});
