import { AggregatesDocument, IngestReadingsDocument, ReadingsDocument, RegisterDeviceDocument, SeriesDocument } from '../generated/graphql';
import { eventually, startTestServer, type TestServer } from '../support/server';

/**
 * Impossible timestamps are refused on every entry point, never moved to a neighbouring
 * instant; possible ones keep the instant the client wrote, offset and all.
 */

/** The examples; `Date.parse` turned each into another day. */
const IMPOSSIBLE = [
  ['2026-02-30T00:00:00Z', 'February 2026 has no day 30'],
  ['2026-04-31T12:00Z', 'April 2026 has no day 31'],
  ['2026-01-01T24:00Z', 'hour 24 does not exist'],
  ['2026-02-29T00:00:00Z', 'February 2026 has no day 29'],
] as const;

describe('impossible timestamps are refused, never moved', () => {
  let server: TestServer;
  const ingest = (body: unknown, contentType = 'application/json') =>
    fetch(`${server.baseUrl}/ingest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.adminKey}`, 'content-type': contentType },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    // Every example would be a storable age: refusing them is the parser's doing, not the age rule's.
    // Old dates are accepted only within both the maximum age and the raw-readings retention.
    const century = '36500';
    server = await startTestServer({
      TELEMETRY_MAX_READING_AGE_DAYS: century,
      TELEMETRY_RETENTION_RAW_DAYS: century,
      TELEMETRY_RETENTION_MINUTE_ROLLUP_DAYS: century,
      TELEMETRY_RETENTION_HOUR_ROLLUP_DAYS: century,
      TELEMETRY_RETENTION_DAY_ROLLUP_DAYS: century,
    });
    await server.ok(RegisterDeviceDocument, { input: { id: 'clock-1' } });
  });
  afterAll(() => server.close());

  describe('GraphQL DateTime inputs', () => {
    it.each(IMPOSSIBLE)('ingestReadings refuses %s with BAD_USER_INPUT saying why', async (timestamp, reason) => {
      const result = await server.gql(IngestReadingsDocument, { readings: [{ deviceId: 'clock-1', timestamp, metrics: [{ name: 'v', value: 1 }] }] });
      expect(result.data ?? null).toBeNull();
      expect(result.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
      expect(result.errors?.[0]?.message).toContain(reason);
    });

    // graphql-js checks literals while validating the document, so Apollo codes them GRAPHQL_VALIDATION_FAILED.
    it.each(IMPOSSIBLE)('an inline literal %s fails document validation, saying why', async (timestamp, reason) => {
      const query = `mutation { ingestReading(reading: { deviceId: "clock-1", timestamp: "${timestamp}", metrics: [{ name: "v", value: 1 }] }) { acceptedCount } }`;
      const response = await fetch(`${server.baseUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${server.adminKey}` },
        body: JSON.stringify({ query }),
      });
      const body = (await response.json()) as { errors?: { message: string; extensions?: { code?: string } }[] };
      expect(body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(body.errors?.[0]?.message).toContain(reason);
    });

    it.each(IMPOSSIBLE)('readings, aggregates and series refuse %s as from or to', async (bad, reason) => {
      const results = await Promise.all([
        server.gql(ReadingsDocument, { deviceId: 'clock-1', metric: 'v', from: bad }),
        server.gql(ReadingsDocument, { deviceId: 'clock-1', metric: 'v', to: bad }),
        server.gql(AggregatesDocument, { deviceIds: ['clock-1'], metric: 'v', from: '2025-12-01T00:00:00Z', to: bad, bucket: '1d' }),
        server.gql(SeriesDocument, { deviceId: 'clock-1', metric: 'v', from: bad, to: '2026-06-01T00:00:00Z' }),
      ]);
      for (const result of results) {
        expect(result.data ?? null).toBeNull();
        expect(result.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
        expect(result.errors?.[0]?.message).toContain(reason);
      }
    });
  });

  describe('POST /ingest', () => {
    it('rejects each impossible timestamp of a batch with INVALID_TIMESTAMP, plain reading or CloudEvent time alike', async () => {
      const plain = IMPOSSIBLE.map(([timestamp]) => ({ deviceId: 'clock-1', timestamp, metrics: { v: 1 } }));
      const events = IMPOSSIBLE.map(([time], i) => ({
        specversion: '1.0',
        id: `clock-1-impossible-${i}`,
        source: '/devices/clock-1',
        type: 'io.telemetry.reading.v1',
        time,
        data: { metrics: { v: 1 } },
      }));
      const response = await ingest([...plain, ...events]);
      expect(response.status).toBe(422);
      const body = (await response.json()) as { acceptedCount: number; rejected: { index: number; code: string; message: string }[] };
      expect(body.acceptedCount).toBe(0);
      expect(body.rejected.map((r) => [r.index, r.code])).toEqual([...plain, ...events].map((_, index) => [index, 'INVALID_TIMESTAMP']));
      body.rejected.forEach((rejection, index) => expect(rejection.message).toContain(IMPOSSIBLE[index % IMPOSSIBLE.length]![1]));
    });
  });

  it('stores possible edge cases at exactly the instant written, whatever the entry point and offset', async () => {
    const viaGraphql = await server.ok(IngestReadingsDocument, {
      readings: [
        { deviceId: 'clock-1', timestamp: '2024-02-29T23:30:00-01:00', metrics: [{ name: 'edge', value: 1 }] },
        { deviceId: 'clock-1', timestamp: '2025-12-31T23:59:59.999Z', metrics: [{ name: 'edge', value: 2 }] },
      ],
    });
    expect(viaGraphql.ingestReadings.acceptedCount).toBe(2);
    const viaHttp = await ingest([
      { deviceId: 'clock-1', timestamp: '2026-04-30T12:00+05:30', metrics: { edge: 3 } },
      {
        specversion: '1.0',
        id: 'clock-1-edge-4',
        source: '/devices/clock-1',
        type: 'io.telemetry.reading.v1',
        time: '2026-03-01t00:00:00.0004z',
        data: { metrics: { edge: 4 } },
      },
    ]);
    expect(viaHttp.status).toBe(202);
    const stored = await eventually(async () => {
      const page = await server.ok(ReadingsDocument, { deviceId: 'clock-1', metric: 'edge', order: 'OLDEST_FIRST' });
      return page.readings.edges.length === 4 ? page.readings.edges.map((e) => [e.node.value, e.node.timestamp]) : undefined;
    });
    expect(stored).toEqual([
      [1, '2024-03-01T00:30:00.000Z'],
      [2, '2025-12-31T23:59:59.999Z'],
      [4, '2026-03-01T00:00:00.000Z'],
      [3, '2026-04-30T06:30:00.000Z'],
    ]);
  });
});
