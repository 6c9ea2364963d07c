import { DateTime, IANAZone } from 'luxon';
import { TelemetryError } from '../errors';

/**
 * Bucket specifications and their boundaries. Fixed widths (1s to 1d) are aligned to the
 * Unix epoch, like TimescaleDB's time_bucket; calendar units (day, week, month) start at
 * local midnight in an IANA time zone, so a day across a daylight-saving change lasts 23 or
 * 25 hours. Weeks start on Monday (ISO 8601).
 */
export type BucketSpec =
  | { readonly kind: 'fixed'; readonly widthMs: number; readonly label: string }
  | { readonly kind: 'calendar'; readonly unit: CalendarUnit; readonly timeZone: string; readonly label: string };

export type CalendarUnit = 'day' | 'week' | 'month';

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const MIN_WIDTH_MS = 1_000;
const MAX_WIDTH_MS = 86_400_000;
const SHORTEST = { day: 23 * 3_600_000, week: 7 * 24 * 3_600_000 - 3_600_000, month: 28 * 86_400_000 - 3_600_000 } as const;

const badBucket = (message: string, argument = 'bucket') => new TelemetryError('BAD_USER_INPUT', message, { details: { argument } });

/** Parses "30s", "5m", "1h", "1d" (fixed) or "day", "week", "month" (calendar, in `timeZone`). */
export function parseBucket(text: string, timeZone = 'UTC'): BucketSpec {
  const spec = text.trim().toLowerCase();
  if (spec === 'day' || spec === 'week' || spec === 'month') {
    if (!IANAZone.isValidZone(timeZone)) throw badBucket(`"${timeZone}" is not an IANA time zone (e.g. "Europe/Paris")`, 'timeZone');
    return { kind: 'calendar', unit: spec, timeZone, label: spec };
  }
  const match = /^(\d{1,6})(s|m|h|d)$/.exec(spec);
  if (!match) throw badBucket(`bucket "${text}" is neither a width like "30s", "5m", "1h", "1d" nor one of "day", "week", "month"`);
  const widthMs = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  if (widthMs < MIN_WIDTH_MS || widthMs > MAX_WIDTH_MS) throw badBucket(`bucket width must be from 1s to 1d; got "${text}"`);
  if (timeZone !== 'UTC') {
    throw badBucket('timeZone applies to calendar buckets (day, week, month); fixed widths are aligned to UTC', 'timeZone');
  }
  return { kind: 'fixed', widthMs, label: spec };
}

/**
 * Boundaries of the buckets covering [from, to): `starts[i]` is where bucket i begins
 * (the first one may begin before `from`) and `starts[n]` where the last one ends (at or
 * after `to`). Refuses ranges that would need more than `maxBuckets` buckets.
 */
export function bucketBoundaries(spec: BucketSpec, from: number, to: number, maxBuckets: number): number[] {
  if (!(from < to)) throw badBucket('from must be before to', 'from');
  const shortest = spec.kind === 'fixed' ? spec.widthMs : SHORTEST[spec.unit];
  const estimate = Math.ceil((to - from) / shortest) + 1;
  if (estimate > maxBuckets + 1) {
    throw new TelemetryError('BAD_USER_INPUT', `the range holds about ${estimate} "${spec.label}" buckets; at most ${maxBuckets} per query`, {
      details: { argument: 'bucket', limit: maxBuckets },
    });
  }
  return spec.kind === 'fixed' ? fixedBoundaries(spec.widthMs, from, to) : calendarBoundaries(spec.unit, spec.timeZone, from, to);
}

function fixedBoundaries(width: number, from: number, to: number): number[] {
  const starts: number[] = [];
  for (let start = Math.floor(from / width) * width; start < to; start += width) starts.push(start);
  starts.push(starts[starts.length - 1]! + width);
  return starts;
}

function calendarBoundaries(unit: CalendarUnit, zone: string, from: number, to: number): number[] {
  const first = DateTime.fromMillis(from, { zone }).startOf(unit);
  const starts: number[] = [];
  // Each start is computed from the first one (not from its predecessor), then snapped to
  // the unit's start: a local midnight that does not exist is moved to the first instant
  // that does, and that shift must not carry over to the next bucket.
  for (let i = 0; ; i++) {
    const start = first
      .plus({ [`${unit}s`]: i })
      .startOf(unit)
      .toMillis();
    starts.push(start);
    if (start >= to) return starts;
  }
}

/** Rollup resolutions the consumer maintains, finest first. */
export const ROLLUP_RESOLUTIONS_MS = [60_000, 3_600_000, 86_400_000] as const;
export type RollupResolution = (typeof ROLLUP_RESOLUTIONS_MS)[number];

/**
 * The coarsest rollup whose buckets tile [start, end) exactly, or undefined when only raw
 * data can answer (an edge that is not on a whole minute). Rollup buckets are aligned to the
 * epoch, so a level fits when both edges are multiples of its resolution.
 */
export function coarsestRollupFor(start: number, end: number): RollupResolution | undefined {
  for (let i = ROLLUP_RESOLUTIONS_MS.length - 1; i >= 0; i--) {
    const resolution = ROLLUP_RESOLUTIONS_MS[i]!;
    if (start % resolution === 0 && end % resolution === 0) return resolution;
  }
  return undefined;
}

/** Start of the rollup bucket holding `timestamp` (floor, also for times before 1970). */
export const rollupBucketStart = (timestamp: number, resolution: number): number => Math.floor(timestamp / resolution) * resolution;
