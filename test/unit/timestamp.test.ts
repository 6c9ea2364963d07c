import fc from 'fast-check';
import { DateTime, FixedOffsetZone } from 'luxon';
import { parseTimestamp, readTimestamp } from '../../src/domain/timestamp';

/**
 * The one timestamp parser keeps the instant the client meant or refuses the text. The
 * reference for "the instant meant" is luxon's calendar arithmetic on the same components
 * (an implementation independent of ours), never Date.parse, which rolls 30 February over.
 */

const pad = (value: number, width: number) => String(value).padStart(width, '0');

/** luxon's month length: the reference calendar. */
const referenceDaysInMonth = (year: number, month: number) => DateTime.utc(year, month).daysInMonth!;

interface Components {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  /** Absent: the text leaves seconds out (`12:00Z`). */
  readonly second: number | undefined;
  /** Digits after the decimal point, when seconds are given. */
  readonly fraction: string | undefined;
  /** Minutes east of UTC; undefined for `Z`. */
  readonly offset: number | undefined;
  readonly lowerCase: boolean;
}

function format(c: Components): string {
  const seconds = c.second === undefined ? '' : `:${pad(c.second, 2)}${c.fraction === undefined ? '' : `.${c.fraction}`}`;
  const zone = c.offset === undefined ? 'Z' : `${c.offset < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(c.offset) / 60), 2)}:${pad(Math.abs(c.offset) % 60, 2)}`;
  const text = `${pad(c.year, 4)}-${pad(c.month, 2)}-${pad(c.day, 2)}T${pad(c.hour, 2)}:${pad(c.minute, 2)}${seconds}${zone}`;
  return c.lowerCase ? text.toLowerCase() : text;
}

function referenceInstant(c: Components): number {
  const millisecond = c.fraction === undefined ? 0 : Number(c.fraction.slice(0, 3).padEnd(3, '0'));
  const zone = FixedOffsetZone.instance(c.offset ?? 0);
  const local = { year: c.year, month: c.month, day: c.day, hour: c.hour, minute: c.minute, second: c.second ?? 0, millisecond };
  return DateTime.fromObject(local, { zone }).toMillis();
}

const validComponents: fc.Arbitrary<Components> = fc
  .record({
    year: fc.integer({ min: 0, max: 9999 }),
    month: fc.integer({ min: 1, max: 12 }),
    dayFraction: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
  })
  .chain(({ year, month, dayFraction }) =>
    fc.record({
      year: fc.constant(year),
      month: fc.constant(month),
      // Any day of the month, the last one included (29 February of leap years).
      day: fc.oneof(fc.constant(referenceDaysInMonth(year, month)), fc.constant(1 + Math.floor(dayFraction * referenceDaysInMonth(year, month)))),
      hour: fc.integer({ min: 0, max: 23 }),
      minute: fc.integer({ min: 0, max: 59 }),
      second: fc.option(fc.integer({ min: 0, max: 59 }), { nil: undefined }),
      fraction: fc.option(fc.stringMatching(/^\d{1,9}$/), { nil: undefined }),
      offset: fc.option(fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }), { nil: undefined }),
      lowerCase: fc.boolean(),
    }),
  )
  .map((c) => (c.second === undefined ? { ...c, fraction: undefined } : c));

