/**
 * The Stream port: a partitioned, durable, ordered log (OCI Streaming or the embedded log).
 * Offsets are per partition, start at 0 and grow by one per message. Positions are plain
 * numbers so both backends fit; nothing here is specific to SQLite or to OCI.
 */

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

export interface Stream {
  /** Partition ids of a topic, ascending. */
  partitions(topic: TopicName): Promise<readonly number[]>;
  /**
   * Appends records and resolves only once they are durable, with each record's position
   * in input order. All-or-nothing: on failure none of the records is visible.
   * Rejects with a retryable BackendError when the stream is unavailable or full.
   */
  produce(topic: TopicName, records: readonly ProduceRecord[]): Promise<RecordPosition[]>;
  /** Up to `limit` messages of one partition with offset >= fromOffset, in offset order. */
  read(topic: TopicName, partition: number, fromOffset: number, limit: number): Promise<StreamMessage[]>;
  /** The offset the next message of each partition will get (0 for an empty partition). */
  endOffsets(topic: TopicName): Promise<ReadonlyMap<number, number>>;
  /** Records that `group` has processed `partition` up to and including `offset`. */
  commit(group: string, topic: TopicName, partition: number, offset: number): Promise<void>;
  /** The last offset `group` committed for `partition`, or undefined if none. */
  committed(group: string, topic: TopicName, partition: number): Promise<number | undefined>;
  close(): Promise<void>;
}
