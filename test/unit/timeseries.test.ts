import { toAggregateBuckets, type BucketData } from '../../src/domain/timeseries/aggregate-buckets';
import { bucketBoundaries, coarsestRollupFor, parseBucket } from '../../src/domain/timeseries/buckets';
import { largestTriangleThreeBuckets } from '../../src/domain/timeseries/lttb';
import { partialOf, addValue, statisticsOf } from '../../src/domain/timeseries/partial';
import { percentileOfSorted } from '../../src/domain/timeseries/percentile';

const HOUR = 3_600_000;
const utc = (iso: string) => Date.parse(iso);

describe('bucket specifications', () => {
  it('parses fixed widths and calendar units', () => {
    expect(parseBucket('30s')).toMatchObject({ kind: 'fixed', widthMs: 30_000 });
    expect(parseBucket('15m')).toMatchObject({ kind: 'fixed', widthMs: 900_000 });
    expect(parseBucket('1D')).toMatchObject({ kind: 'fixed', widthMs: 86_400_000 });
    expect(parseBucket('week', 'Europe/Paris')).toMatchObject({ kind: 'calendar', unit: 'week', timeZone: 'Europe/Paris' });
  });

  it.each([
    ['0s', /from 1s to 1d/],
    ['2d', /from 1s to 1d/],
    ['500ms', /neither a width/],
    ['fortnight', /neither a width/],
    ['', /neither a width/],
  ])('refuses bucket %j', (text, message) => {
    expect(() => parseBucket(text)).toThrow(message);
    try {
      parseBucket(text);
    } catch (error) {
      expect(error).toMatchObject({ code: 'BAD_USER_INPUT', details: { argument: 'bucket' } });
    }
  });

  it('refuses an unknown time zone, and a time zone on a fixed width', () => {
    expect(() => parseBucket('day', 'Mars/Olympus')).toThrow(/not an IANA time zone/);
    expect(() => parseBucket('1h', 'Europe/Paris')).toThrow(/fixed widths are aligned to UTC/);
  });

  it('aligns fixed buckets to the epoch and covers the whole range', () => {
    const starts = bucketBoundaries(parseBucket('1h'), utc('2026-01-01T00:30:00Z'), utc('2026-01-01T03:00:00Z'), 100);
    expect(starts.map((t) => new Date(t).toISOString())).toEqual([
      '2026-01-01T00:00:00.000Z',
      '2026-01-01T01:00:00.000Z',
      '2026-01-01T02:00:00.000Z',
      '2026-01-01T03:00:00.000Z',
    ]);
  });

  it('refuses a range with too many buckets, and an empty range', () => {
    expect(() => bucketBoundaries(parseBucket('1s'), 0, 86_400_000, 10_000)).toThrow(/at most 10000 per query/);
    expect(() => bucketBoundaries(parseBucket('1h'), 5, 5, 100)).toThrow(/from must be before to/);
  });

  describe.each([
    // Spring forward (23-hour day) and fall back (25-hour day) in two zones with different rules.
    ['Europe/Paris', '2026-03-29', 23, '2026-10-25', 25],
    ['America/New_York', '2026-03-08', 23, '2026-11-01', 25],
    ['Australia/Sydney', '2026-10-04', 23, '2026-04-05', 25],
  ])('calendar days in %s', (zone, shortDay, shortHours, longDay, longHours) => {
    const days = (from: string, count: number) => {
      const spec = parseBucket('day', zone);
      const start = new Date(`${from}T12:00:00Z`).getTime() - 2 * 86_400_000;
      return bucketBoundaries(spec, start, start + count * 86_400_000, 1000);
    };
    const lengthOf = (starts: number[], localDate: string) => {
      const index = starts.findIndex((t) => new Intl.DateTimeFormat('en-CA', { timeZone: zone }).format(t) === localDate);
      expect(index).toBeGreaterThanOrEqual(0);
      return (starts[index + 1]! - starts[index]!) / HOUR;
    };

    it(`has a ${shortHours}-hour day on ${shortDay} and a ${longHours}-hour day on ${longDay}`, () => {
      expect(lengthOf(days(shortDay, 4), shortDay)).toBe(shortHours);
      expect(lengthOf(days(longDay, 4), longDay)).toBe(longHours);
      // The neighbours are ordinary days.
      const starts = days(shortDay, 4);
      const index = starts.findIndex((t) => new Intl.DateTimeFormat('en-CA', { timeZone: zone }).format(t) === shortDay);
      expect((starts[index]! - starts[index - 1]!) / HOUR).toBe(24);
    });

    it('starts every day at local midnight', () => {
      for (const start of days(longDay, 5)) {
        const time = new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(start);
        expect(time).toBe('00:00');
      }
    });
  });

  it('starts weeks on Monday and months on the 1st, in the time zone', () => {
    const weeks = bucketBoundaries(parseBucket('week', 'Europe/Paris'), utc('2026-03-25T00:00:00Z'), utc('2026-04-02T00:00:00Z'), 100);
    expect(weeks.map((t) => new Date(t).toISOString())).toEqual(['2026-03-22T23:00:00.000Z', '2026-03-29T22:00:00.000Z', '2026-04-05T22:00:00.000Z']);
    const months = bucketBoundaries(parseBucket('month', 'America/New_York'), utc('2026-02-15T00:00:00Z'), utc('2026-03-15T00:00:00Z'), 100);
    expect(months.map((t) => new Date(t).toISOString())).toEqual(['2026-02-01T05:00:00.000Z', '2026-03-01T05:00:00.000Z', '2026-04-01T04:00:00.000Z']);
  });

  it('picks the coarsest rollup that tiles a bucket exactly', () => {
    expect(coarsestRollupFor(utc('2026-01-01T00:00:00Z'), utc('2026-01-02T00:00:00Z'))).toBe(86_400_000);
    expect(coarsestRollupFor(utc('2026-01-01T00:00:00Z'), utc('2026-01-01T05:00:00Z'))).toBe(HOUR);
    // A Paris day starts at 23:00 UTC: hourly rollups answer it, daily ones cannot.
    expect(coarsestRollupFor(utc('2026-01-01T23:00:00Z'), utc('2026-01-02T23:00:00Z'))).toBe(HOUR);
    // India is UTC+5:30: only minute rollups fit.
    expect(coarsestRollupFor(utc('2026-01-01T18:30:00Z'), utc('2026-01-02T18:30:00Z'))).toBe(60_000);
    expect(coarsestRollupFor(utc('2026-01-01T00:00:01Z'), utc('2026-01-01T00:01:00Z'))).toBeUndefined();
  });
});