describe('timestamp parsing', () => {
  describe('keeps the instant the text names', () => {
    it('for any valid RFC 3339 date-time, the same instant as the reference calendar', () => {
      fc.assert(
        fc.property(validComponents, (c) => {
          expect(readTimestamp(format(c))).toEqual({ ok: true, ms: referenceInstant(c) });
        }),
        { numRuns: 5000 },
      );
    });

    it('for any instant of years 0000-9999 written by Date#toISOString', () => {
      const first = Date.parse('0000-01-01T00:00:00.000Z');
      fc.assert(
        fc.property(fc.integer({ min: first, max: Date.parse('9999-12-31T23:59:59.999Z') }), (ms) => {
          const text = new Date(ms).toISOString();
          if (!/^\d{4}-/.test(text)) return; // years before 0000 are written ±YYYYYY, a form we do not accept
          expect(parseTimestamp(text)).toBe(ms);
        }),
        { numRuns: 2000 },
      );
    });

    it('for epoch milliseconds, as a number or a string of digits', () => {
      fc.assert(
        fc.property(fc.integer({ min: -8.64e15, max: 8.64e15 }), (ms) => {
          expect(parseTimestamp(ms)).toBe(ms);
          expect(parseTimestamp(String(ms))).toBe(ms);
        }),
      );
    });

    it.each([
      ['2026-06-01T12:00:00Z', Date.UTC(2026, 5, 1, 12)],
      ['2026-06-01T14:00:00.250+02:00', Date.UTC(2026, 5, 1, 12, 0, 0, 250)],
      ['2026-06-01t12:00:00z', Date.UTC(2026, 5, 1, 12)],
      ['2026-06-01T12:00Z', Date.UTC(2026, 5, 1, 12)],
      ['2026-06-01T12:00:00-00:00', Date.UTC(2026, 5, 1, 12)],
      ['2026-06-01T12:00:00.123999999Z', Date.UTC(2026, 5, 1, 12, 0, 0, 123)],
      ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
      ['2000-02-29T00:00:00Z', Date.UTC(2000, 1, 29)],
      ['2026-01-01T00:30:00+23:59', Date.UTC(2025, 11, 31, 0, 31)],
      ['2026-04-30T23:59:59.999-23:59', Date.UTC(2026, 4, 1, 23, 58, 59, 999)],
      ['1780315200000', 1780315200000],
      [1780315200000, 1780315200000],
    ])('parses %p', (raw, expected) => {
      expect(parseTimestamp(raw)).toBe(expected);
    });
  });

  describe('refuses what names no instant, or one it would have to move', () => {
    it.each([
      ['2026-02-30T00:00:00Z', 'February 2026 has no day 30 (it has 28 days)'],
      ['2026-04-31T12:00Z', 'April 2026 has no day 31 (it has 30 days)'],
      ['2026-01-01T24:00Z', 'hour 24 does not exist'],
      ['2026-02-29T00:00:00Z', 'February 2026 has no day 29 (it has 28 days)'],
      ['1900-02-29T00:00:00Z', 'February 1900 has no day 29'],
      ['2026-13-01T00:00:00Z', 'month 13 does not exist'],
      ['2026-00-10T00:00:00Z', 'month 00 does not exist'],
      ['2026-01-00T00:00:00Z', 'January 2026 has no day 00'],
      ['2026-01-01T12:60:00Z', 'minute 60 does not exist'],
      ['2026-12-31T23:59:60Z', 'leap seconds cannot be stored'],
      ['2026-01-01T12:00:61Z', 'second 61 does not exist'],
      ['2026-01-01T12:00:00+24:00', 'offset +24:00 does not exist'],
      ['2026-01-01T12:00:00+05:60', 'offset +05:60 does not exist'],
      ['2026-02-29', 'not an RFC 3339 date-time with a zone'],
      ['2026-06-01T12:00:00', 'not an RFC 3339 date-time with a zone'],
      ['2026-06-01 12:00:00Z', 'not an RFC 3339 date-time with a zone'],
      ['2026-W22-1T12:00:00Z', 'not an RFC 3339 date-time with a zone'],
      ['2026-06-01T12:00:00.Z', 'not an RFC 3339 date-time with a zone'],
      ['2026-06-01T12:00:00.1234567891Z', 'not an RFC 3339 date-time with a zone'],
      ['+002026-06-01T12:00:00Z', 'not an RFC 3339 date-time with a zone'],
      ['yesterday', 'not an RFC 3339 date-time with a zone'],
      ['', 'not an RFC 3339 date-time with a zone'],
      ['9'.repeat(30), 'within ±8640000000000000'],
      [8.64e15 + 1, 'within ±8640000000000000'],
      [1.5, 'must be a whole number'],
      [Number.NaN, 'must be a whole number'],
      [null, 'is missing'],
      [undefined, 'is missing'],
      [{}, 'must be an RFC 3339 date-time string or epoch milliseconds'],
      ['x'.repeat(65), 'longer than 64 characters'],
    ])('%p', (raw, reason) => {
      const result = readTimestamp(raw);
      expect(result.ok).toBe(false);
      expect(result.ok ? '' : result.reason).toContain(reason);
      expect(parseTimestamp(raw)).toBeNaN();
    });

    /** Valid components with exactly one field pushed out of its range. */
    const invalidText = validComponents.chain((c) =>
      fc.oneof(
        fc.integer({ min: referenceDaysInMonth(c.year, c.month) + 1, max: 99 }).map((day) => format({ ...c, day })),
        fc.constant(format({ ...c, day: 0 })),
        fc.oneof(fc.constant(0), fc.integer({ min: 13, max: 99 })).map((month) => format({ ...c, month, day: Math.min(c.day, 28) })),
        fc.integer({ min: 24, max: 99 }).map((hour) => format({ ...c, hour })),
        fc.integer({ min: 60, max: 99 }).map((minute) => format({ ...c, minute })),
        fc.integer({ min: 60, max: 99 }).map((second) => format({ ...c, second })),
        fc
          .record({ hours: fc.integer({ min: 24, max: 99 }), minutes: fc.integer({ min: 0, max: 59 }), sign: fc.constantFrom('+', '-') })
          .map(({ hours, minutes, sign }) => format({ ...c, offset: undefined }).replace(/Z$/i, `${sign}${pad(hours, 2)}:${pad(minutes, 2)}`)),
        fc
          .record({ hours: fc.integer({ min: 0, max: 23 }), minutes: fc.integer({ min: 60, max: 99 }), sign: fc.constantFrom('+', '-') })
          .map(({ hours, minutes, sign }) => format({ ...c, offset: undefined }).replace(/Z$/i, `${sign}${pad(hours, 2)}:${pad(minutes, 2)}`)),
      ),
    );

    it('for any date-time with one field out of its calendar range', () => {
      fc.assert(
        fc.property(invalidText, (text) => {
          expect(readTimestamp(text).ok).toBe(false);
        }),
        { numRuns: 5000 },
      );
    });
  });
});
