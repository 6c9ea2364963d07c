/**
 * Key -> partition for the embedded log: FNV-1a 32-bit over the UTF-8 key. Stable across
 * processes and versions, so a device keeps its partition (and its order) across restarts.
 */
export function partitionForKey(key: string, partitionCount: number): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(key, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitionCount;
}

/** partitionForKey with a bounded memo: a fleet sends the same device keys over and over. */
export class Partitioner {
  private readonly memo = new Map<string, number>();

  constructor(
    private readonly partitionCount: number,
    private readonly maxEntries = 100_000,
  ) {}

  partitionOf(key: string): number {
    let partition = this.memo.get(key);
    if (partition === undefined) {
      partition = partitionForKey(key, this.partitionCount);
      if (this.memo.size >= this.maxEntries) this.memo.clear();
      this.memo.set(key, partition);
    }
    return partition;
  }
}
