/**
 * The Stream port: a partitioned, durable, ordered log (OCI Streaming or the embedded log).
 * Offsets are per partition, start at 0 and grow by one per message. Positions are plain
 * numbers so both backends fit; nothing here is specific to SQLite or to OCI.
 */

import { BackendError } from '../domain/errors';

/** Topics the service uses. `readings` carries ingested readings as CloudEvents. */
export type TopicName = 'readings' | 'events';

export interface ProduceRecord {
  /** Partition key: the same key always lands in the same partition (per-device order). */
  readonly key: string;
  /** The message body (a JSON CloudEvent). */
  readonly value: string;
}

export interface RecordPosition {
  readonly partition: number;
  readonly offset: number;
}

export interface StreamMessage extends RecordPosition {
  readonly key: string;
  readonly value: string;
  /** When the stream accepted the message, UTC ms. */
  readonly timestamp: number;
}

export interface StreamTail {
  /** Up to `limit` messages following those returned before; empty when none are new. */
  next(limit: number): Promise<StreamMessage[]>;
}

/**
 * One consumer instance's membership of a group: the stream divides partitions among the
 * group's live instances. The database watermark is the record of what was applied, so the
 * consumer says where each partition resumes (`poll`); `commit` mirrors that progress into
 * the stream's own record (consumer lag for operators, retention), never ahead of it.
 */
export interface ConsumerGroupMember {
  /** Renews this instance's membership and returns the partitions it holds now, ascending. */
  assigned(): Promise<readonly number[]>;
  /**
   * The next messages of the partitions in `from`, each starting exactly at its offset there
   * (messages before it are skipped, none after it is missed), in offset order, at most
   * `limit` per partition. A partition with nothing new is absent or empty.
   */
  poll(from: ReadonlyMap<number, number>, limit: number): Promise<ReadonlyMap<number, StreamMessage[]>>;
  /**
   * Records that each partition in `next` is applied below that offset. Call it only after
   * the database commit. A failed commit loses nothing: the watermark still decides.
   */
  commit(next: ReadonlyMap<number, number>): Promise<void>;
  /** Leaves the group: its partitions go to the other instances. */
  leave(): Promise<void>;
}

/**
 * A produce that appended some records and not others: OCI Streaming accepts the entries of a
 * request one by one, and a large produce takes several requests. `positions` has an entry
 * for each record appended, undefined for the others. Always retryable.
 */
export class PartialProduceError extends BackendError {
  constructor(
    message: string,
    readonly positions: readonly (RecordPosition | undefined)[],
    cause?: unknown,
  ) {
    super(message, true, cause);
    this.name = 'PartialProduceError';
  }
}

export interface Stream {
  /** Partition ids of a topic, ascending. */
  partitions(topic: TopicName): Promise<readonly number[]>;
  /**
   * Appends records and resolves only once they are all durable, with each record's position
   * in input order. Rejects with a BackendError (retryable when the stream is unavailable or
   * throttling) when none was appended, or with a PartialProduceError saying which were (the
   * embedded log is all-or-nothing, OCI Streaming is not).
   */
  produce(topic: TopicName, records: readonly ProduceRecord[]): Promise<RecordPosition[]>;
  /** Up to `limit` messages of one partition with offset >= fromOffset, in offset order. */
  read(topic: TopicName, partition: number, fromOffset: number, limit: number): Promise<StreamMessage[]>;
  /**
   * A live reader of one partition: it returns only messages appended after this call, in
   * offset order (API nodes tail the events topic this way).
   */
  openTail(topic: TopicName, partition: number): Promise<StreamTail>;
  /** Joins a consumer group on a topic as `instance` (unique per running consumer). */
  joinGroup(group: string, topic: TopicName, instance: string): Promise<ConsumerGroupMember>;
  close(): Promise<void>;
}
