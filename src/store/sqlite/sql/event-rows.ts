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

const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function eventKey(eventId: string): EventKey {
  return CANONICAL_UUID.test(eventId) ? Buffer.from(eventId.replaceAll('-', ''), 'hex') : eventId;
}

export function eventIdOf(key: EventKey): string {
  if (typeof key === 'string') return key;
  const hex = key.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export const encodeMetrics = (metrics: readonly Metric[]): string => JSON.stringify(metrics.map((m) => [m.name, m.value]));

export const decodeMetrics = (text: string): Metric[] => (JSON.parse(text) as [string, number][]).map(([name, value]) => ({ name, value }));
