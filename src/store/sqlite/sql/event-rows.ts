import { jsonNumber, jsonString } from '../../../domain/json-text';
import type { Metric } from '../../../domain/reading';

/**
 * How `reading_events` stores an event's id and metrics (migration 14), in the fewest bytes
 * that give back exactly what was stored.
 *
 * The id: a UUID in its canonical lowercase form (every id ingest generates, and most that
 * clients send) is stored as its 16 bytes, a BLOB, instead of 36 characters; the id is in the
 * row and in both of its indexes, so this saves about 60 bytes per event. Any other id is stored
 * as the text it is. The mapping is one-to-one: only the canonical form becomes a BLOB, a BLOB
 * reads back as that form, and a BLOB never equals a TEXT in SQLite, so two different ids can
 * never share a key (an uppercase UUID stays TEXT, and stays a different id, as it was).
 *
 * The metrics: `[["temperature",21.5]]` rather than `[{"name":"temperature","value":21.5}]`.
 */

/** A key as stored: 16 bytes for a canonical UUID, the text otherwise. */
export type EventKey = Buffer | string;

/** The value of each lowercase hex digit's character code, -1 for every other code below 128. */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let digit = 0; digit < 16; digit++) HEX_VALUE['0123456789abcdef'.charCodeAt(digit)] = digit;
const DASH = 45;

/**
 * Checks the canonical form and reads the bytes in one pass over the characters: the consumer
 * keys every event it stores, and a regular expression, then removing the dashes, then
 * decoding hex took 3.6% of its thread.
 */
export function eventKey(eventId: string): EventKey {
  if (eventId.length !== 36) return eventId;
  const key = Buffer.allocUnsafe(16);
  let byte = 0;
  for (let i = 0; i < 36;) {
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (eventId.charCodeAt(i++) !== DASH) return eventId;
      continue;
    }
    const high = HEX_VALUE[eventId.charCodeAt(i++)] ?? -1;
    const low = HEX_VALUE[eventId.charCodeAt(i++)] ?? -1;
    if (high < 0 || low < 0) return eventId;
    key[byte++] = (high << 4) | low;
  }
  return key;
}

export function eventIdOf(key: EventKey): string {
  if (typeof key === 'string') return key;
  const hex = key.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** `JSON.stringify(metrics.map((m) => [m.name, m.value]))`, written out (once per stored event). */
export function encodeMetrics(metrics: readonly Metric[]): string {
  let text = '';
  for (const { name, value } of metrics) text += `${text === '' ? '[' : ','}[${jsonString(name)},${jsonNumber(value)}]`;
  return text === '' ? '[]' : `${text}]`;
}

export const decodeMetrics = (text: string): Metric[] => (JSON.parse(text) as [string, number][]).map(([name, value]) => ({ name, value }));
