import { byPartition, type DeliveredMessage } from '../domain/connector-hub-batch';
import type { PartitionBatch } from '../domain/consumer-batch';
import { BackendError } from '../domain/errors';
import type { PersistedReading } from '../domain/reading';
import type { Logger } from '../logger';
import type { ReadingStore } from '../store/ports/reading-store';
import type { Stream, StreamMessage } from '../stream/stream';
import { READINGS_SOURCE, type BatchApplier, type DetectionEvents } from './batch-applier';

export interface DeliveredBatchConsumerOptions {
  readonly applier: BatchApplier;
  /** Where the watermarks are read (the same store the applier writes). */
  readonly store: ReadingStore;
  /** The readings stream, read to fill what a delivered batch skipped. */
  readonly stream: Stream;
  /** Publishes a committed batch to the events topic (EventPublisher). */
  readonly publisher: {
    publish(readings: readonly PersistedReading[], events?: DetectionEvents): void;
    flushed(): Promise<void>;
  };
  readonly logger: Logger;
  /**
   * Most messages read from the stream per invocation to fill gaps; past it, what is
   * contiguous is applied and the invocation fails so the connector delivers again (each
   * attempt moves the watermark on). @default 5000
   */
  readonly maxFilledMessages?: number;
}

/** What one delivered batch did. */
export interface DeliveredBatchResult {
  /** Readings stored (newly visible). */
  readonly applied: number;
  /** Delivered messages at or below their partition's watermark: applied before (a redelivery). */
  readonly alreadyApplied: number;
  /** Messages read from the stream because the batch skipped them. */
  readonly filled: number;
  readonly deadLetters: number;
  readonly duplicates: number;
  /** Each partition's watermark after the batch (the last offset applied). */
  readonly watermarks: Readonly<Record<number, number>>;
}

/** Thrown after committing the contiguous part of a batch whose gaps were too large to fill in one invocation. */
export class BacklogRemainsError extends BackendError {
  constructor(message: string) {
    super(message, true);
    this.name = 'BacklogRemainsError';
  }
}

/**
 * A pushed batch -> the consumer pipeline, for consumers the stream does not poll for (the
 * OCI Function behind a Connector Hub connector). The database watermark, not the batch,
 * says where each partition resumes: messages at or below it are skipped (applyBatch checks
 * again inside its transaction, so a concurrent consumer cannot make one apply twice), and
 * offsets between the watermark and the batch's (a gap: the connector started later, or
 * skipped a batch after retries) are read from the stream first, so the watermark never moves
 * past a message that was not applied. After the commit the batch is published to the events
 * topic, and the call resolves only once that is done: a function may be frozen as soon as it
 * answers.
 */
export class DeliveredBatchConsumer {
  constructor(private readonly options: DeliveredBatchConsumerOptions) {}

  async consume(messages: readonly DeliveredMessage[]): Promise<DeliveredBatchResult> {
    const watermarks = await this.options.store.watermarks(READINGS_SOURCE);
    let budget = this.options.maxFilledMessages ?? 5000;
    let alreadyApplied = 0;
    let filled = 0;
    let incomplete: string | undefined;
    const slices: PartitionBatch[] = [];
    for (const [partition, delivered] of byPartition(messages)) {
      const watermark = watermarks.get(partition) ?? -1;
      const fresh = delivered.filter((message) => message.offset > watermark);
      alreadyApplied += delivered.length - fresh.length;
      if (fresh.length === 0) continue;
      const contiguous = await this.fillGaps(partition, watermark + 1, fresh, budget);
      budget -= contiguous.filled;
      filled += contiguous.filled;
      if (contiguous.stoppedAt !== undefined) incomplete ??= `partition ${partition} applied up to offset ${contiguous.stoppedAt - 1}`;
      if (contiguous.messages.length > 0) slices.push(await this.options.applier.decode(partition, contiguous.messages));
    }
    const round = slices.length > 0 ? await this.options.applier.apply(slices) : undefined;
    if (round) {
      this.options.publisher.publish(round.persisted, round.events);
      await this.options.publisher.flushed();
    }
    if (incomplete)
      throw new BacklogRemainsError(`the batch starts after a gap larger than one invocation fills: ${incomplete}; the rest on the next delivery`);
    const after: Record<number, number> = Object.fromEntries(watermarks);
    for (const slice of slices) after[slice.partition] = slice.lastOffset;
    return {
      applied: round?.persisted.length ?? 0,
      alreadyApplied,
      filled,
      deadLetters: round?.deadLetters ?? 0,
      duplicates: round?.duplicates ?? 0,
      watermarks: after,
    };
  }

  /**
   * The messages from `from` to the last fresh one, with every offset the batch skipped read
   * from the stream. Offsets the stream no longer has (its retention removed them) are logged
   * as lost, as the long-running consumer does. `stoppedAt`: the first offset not included,
   * when the fill budget ran out.
   */
  private async fillGaps(
    partition: number,
    from: number,
    fresh: readonly DeliveredMessage[],
    budget: number,
  ): Promise<{ messages: StreamMessage[]; filled: number; stoppedAt?: number }> {
    const messages: StreamMessage[] = [];
    let next = from;
    let filled = 0;
    for (const message of fresh) {
      while (next < message.offset) {
        if (filled >= budget) return { messages, filled, stoppedAt: next };
        const read = await this.options.stream.read('readings', partition, next, Math.min(message.offset - next, budget - filled));
        const missing = read.filter((found) => found.offset < message.offset);
        const firstFound = missing[0]?.offset ?? message.offset;
        if (firstFound > next) {
          this.options.logger.error(
            { partition, firstLost: next, lastLost: firstFound - 1 },
            'messages expired from the stream before they were stored; continuing from the oldest one left',
          );
        }
        messages.push(...missing);
        filled += missing.length;
        next = missing.length > 0 ? missing[missing.length - 1]!.offset + 1 : message.offset;
      }
      messages.push({ partition, offset: message.offset, key: message.key, value: message.value, timestamp: message.timestamp });
      next = message.offset + 1;
    }
    return { messages, filled };
  }
}
