import { AggregatePercentilesDocument, AggregatesDocument, IngestReadingsDocument, RegisterDeviceDocument, SeriesDocument } from '../generated/graphql';
import { eventually, startTestServer, type TestServer } from '../support/server';

const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

describe('time-series queries through GraphQL', () => {
  let server: TestServer;
  // Six whole hours ending at the last full hour: every reading is in the past.
  const start = Math.floor(Date.now() / HOUR) * HOUR - 6 * HOUR;
  const end = start + 6 * HOUR;

  beforeAll(async () => {
    server = await startTestServer();
    for (const id of ['pump-1', 'pump-2']) await server.ok(RegisterDeviceDocument, { input: { id } });
    // One reading a minute for six hours on pump-1 (value = minute index), nothing in hour 3;
    // pump-2 has one reading per hour.
    const readings = [];
    for (let minute = 0; minute < 360; minute++) {
      if (minute >= 180 && minute < 240) continue;
      readings.push({ deviceId: 'pump-1', timestamp: iso(start + minute * 60_000 + 500), metrics: [{ name: 'flow', value: minute }] });
    }
    for (let hour = 0; hour < 6; hour++)
      readings.push({ deviceId: 'pump-2', timestamp: iso(start + hour * HOUR), metrics: [{ name: 'flow', value: 1000 + hour }] });
    for (let i = 0; i < readings.length; i += 500) {
      const result = await server.ok(IngestReadingsDocument, { readings: readings.slice(i, i + 500) });
      expect(result.ingestReadings.rejectedCount).toBe(0);
    }
    await eventually(
      async () => {
        const { aggregates } = await server.ok(AggregatesDocument, {
          deviceIds: ['pump-1', 'pump-2'],
          metric: 'flow',
          from: iso(start),
          to: iso(end),
          bucket: '6h',
          plan: 'RAW',
        });
        return aggregates.reduce((sum, s) => sum + s.buckets.reduce((n, b) => n + b.count, 0), 0) === readings.length ? true : undefined;
      },
      15_000,
      'all readings stored',
    );
  });
  afterAll(() => server.close());

  it('answers hourly buckets from rollups, identical to a raw scan', async () => {
    const variables = { deviceIds: ['pump-1'], metric: 'flow', from: iso(start), to: iso(end), bucket: '1h' };
    const auto = await server.ok(AggregatesDocument, variables);
    const raw = await server.ok(AggregatesDocument, { ...variables, plan: 'RAW' });
    const buckets = auto.aggregates[0]!.buckets;
    expect(buckets.map((b) => b.source)).toEqual(['ROLLUP_1H', 'ROLLUP_1H', 'ROLLUP_1H', 'ROLLUP_1H', 'ROLLUP_1H']);
    expect(buckets[0]).toMatchObject({ start: iso(start), end: iso(start + HOUR), count: 60, min: 0, max: 59, first: 0, last: 59, sum: 1770, avg: 29.5 });
    expect(buckets[0]!.stddev).toBeCloseTo(Math.sqrt(305), 9); // sample variance of 0..59 is 60·61/12;
    const strip = (list: typeof buckets) => list.map(({ source, ...rest }) => rest);
    expect(strip(buckets)).toEqual(strip(raw.aggregates[0]!.buckets));
    expect(raw.aggregates[0]!.buckets.every((b) => b.source === 'RAW')).toBe(true);
  });

  it('fills the empty hour as asked', async () => {
    const base = { deviceIds: ['pump-1'], metric: 'flow', from: iso(start), to: iso(end), bucket: '1h' };
    const hour3 = (fill: 'NULL' | 'PREVIOUS' | 'LINEAR') => server.ok(AggregatesDocument, { ...base, fill }).then((r) => r.aggregates[0]!.buckets[3]!);
    expect(await hour3('NULL')).toMatchObject({ start: iso(start + 3 * HOUR), count: 0, avg: null, filled: false, source: null });
    expect(await hour3('PREVIOUS')).toMatchObject({ count: 0, avg: 149.5, last: 179, filled: true });
    // Halfway between hour 2 (avg 149.5) and hour 4 (avg 269.5).
    expect(await hour3('LINEAR')).toMatchObject({ count: 0, avg: 209.5, filled: true });
  });

  it('combines devices into one series, and computes percentiles from raw readings', async () => {
    const combined = await server.ok(AggregatesDocument, {
      deviceIds: ['pump-1', 'pump-2'],
      metric: 'flow',
      from: iso(start),
      to: iso(start + HOUR),
      bucket: '1h',
      combineDevices: true,
    });
    expect(combined.aggregates).toEqual([
      expect.objectContaining({ deviceId: null, buckets: [expect.objectContaining({ count: 61, max: 1000, min: 0, first: 1000, last: 59 })] }),
    ]);
    const percentiles = await server.ok(AggregatePercentilesDocument, {
      deviceIds: ['pump-1'],
      metric: 'flow',
      from: iso(start),
      to: iso(start + 2 * HOUR),
      bucket: '1h',
    });
    expect(percentiles.aggregates[0]!.buckets).toEqual([
      { start: iso(start), count: 60, p50: 29.5, p99: 58.41, source: 'RAW' },
      { start: iso(start + HOUR), count: 60, p50: 89.5, p99: 118.41, source: 'RAW' },
    ]);
  });

  it('downsamples a series to the requested number of points, keeping both ends', async () => {
    const { series } = await server.ok(SeriesDocument, { deviceId: 'pump-1', metric: 'flow', from: iso(start), to: iso(end), points: 50 });
    // A point spans 7.2 minutes: candidates come from minute rollups (one reading each here).
    expect(series).toMatchObject({ deviceId: 'pump-1', totalPoints: 300, downsampled: true, source: 'ROLLUPS' });
    expect(series.points).toHaveLength(50);
    expect(series.points[0]).toEqual({ timestamp: iso(start + 500), value: 0 });
    expect(series.points.at(-1)).toEqual({ timestamp: iso(start + 359 * 60_000 + 500), value: 359 });
    const whole = await server.ok(SeriesDocument, { deviceId: 'pump-2', metric: 'flow', from: iso(start), to: iso(end) });
    expect(whole.series).toMatchObject({ totalPoints: 6, downsampled: false, source: 'RAW' });
  });

  it.each([
    [{ bucket: '90d' }, 'BAD_USER_INPUT', /from 1s to 1d/],
    [{ bucket: 'decade' }, 'BAD_USER_INPUT', /neither a width/],
    [{ bucket: 'day', timeZone: 'Moon/Base' }, 'BAD_USER_INPUT', /not an IANA time zone/],
    [{ bucket: '1s', from: iso(start - 30 * 86_400_000) }, 'BAD_USER_INPUT', /at most 10000 per query/],
    [{ from: iso(end), to: iso(start) }, 'BAD_USER_INPUT', /from must be before to/],
    [{ deviceIds: ['pump-1', 'ghost'] }, 'NOT_FOUND', /no device "ghost"/],
    [{ deviceIds: [] }, 'BAD_USER_INPUT', /name 1 to 100 devices/],
  ])('refuses aggregates %j with %s', async (overrides, code, message) => {
    const response = await server.gql(AggregatesDocument, {
      deviceIds: ['pump-1'],
      metric: 'flow',
      from: iso(start),
      to: iso(end),
      bucket: '1h',
      ...overrides,
    });
    expect(response.errors).toHaveLength(1);
    expect(response.errors![0]!.extensions).toMatchObject({ code });
    expect(response.errors![0]!.message).toMatch(message);
  });

  it('refuses series with too few or too many points, or an unknown device', async () => {
    for (const [variables, code] of [
      [{ points: 2 }, 'BAD_USER_INPUT'],
      [{ points: 100_000 }, 'BAD_USER_INPUT'],
      [{ deviceId: 'ghost' }, 'NOT_FOUND'],
    ] as const) {
      const response = await server.gql(SeriesDocument, { deviceId: 'pump-1', metric: 'flow', from: iso(start), to: iso(end), ...variables });
      expect(response.errors?.[0]?.extensions).toMatchObject({ code });
    }
  });
});
