import {
  CreateApiKeyDocument,
  IngestReadingsDocument,
  ReadingsDocument,
  RegisterDeviceDocument,
  RetentionDocument,
  SetRetentionDocument,
} from '../generated/graphql';
import { eventually, startTestServer, type TestServer } from '../support/server';

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
      rawReadingsDays: 30,
      minuteRollupsDays: 90,
      hourRollupsDays: 730,
      dayRollupsDays: 3650,
      resolvedAnomaliesDays: 365,
      deadLettersDays: 30,
      webhookDeliveriesDays: 30,
      eventIdsDays: 7,
      overridden: [],
    });
    const { setRetention } = await server.ok(SetRetentionDocument, { input: { rawReadingsDays: 7, eventIdsDays: 2 } });
    expect(setRetention).toMatchObject({ rawReadingsDays: 7, eventIdsDays: 2, minuteRollupsDays: 90, overridden: ['RAW_READINGS', 'EVENT_IDS'] });
    expect((await server.ok(RetentionDocument)).retention).toEqual(setRetention);
  });

  it('refuses durations that are not positive, and rollups kept shorter than the finer level, naming the field', async () => {
    const negative = await server.gql(SetRetentionDocument, { input: { deadLettersDays: 0 } });
    expect(negative.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'deadLettersDays' });
    const shorter = await server.gql(SetRetentionDocument, { input: { rawReadingsDays: 5, minuteRollupsDays: 10, hourRollupsDays: 5 } });
    expect(shorter.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'hourRollupsDays' });
    expect(shorter.errors?.[0]?.message).toMatch(/hourRollupsDays \(5 days\) must be at least minuteRollupsDays \(10 days\)/);
    const belowRaw = await server.gql(SetRetentionDocument, { input: { rawReadingsDays: 100 } });
    expect(belowRaw.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'minuteRollupsDays' });
  });

  it('lets only admins read or change retention', async () => {
    const { createApiKey } = await server.ok(CreateApiKeyDocument, { input: { role: 'READER', label: 'dashboard' } });
    const read = await server.gql(RetentionDocument, undefined, createApiKey.secret);
    expect(read.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    const write = await server.gql(SetRetentionDocument, { input: { rawReadingsDays: 1 } }, createApiKey.secret);
    expect(write.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
  });

  it('keeps ingesting while retention runs: every reading inside the window stays, every one older goes', async () => {
    await server.ok(SetRetentionDocument, { input: { rawReadingsDays: 2 } });
    const now = Date.now();
    const recentFrom = now - DAY;
    const oldFrom = now - 3 * DAY;
    const count = async (from: number, to: number) =>
      (
        await server.ok(ReadingsDocument, {
          deviceId: 'boiler',
          metric: 'temperature',
          from: new Date(from).toISOString(),
          to: new Date(to).toISOString(),
          first: 1000,
        })
      ).readings.edges.length;
    let sent = 0;
    let removalSeen = false;
    // Ingest rounds go on until a pass has removed old readings, and ten rounds beyond, so
    // batches of the consumer and of retention interleave.
    for (let round = 0, extra = 10; extra > 0; round++) {
      const readings = Array.from({ length: 10 }, (_, i) => [
        { deviceId: 'boiler', timestamp: new Date(recentFrom + (round * 10 + i) * 1000).toISOString(), metrics: [{ name: 'temperature', value: i }] },
        { deviceId: 'boiler', timestamp: new Date(oldFrom + (round * 10 + i) * 1000).toISOString(), metrics: [{ name: 'temperature', value: i }] },
      ]).flat();
      const { ingestReadings } = await server.ok(IngestReadingsDocument, { readings });
      expect(ingestReadings.acceptedCount).toBe(20);
      sent += 10;
      // One device, one partition, applied in order: once round 1's recent readings are stored,
      // all of round 0 was; its old readings missing then means a pass removed them.
      if (!removalSeen && round >= 1 && (await count(recentFrom + 10_000, recentFrom + 20_000)) === 10) {
        removalSeen = (await count(oldFrom, oldFrom + 10_000)) === 0;
      }
      if (removalSeen) extra--;
      if (round > 2000) throw new Error('no retention pass removed anything');
    }
    await eventually(
      async () => ((await count(recentFrom, recentFrom + DAY)) === sent && (await count(oldFrom, oldFrom + DAY)) === 0 ? true : undefined),
      20_000,
      'old readings gone, recent ones all stored',
    );
  });
});
