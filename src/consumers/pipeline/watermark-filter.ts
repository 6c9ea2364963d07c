import type { NewDeadLetter } from '../../domain/dead-letter';
import type { PartitionBatch } from '../../domain/consumer-batch';

/**
 * What of a partition's slice lies beyond its stored watermark (a replay delivers messages at
 * or below it again): step 1 of the batch pipeline.
 */
export function beyondWatermark(
  slice: PartitionBatch,
  watermark: number,
): { readings: PartitionBatch['readings']; deadLetters: NewDeadLetter[]; skipped: number } {
  if (slice.lastOffset <= watermark) return { readings: [], deadLetters: [], skipped: slice.readings.length + slice.deadLetters.length };
  const readings = slice.readings.filter((reading) => reading.offset > watermark);
  return { readings, deadLetters: slice.deadLetters.filter((letter) => letter.offset > watermark), skipped: slice.readings.length - readings.length };
}
