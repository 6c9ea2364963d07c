/**
 * Wall-clock times in a chosen IANA zone, for the device page's custom range: a
 * `datetime-local` input has no zone, so its value is read in the zone the user picked (not
 * the browser's), and written back in that zone when the user picks another.
 */

/** The browser's own zone. */
export function browserZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** UTC and the browser's zone first, then every zone the browser knows. */
export function zoneChoices(): string[] {
  const all = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  return [...new Set(['UTC', browserZone(), ...all])];
}

/** Wall time minus UTC in `zone` at `instant` (ms). */
function offsetMs(zone: string, instant: number): number {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
  const parts = format.formatToParts(new Date(instant));
  const part = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((candidate) => candidate.type === type)?.value);
  const wall = Date.UTC(part('year'), part('month') - 1, part('day'), part('hour'), part('minute'), part('second'));
  return wall - Math.floor(instant / 1000) * 1000;
}

/** "YYYY-MM-DDTHH:mm" read in `zone`, as epoch ms; NaN when unparseable. */
export function wallToInstant(wall: string, zone: string): number {
  const asUtc = Date.parse(`${wall}Z`);
  if (Number.isNaN(asUtc)) return NaN;
  // The offset at the guessed instant, then at the corrected one: right across a DST change.
  const guess = asUtc - offsetMs(zone, asUtc);
  return asUtc - offsetMs(zone, guess);
}

/** Epoch ms as "YYYY-MM-DDTHH:mm" in `zone` (a datetime-local value). */
export function instantToWall(instant: number, zone: string): string {
  return new Date(instant + offsetMs(zone, instant)).toISOString().slice(0, 16);
}
