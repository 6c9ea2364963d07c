/**
 * Subscription cursors. A cursor is the subscriber's position in every stream partition it
 * has seen: partition -> last delivered offset. Offsets are commit-ordered within a partition
 * (one consumer applies a partition in order), so "everything after this cursor" is exact,
 * which a timestamp could never be. Opaque to clients: base64url of `v1:p=o,p=o`.
 */
export type PartitionPositions = ReadonlyMap<number, number>;

const VERSION = 'v1';

export function encodeCursor(positions: PartitionPositions): string {
  const parts = [...positions.entries()].sort((a, b) => a[0] - b[0]).map(([p, o]) => `${p}=${o}`);
  return Buffer.from(`${VERSION}:${parts.join(',')}`, 'utf8').toString('base64url');
}

/** Decodes a cursor; undefined when it is not one this server issued. */
export function decodeCursor(cursor: string): Map<number, number> | undefined {
  if (cursor.length > 4096) return undefined;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const [version, body] = [text.slice(0, 3), text.slice(3)];
  if (version !== `${VERSION}:`) return undefined;
  const positions = new Map<number, number>();
  if (body.length === 0) return positions;
  for (const part of body.split(',')) {
    const match = /^(\d{1,6})=(-?\d{1,16})$/.exec(part);
    if (!match) return undefined;
    positions.set(Number(match[1]), Number(match[2]));
  }
  return positions;
}

/** Page cursors for list queries: an opaque wrapper around a JSON key. */
export function encodePageCursor(key: unknown): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

export function decodePageCursor<T>(cursor: string, check: (value: unknown) => value is T): T | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    return check(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
