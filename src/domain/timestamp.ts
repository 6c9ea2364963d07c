/**
 * The one parser of client timestamps, for every entry point (GraphQL `DateTime` inputs,
 * POST /ingest readings and CloudEvents `time`). A timestamp keeps the instant the client
 * meant or is refused: nothing is normalised, so "2026-02-30" never becomes 2 March and
 * "24:00" never becomes the next day (what `Date.parse` and luxon do).
 *
 * Accepted forms (docs/PROTOCOL.md §2):
 *  - RFC 3339 date-time: `YYYY-MM-DDThh:mm:ss[.fraction](Z|±hh:mm)`; `T` and `Z` may be lower
 *    case (RFC 3339 §5.6); seconds may be left out (`2026-01-31T12:00Z`, accepted before this
 *    parser and kept); the fraction has 1-9 digits and is truncated to milliseconds; `-00:00`
 *    is UTC. A date-time without a zone, or a date alone, is refused: it names no instant.
 *  - epoch milliseconds: an integer, as a JSON number or a string of digits, within what a
 *    JavaScript Date holds (±8.64e15 ms).
 * Refused: any field out of its calendar range (month 13, 31 April, 29 February outside leap
 * years, hour 24, minute or second 60, offset hour 24), leap seconds (`23:59:60`: UTC
 * milliseconds cannot represent them), spaces instead of `T`, week or ordinal dates.
 */

/** A parsed timestamp, or why it was refused (a sentence fit for a client). */
export type TimestampResult = { readonly ok: true; readonly ms: number } | { readonly ok: false; readonly reason: string };

/** Whole milliseconds a Date can hold (±8.64e15, about ±275,000 years). */
const MAX_DATE_MS = 8.64e15;
/** Longer text cannot be any accepted form (the longest is 35 characters); refused unread. */
const MAX_TEXT_LENGTH = 64;

const MS_PER_MINUTE = 60_000;
const MS_PER_HOUR = 3_600_000;
const MS_PER_DAY = 86_400_000;

/** Groups: year, month, day, hour, minute, second?, fraction?, Z?, offset sign?, offset hour?, offset minute? */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;
const EPOCH_MS = /^-?\d+$/;

const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

const refuse = (reason: string): TimestampResult => ({ ok: false, reason });

/** Parses a client timestamp (see the module comment for the accepted forms). */
export function readTimestamp(raw: unknown): TimestampResult {
  if (typeof raw === 'number') return fromEpochMs(raw);
  if (raw === undefined || raw === null) return refuse('timestamp is missing');
  if (typeof raw !== 'string') return refuse('timestamp must be an RFC 3339 date-time string or epoch milliseconds');
  if (raw.length > MAX_TEXT_LENGTH) return refuse(`timestamp is longer than ${MAX_TEXT_LENGTH} characters`);
  if (EPOCH_MS.test(raw)) return fromEpochMs(Number(raw));
  return parseDateTime(raw, ' nor epoch milliseconds');
}

/**
 * Parses RFC 3339 date-time text only (no epoch milliseconds): for attributes whose
 * specification says RFC 3339, such as CloudEvents `time`.
 */
export function readDateTime(raw: string): TimestampResult {
  if (raw.length > MAX_TEXT_LENGTH) return refuse(`timestamp is longer than ${MAX_TEXT_LENGTH} characters`);
  return parseDateTime(raw, '');
}

/** `otherForms` completes the message when the text matches no accepted form. */
function parseDateTime(raw: string, otherForms: string): TimestampResult {
  const match = DATE_TIME.exec(raw);
  if (!match) {
    return refuse(
      `timestamp ${JSON.stringify(raw)} is not an RFC 3339 date-time with a zone (e.g. "2026-01-31T12:00:00Z" or "2026-01-31T13:00:00+01:00")${otherForms}`,
    );
  }
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  const hour = Number(match[4]);
  const minute = Number(match[5]);
  const second = match[6] === undefined ? 0 : Number(match[6]);
  // Truncated, not rounded: 59.9996 s stays in the same second, as with Date.parse.
  const millisecond = match[7] === undefined ? 0 : Number(match[7].slice(0, 3).padEnd(3, '0'));
  if (month < 1 || month > 12) return refuse(`timestamp ${JSON.stringify(raw)}: month ${match[2]} does not exist`);
  const monthDays = daysInMonth(year, month);
  if (day < 1 || day > monthDays) {
    return refuse(`timestamp ${JSON.stringify(raw)}: ${MONTH_NAMES[month - 1]} ${match[1]} has no day ${match[3]} (it has ${monthDays} days)`);
  }
  if (hour > 23) return refuse(`timestamp ${JSON.stringify(raw)}: hour ${match[4]} does not exist (00-23; midnight is 00:00 of the next day)`);
  if (minute > 59) return refuse(`timestamp ${JSON.stringify(raw)}: minute ${match[5]} does not exist (00-59)`);
  if (second === 60) return refuse(`timestamp ${JSON.stringify(raw)}: leap seconds cannot be stored (UTC milliseconds have no second 60)`);
  if (second > 59) return refuse(`timestamp ${JSON.stringify(raw)}: second ${match[6]} does not exist (00-59)`);
  let offsetMinutes = 0;
  if (match[8] === undefined) {
    const offsetHour = Number(match[10]);
    const offsetMinute = Number(match[11]);
    if (offsetHour > 23 || offsetMinute > 59)
      return refuse(`timestamp ${JSON.stringify(raw)}: offset ${match[9]}${match[10]}:${match[11]} does not exist (-23:59 to +23:59)`);
    offsetMinutes = (match[9] === '-' ? -1 : 1) * (offsetHour * 60 + offsetMinute);
  }
  const local = daysFromCivil(year, month, day) * MS_PER_DAY + hour * MS_PER_HOUR + minute * MS_PER_MINUTE + second * 1000 + millisecond;
  return { ok: true, ms: local - offsetMinutes * MS_PER_MINUTE };
}

/** Parses a client timestamp to UTC milliseconds; NaN when refused (see `readTimestamp`). */
export function parseTimestamp(raw: unknown): number {
  const result = readTimestamp(raw);
  return result.ok ? result.ms : Number.NaN;
}

function fromEpochMs(ms: number): TimestampResult {
  if (!Number.isInteger(ms)) return refuse('epoch milliseconds must be a whole number');
  if (Math.abs(ms) > MAX_DATE_MS) return refuse(`epoch milliseconds must be within ±${MAX_DATE_MS}`);
  return { ok: true, ms };
}

const isLeapYear = (year: number) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;

/** Days in a month of the proleptic Gregorian calendar (month 1-12). */
export function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Days from 1970-01-01 to a valid proleptic Gregorian date, by Howard Hinnant's
 * `days_from_civil`. Unlike Date.UTC it neither maps years 0-99 to 1900-1999 nor rolls
 * invalid days over, and it allocates nothing.
 */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}
