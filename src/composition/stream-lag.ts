import type { PartitionLag } from '../metrics/consumer-metrics';
import type { EmbeddedStream } from '../stream/embedded/embedded-stream';

/**
 * How far the consumer trails the embedded log, per partition it reads: the messages between
 * its next offset and the log's end, and the age of the first of them (the log stamps each
 * message when it is appended). Two small queries per partition, run only when a scrape asks.
 */
export async function embeddedStreamLag(stream: EmbeddedStream, positions: ReadonlyMap<number, number>, now = Date.now()): Promise<PartitionLag[]> {
  const ends = await stream.endOffsets('readings');
  const lag: PartitionLag[] = [];
  for (const [partition, next] of positions) {
    const messages = Math.max(0, (ends.get(partition) ?? 0) - next);
    const [oldest] = messages > 0 ? await stream.read('readings', partition, next, 1) : [];
    lag.push({ partition, messages, seconds: oldest ? Math.max(0, (now - oldest.timestamp) / 1000) : 0 });
  }
  return lag;
}
