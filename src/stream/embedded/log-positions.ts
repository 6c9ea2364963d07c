/**
 * Each topic is one rowid table whose integer key packs partition and offset:
 * position = partition * 2^40 + offset. One B-tree, appends land at the end of each
 * partition's range, and a partition read is a single range scan. 2^40 offsets per
 * partition and up to 8192 partitions stay inside JavaScript's safe integers (and inside a
 * Float64Array, which is how the writer thread hands positions back).
 */
export const OFFSET_SPAN = 2 ** 40;
export const MAX_PARTITIONS = 8192;

export const positionOf = (partition: number, offset: number): number => partition * OFFSET_SPAN + offset;

export const partitionOfPosition = (position: number): number => Math.floor(position / OFFSET_SPAN);

export const offsetOfPosition = (position: number): number => position % OFFSET_SPAN;
