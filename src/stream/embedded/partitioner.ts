/**
 * Key -> partition for the embedded log: FNV-1a 32-bit over the UTF-8 key. Stable across
 * processes and versions, so a device keeps its partition (and its order) across restarts.
 */
export function partitionForKey(key: string, partitionCount: number): number {
  let hash = 0x811c9dc5;
  const bytes = Buffer.from(key, 'utf8');
  for (const byte of bytes) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitionCount;
}
