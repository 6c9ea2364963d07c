/** Whole milliseconds a Date can hold (±8.64e15). */
const MAX_DATE_MS = 8.64e15;
const MS_PER_HOUR = 3_600_000;

/** The hour last formatted, as `YYYY-MM-DDThh:`: readings of a batch mostly share it. */
let cachedHour = Number.NaN;
let cachedHourText = '';

const twoDigits = (n: number) => (n < 10 ? `0${n}` : `${n}`);
const threeDigits = (n: number) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

/**
 * An instant as RFC 3339 text in UTC with milliseconds, exactly what
 * `new Date(ms).toISOString()` gives (extended years included), and throwing what it throws.
 * Every reading's envelope carries one: building a Date and its text per reading cost more
 * than the rest of the envelope, so the date and hour are formatted once per hour of
 * timestamps and only the minutes, seconds and milliseconds per call.
 */
export function utcText(ms: number): string {
  if (!Number.isInteger(ms) || Math.abs(ms) > MAX_DATE_MS) return new Date(ms).toISOString();
  const inHour = ((ms % MS_PER_HOUR) + MS_PER_HOUR) % MS_PER_HOUR;
  const hour = ms - inHour;
  if (hour !== cachedHour) {
    // `…Thh:mm:ss.sssZ` minus its last 10 characters, `mm:ss.sssZ`.
    cachedHourText = new Date(hour).toISOString().slice(0, -10);
    cachedHour = hour;
  }
  const minutes = Math.floor(inHour / 60_000);
  const seconds = Math.floor((inHour % 60_000) / 1000);
  return `${cachedHourText}${twoDigits(minutes)}:${twoDigits(seconds)}.${threeDigits(inHour % 1000)}Z`;
}
