import {
  AggregatesDocument,
  CreateApiKeyDocument,
  IngestReadingsDocument,
  ReadingsDocument,
  RegisterDeviceDocument,
  RetentionDocument,
  SeriesDocument,
  SetRetentionDocument,
} from '../generated/graphql';
import { eventually, startTestServer, type TestServer } from '../support/server';

const HOUR = 3_600_000;
const DAY = 86_400_000;

describe('Retention through the API', () => {
  let server: TestServer;
  beforeAll(async () => {
    // A pass every second, ten rows per batch: many short transactions while ingest runs.
    server = await startTestServer({ TELEMETRY_RETENTION_INTERVAL_SECONDS: '1', TELEMETRY_RETENTION_BATCH_ROWS: '10' });
    await server.ok(RegisterDeviceDocument, { input: { id: 'boiler' } });
  });
  afterAll(() => server.close());

  it('answers the service defaults until an admin sets the tenant’s own, then those', async () => {
    const { retention } = await server.ok(RetentionDocument);
    expect(retention).toEqual({
      rawReadingsDays: 730,
      minuteRollupsDays: 730,
      hourRollupsDays: 730,
      dayRollupsDays: 3650,
      resolvedAnomaliesDays: 365,
      deadLettersDays: 30,
      webhookDeliveriesDays: 30,
      eventIdsDays: 7,
      overridden: [],
    });
    const { setRetention } = await server.ok(SetRetentionDocument, { input: { rawReadingsDays: 7, eventIdsDays: 2 } });
    expect(setRetention).toMatchObject({ rawReadingsDays: 7, eventIdsDays: 2, minuteRollupsDays: 730, overridden: ['RAW_READINGS', 'EVENT_IDS'] });
    expect((await server.ok(RetentionDocument)).retention).toEqual(setRetention);
  });

  it('refuses durations that are not positive, and rollups kept shorter than the finer level, naming the field', async () => {
    const negative = await server.gql(SetRetentionDocument, { input: { deadLettersDays: 0 } });
    expect(negative.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'deadLettersDays' });
    const shorter = await server.gql(SetRetentionDocument, { input: { rawReadingsDays: 5, minuteRollupsDays: 10, hourRollupsDays: 5 } });
    expect(shorter.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'hourRollupsDays' });
    expect(shorter.errors?.[0]?.message).toMatch(/hourRollupsDays \(5 days\) must be at least minuteRollupsDays \(10 days\)/);
    const belowRaw = await server.gql(SetRetentionDocument, { input: { rawReadingsDays: 800 } });
    expect(belowRaw.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'minuteRollupsDays' });
  });

  it('lets only admins read or change retention', async () => {
    const { createApiKey } = await server.ok(CreateApiKeyDocument, { input: { role: 'READER', label: 'dashboard' } });
    const read = await server.gql(RetentionDocument, undefined, createApiKey.secret);
    expect(read.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    const write = await server.gql(SetRetentionDocument, { input: { rawReadingsDays: 1 } }, createApiKey.secret);
    expect(write.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
  });

  it('keeps ingesting while retention runs: every reading inside the window stays, every one older goes, and older ones are refused', async () => {
    const now = Date.now();
    const recentFrom = now - DAY;
    const oldFrom = now - 3 * DAY;
    // Every page: the recent readings may pass one page's 1,000 before a pass runs.
    const count = async (from: number, to: number) => {
      let total = 0;
      let after: string | undefined;
      for (;;) {
        const { readings } = await server.ok(ReadingsDocument, {
          deviceId: 'boiler',
          metric: 'temperature',
          from: new Date(from).toISOString(),
          to: new Date(to).toISOString(),
          first: 1000,
          after,
        });
        total += readings.edges.length;
        if (!readings.pageInfo.hasNextPage) return total;
        after = readings.edges[readings.edges.length - 1]!.cursor;
      }
    };
    const reading = (at: number, value: number) => ({ deviceId: 'boiler', timestamp: new Date(at).toISOString(), metrics: [{ name: 'temperature', value }] });
    // Stored while the tenant keeps ten days, then the tenant keeps two: a pass removes them.
    await server.ok(SetRetentionDocument, { input: { rawReadingsDays: 10 } });
    const old = Array.from({ length: 200 }, (_, i) => reading(oldFrom + i * 1000, i));
    for (let i = 0; i < old.length; i += 100)
      expect((await server.ok(IngestReadingsDocument, { readings: old.slice(i, i + 100) })).ingestReadings.acceptedCount).toBe(100);
    await eventually(async () => ((await count(oldFrom, oldFrom + DAY)) === 200 ? true : undefined), 20_000, 'old readings stored');
    await server.ok(SetRetentionDocument, { input: { rawReadingsDays: 2 } });

    let sent = 0;
    let removalSeen = false;
    // Ingest rounds go on until a pass has removed the old readings, and ten rounds beyond, so
    // batches of the consumer and of retention interleave.
    for (let round = 0, extra = 10; extra > 0; round++) {
      const readings = [...Array.from({ length: 10 }, (_, i) => reading(recentFrom + (round * 10 + i) * 1000, i)), reading(oldFrom + 500, 1)];
      const { ingestReadings } = await server.ok(IngestReadingsDocument, { readings });
      // Older than the tenant keeps raw readings: refused, it would be counted again in the rollups.
      expect(ingestReadings.acceptedCount).toBe(10);
      expect(ingestReadings.rejected).toEqual([expect.objectContaining({ index: 10, code: 'TIMESTAMP_TOO_OLD' })]);
      sent += 10;
      if (!removalSeen) removalSeen = (await count(oldFrom, oldFrom + DAY)) === 0;
      if (removalSeen) extra--;
      if (round > 2000) throw new Error('no retention pass removed anything');
    }
    await eventually(
      async () => ((await count(recentFrom, recentFrom + DAY)) === sent && (await count(oldFrom, oldFrom + DAY)) === 0 ? true : undefined),
      20_000,
      'old readings gone, recent ones all stored',
    );
  });

  it('answers a range whose raw readings retention removed from the rollups that remain, and says so', async () => {
    // Stored while the tenant keeps 20 days; then minute rollups go after 5 days and hour
    // rollups stay 30: ten days back, only hours remain.
    await server.ok(SetRetentionDocument, { input: { rawReadingsDays: 20, minuteRollupsDays: 20, hourRollupsDays: 30 } });
    await server.ok(RegisterDeviceDocument, { input: { id: 'archive' } });
    const hourStart = Math.floor((Date.now() - 10 * DAY) / HOUR) * HOUR;
    const from = hourStart + 30 * 60_000;
    const readings = Array.from({ length: 120 }, (_, i) => ({
      deviceId: 'archive',
      timestamp: new Date(from + i * 60_000).toISOString(),
      metrics: [{ name: 'power', value: 1 }],
    }));
    expect((await server.ok(IngestReadingsDocument, { readings })).ingestReadings.acceptedCount).toBe(120);
    const range = { from: new Date(from).toISOString(), to: new Date(from + 2 * HOUR).toISOString() };
    await eventually(
      async () =>
        (await server.ok(ReadingsDocument, { deviceId: 'archive', metric: 'power', ...range, first: 1000 })).readings.edges.length === 120 ? true : undefined,
      20_000,
      'archive readings stored',
    );
    await server.ok(SetRetentionDocument, { input: { rawReadingsDays: 2, minuteRollupsDays: 5, hourRollupsDays: 30 } });
    // Once stored and then removed by a pass, the raw readings are gone; the hour rollups answer.
    const buckets = await eventually(
      async () => {
        const raw = await server.ok(ReadingsDocument, { deviceId: 'archive', metric: 'power', ...range, first: 1000 });
        const { aggregates } = await server.ok(AggregatesDocument, { deviceIds: ['archive'], metric: 'power', ...range, bucket: '1m' });
        const found = aggregates[0]!.buckets;
        const total = found.reduce((sum, bucket) => sum + bucket.count, 0);
        return raw.readings.edges.length === 0 && total === 120 ? found : undefined;
      },
      20_000,
      'raw readings removed and the hour rollups answering',
    );
    // Minute buckets over a range where only hours remain come back as the hours that cover it.
    expect(buckets.map((bucket) => [Date.parse(bucket.start) - hourStart, Date.parse(bucket.end) - hourStart, bucket.count, bucket.source])).toEqual([
      [0, HOUR, 30, 'ROLLUP_1H'],
      [HOUR, 2 * HOUR, 60, 'ROLLUP_1H'],
      [2 * HOUR, 3 * HOUR, 30, 'ROLLUP_1H'],
    ]);
    const { series } = await server.ok(SeriesDocument, { deviceId: 'archive', metric: 'power', ...range, points: 1000 });
    expect(series).toMatchObject({ source: 'ROLLUPS', totalPoints: 120 });
    expect(series.points.length).toBeGreaterThan(0);
  });
});