describe('partial aggregates', () => {
  it('gives count, sum, average, extremes, sample standard deviation, first and last', () => {
    const partial = partialOf(30, 4);
    addValue(partial, 10, 2);
    addValue(partial, 20, 9);
    expect(statisticsOf(partial)).toEqual({ count: 3, sum: 15, avg: 5, min: 2, max: 9, stddev: Math.sqrt(13), first: 2, last: 4 });
    expect(statisticsOf(partialOf(1, 7)).stddev).toBeNull();
  });

  it('computes continuous percentiles like PERCENTILE_CONT', () => {
    expect(percentileOfSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(percentileOfSorted([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9)).toBeCloseTo(9.1);
    expect(percentileOfSorted([42], 0.99)).toBe(42);
  });
});

describe('gap filling', () => {
  const starts = [0, 10, 20, 30, 40, 50, 60];
  const at = (ts: number, value: number): BucketData => ({ partial: partialOf(ts, value), source: 'RAW' });
  const data = [undefined, at(10, 1), undefined, undefined, at(40, 7), undefined];

  it('leaves empty buckets out, or returns them with nulls', () => {
    expect(toAggregateBuckets(starts, data, 'NONE').map((b) => b.start)).toEqual([10, 40]);
    const nulls = toAggregateBuckets(starts, data, 'NULL');
    expect(nulls.map((b) => [b.start, b.count, b.avg, b.filled])).toEqual([
      [0, 0, null, false],
      [10, 1, 1, false],
      [20, 0, null, false],
      [30, 0, null, false],
      [40, 1, 7, false],
      [50, 0, null, false],
    ]);
  });

  it('repeats the previous values', () => {
    expect(toAggregateBuckets(starts, data, 'PREVIOUS').map((b) => [b.avg, b.count, b.filled])).toEqual([
      [null, 0, false],
      [1, 1, false],
      [1, 0, true],
      [1, 0, true],
      [7, 1, false],
      [7, 0, true],
    ]);
  });

  it('interpolates linearly between the neighbours, and not past the ends', () => {
    expect(toAggregateBuckets(starts, data, 'LINEAR').map((b) => [b.avg, b.max, b.filled])).toEqual([
      [null, null, false],
      [1, 1, false],
      [3, 3, true],
      [5, 5, true],
      [7, 7, false],
      [null, null, false],
    ]);
  });
});

describe('largest-triangle-three-buckets', () => {
  it('keeps the first, last and extreme points of a known series', () => {
    const length = 10_000;
    const x = Float64Array.from({ length }, (_, i) => i * 1000);
    const y = Float64Array.from({ length }, (_, i) => Math.sin(i / 500));
    y[3_333] = 50; // a spike
    y[7_777] = -40; // a dip
    const kept = largestTriangleThreeBuckets(x, y, 100);
    expect(kept).toHaveLength(100);
    expect(kept[0]).toBe(0);
    expect(kept.at(-1)).toBe(length - 1);
    expect(kept).toContain(3_333);
    expect(kept).toContain(7_777);
    expect([...kept].sort((a, b) => a - b)).toEqual(kept);
  });

  it('returns short series whole', () => {
    expect(largestTriangleThreeBuckets([1, 2, 3], [5, 6, 7], 10)).toEqual([0, 1, 2]);
  });
});
