import type { ProduceRecord, RecordPosition, Stream, TopicName } from './stream';

/**
 * Whether the stream takes writes, learnt from the writes themselves: a readiness probe cannot
 * append a test message without polluting the stream, and reading proves nothing about a full
 * disk or a throttled OCI stream.
 */
export interface ProduceHealth {
  /** Null when the stream takes writes as far as this process knows; otherwise why not. */
  failure(now?: number): string | null;
}

/**
 * How long a failed produce keeps the node "not ready" when no other produce follows: without
 * traffic nothing would ever prove the stream writable again, so the node offers itself again
 * after this and the next write decides.
 */
const FAILURE_HOLD_MS = 10_000;

/** The same stream, with every produce's outcome recorded for ProduceHealth. */
export function watchProduces(stream: Stream): { readonly stream: Stream; readonly health: ProduceHealth } {
  let lastFailure: { at: number; message: string } | undefined;
  const produce = async (topic: TopicName, records: readonly ProduceRecord[]): Promise<RecordPosition[]> => {
    try {
      const positions = await stream.produce(topic, records);
      lastFailure = undefined;
      return positions;
    } catch (error) {
      lastFailure = { at: Date.now(), message: error instanceof Error ? error.message : String(error) };
      throw error;
    }
  };
  return {
    stream: {
      partitions: (topic) => stream.partitions(topic),
      produce,
      read: (topic, partition, fromOffset, limit) => stream.read(topic, partition, fromOffset, limit),
      openTail: (topic, partition) => stream.openTail(topic, partition),
      joinGroup: (group, topic, instance) => stream.joinGroup(group, topic, instance),
      close: () => stream.close(),
    },
    health: {
      failure: (now = Date.now()) =>
        lastFailure && now - lastFailure.at < FAILURE_HOLD_MS
          ? `the last write to the stream failed ${Math.round((now - lastFailure.at) / 1000)} s ago: ${lastFailure.message}`
          : null,
    },
  };
}
