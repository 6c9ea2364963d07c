import type Database from 'better-sqlite3';
import { BackendError } from '../../domain/errors';
import type { ConsumerGroupMember, ProduceRecord, RecordPosition, Stream, StreamMessage, StreamTail, TopicName } from '../stream';
import { openLogConnection, type LogConnectionOptions } from './log-connection';
import { MAX_PARTITIONS, OFFSET_SPAN, positionOf } from './log-positions';
import { LogWriterThread } from './log-writer-thread';

export interface EmbeddedStreamOptions extends LogConnectionOptions {
  /** Partitions of each topic when the log is created. @default 4 */
  readonly partitions: number;
  /** Shortest time between a writer thread stopping and the start of the next, ms. @default 1000 */
  readonly writerRestartPauseMs?: number;
  /** Most record bytes that may wait while a commit is in flight; more produces fail, retryable. @default 64 MiB */
  readonly maxPendingProduceBytes?: number;
  /**
   * A WakeSignal's buffer (stream/wake-signal.ts) that the writer thread rings after each
   * commit that appended readings, once it has answered the produces: a consumer of this
   * process that listens to it hears of new readings from the thread that made them durable,
   * and the thread that produced them does not pay for waking it.
   */
  readonly readingsAppended?: SharedArrayBuffer;
}

const TOPICS: readonly TopicName[] = ['readings', 'events'];

/**
 * The embedded durable log: a SQLite file in WAL mode that several processes may share.
 * Produces are written by a writer thread with its own connection (LogWriterThread: group
 * commit, one fsync per group), started on the first produce, so a handle that only reads and
 * commits offsets (the consumer's) never starts one. Reads, offset commits and retention run
 * on this handle's connection, which sees whatever the writer committed.
 */
export class EmbeddedStream implements Stream {
  private readonly db: Database.Database;
  private readonly partitionCounts = new Map<TopicName, number>();
  private writer: LogWriterThread | undefined;
  /** Commits of writer threads that stopped and were replaced. */
  private retiredCommits = 0;
  private closed = false;
  /** Statements the read path runs on every poll, prepared once (preparing was ~6% of the consumer thread). */
  private readonly statements = new Map<string, Database.Statement>();

  constructor(private readonly options: EmbeddedStreamOptions) {
    if (!Number.isInteger(options.partitions) || options.partitions < 1 || options.partitions > MAX_PARTITIONS) {
      throw new RangeError(`partitions must be an integer from 1 to ${MAX_PARTITIONS}`);
    }
    this.db = openLogConnection(options);
    try {
      this.initialise(options.partitions);
    } catch (error) {
      this.db.close();
      throw error;
    }
  }

  private initialise(partitions: number): void {
    this.db
      .transaction(() => {
        this.db.exec(`
        CREATE TABLE IF NOT EXISTS topics (name TEXT PRIMARY KEY, partitions INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS partition_heads (
          topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
          PRIMARY KEY (topic, partition)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS consumer_offsets (
          group_id TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL,
          committed_offset INTEGER NOT NULL, updated_at INTEGER NOT NULL,
          PRIMARY KEY (group_id, topic, partition)) WITHOUT ROWID;`);
        for (const topic of TOPICS) {
          this.db.exec(`CREATE TABLE IF NOT EXISTS log_${topic} (position INTEGER PRIMARY KEY, key TEXT NOT NULL, value TEXT NOT NULL, ts INTEGER NOT NULL)`);
          const row = this.db.prepare('SELECT partitions FROM topics WHERE name = ?').get(topic) as { partitions: number } | undefined;
          if (row === undefined) {
            this.db.prepare('INSERT INTO topics (name, partitions) VALUES (?, ?)').run(topic, partitions);
            const head = this.db.prepare('INSERT INTO partition_heads (topic, partition, next_offset) VALUES (?, ?, 0)');
            for (let p = 0; p < partitions; p++) head.run(topic, p);
            this.partitionCounts.set(topic, partitions);
          } else if (row.partitions !== partitions) {
            // Changing the count would move devices to other partitions and break per-device order.
            throw new Error(
              `the stream log has ${row.partitions} partitions for topic "${topic}" but ${partitions} are configured; ` +
                'the partition count of an existing log cannot change (set TELEMETRY_PARTITIONS to match, or use a new data directory)',
            );
          } else {
            this.partitionCounts.set(topic, row.partitions);
          }
        }
      })
      .immediate();
  }

  async partitions(topic: TopicName): Promise<readonly number[]> {
    return Array.from({ length: this.partitionCount(topic) }, (_, p) => p);
  }

  private partitionCount(topic: TopicName): number {
    const count = this.partitionCounts.get(topic);
    if (count === undefined) throw new BackendError(`unknown topic ${topic}`, false);
    return count;
  }

  produce(topic: TopicName, records: readonly ProduceRecord[]): Promise<RecordPosition[]> {
    if (this.closed) return Promise.reject(new BackendError('stream is closed', true));
    if (!this.partitionCounts.has(topic)) return Promise.reject(new BackendError(`unknown topic ${topic}`, false));
    if (records.length === 0) return Promise.resolve([]);
    const stopped = this.writer?.stoppedBecause;
    // A writer that keeps dying (the file unwritable, the disk full) is restarted at most once
    // a second, not on every produce; meanwhile produces fail as it did (retryable).
    if (stopped && Date.now() - stopped.at < (this.options.writerRestartPauseMs ?? 1000)) return Promise.reject(stopped.reason);
    if (this.writer === undefined || stopped) {
      // A writer that died has rejected what it held; the next produce gets a fresh thread.
      this.retiredCommits += this.writer?.commits ?? 0;
      this.writer = new LogWriterThread(
        { file: this.options.file, synchronous: this.options.synchronous, busyTimeoutMs: this.options.busyTimeoutMs },
        this.partitionCounts,
        this.options.maxPendingProduceBytes,
        this.options.readingsAppended,
      );
    }
    return this.writer.append(topic, records);
  }

  /** Append transactions committed through this handle (one per group of produces). */
  get commits(): number {
    return this.retiredCommits + (this.writer?.commits ?? 0);
  }

  async read(topic: TopicName, partition: number, fromOffset: number, limit: number): Promise<StreamMessage[]> {
    this.checkPartition(topic, partition);
    // Rows as arrays (raw): better-sqlite3 builds an object per row otherwise, only to be copied below.
    const rows = this.statement(`SELECT position, key, value, ts FROM log_${topic} WHERE position >= ? AND position < ? ORDER BY position LIMIT ?`)
      .raw()
      .all(positionOf(partition, Math.max(0, fromOffset)), positionOf(partition + 1, 0), limit) as [position: number, key: string, value: string, ts: number][];
    return rows.map((row) => ({ partition, offset: row[0] - partition * OFFSET_SPAN, key: row[1], value: row[2], timestamp: row[3] }));
  }

  /**
   * One machine, one consumer: the embedded log gives every partition to every member (two
   * consumers on one log stay correct, because the database watermark decides what applies).
   * Commits land in consumer_offsets, which retention respects.
   */
  async joinGroup(group: string, topic: TopicName, _instance: string): Promise<ConsumerGroupMember> {
    const partitions = await this.partitions(topic);
    const committed = new Map<number, number>();
    return {
      assigned: async () => partitions,
      poll: async (from, limit) => {
        const polled = new Map<number, StreamMessage[]>();
        for (const [partition, offset] of from) polled.set(partition, await this.read(topic, partition, offset, limit));
        return polled;
      },
      commit: async (next) => {
        const changed = [...next].filter(([partition, offset]) => committed.get(partition) !== offset);
        if (changed.length === 0) return; // idle consumers commit every round
        this.db.transaction(() => {
          for (const [partition, offset] of changed) this.commitSync(group, topic, partition, offset);
        })();
        for (const [partition, offset] of changed) committed.set(partition, offset);
      },
      leave: async () => {},
    };
  }

  async openTail(topic: TopicName, partition: number): Promise<StreamTail> {
    this.checkPartition(topic, partition);
    let next = (await this.endOffsets(topic)).get(partition) ?? 0;
    return {
      next: async (limit) => {
        const messages = await this.read(topic, partition, next, limit);
        if (messages.length > 0) next = messages[messages.length - 1]!.offset + 1;
        return messages;
      },
    };
  }

  /** The offset the next message of each partition will get (0 for an empty partition). */
  async endOffsets(topic: TopicName): Promise<ReadonlyMap<number, number>> {
    const rows = this.statement('SELECT partition, next_offset FROM partition_heads WHERE topic = ? ORDER BY partition').all(topic) as {
      partition: number;
      next_offset: number;
    }[];
    return new Map(rows.map((row) => [row.partition, row.next_offset]));
  }

  /** Records `offset` as the next message `group` will read from the partition. */
  async commit(group: string, topic: TopicName, partition: number, offset: number): Promise<void> {
    this.commitSync(group, topic, partition, offset);
  }

  private commitSync(group: string, topic: TopicName, partition: number, offset: number): void {
    this.checkPartition(topic, partition);
    this.statement(
      `INSERT INTO consumer_offsets (group_id, topic, partition, committed_offset, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (group_id, topic, partition) DO UPDATE SET committed_offset = excluded.committed_offset, updated_at = excluded.updated_at`,
    ).run(group, topic, partition, offset, Date.now());
  }

  async committed(group: string, topic: TopicName, partition: number): Promise<number | undefined> {
    return this.committedSync(group, topic, partition);
  }

  private committedSync(group: string, topic: TopicName, partition: number): number | undefined {
    const row = this.statement('SELECT committed_offset FROM consumer_offsets WHERE group_id = ? AND topic = ? AND partition = ?').get(
      group,
      topic,
      partition,
    ) as { committed_offset: number } | undefined;
    return row?.committed_offset;
  }

  /**
   * Retention by age: drops each partition's messages accepted before `cutoff` (UTC ms), at
   * most `limit` in all (the oldest of each partition first; all when undefined), and returns
   * how many it dropped. Offsets are never reused, so readers simply resume at the first
   * remaining message. For a topic named in `consumedBy`, a message that group has not
   * committed is kept whatever its age: a consumer that was down longer than the retention
   * loses nothing.
   */
  deleteOlderThan(cutoff: number, consumedBy: Partial<Record<TopicName, string>> = {}, limit?: number): number {
    let deleted = 0;
    for (const topic of TOPICS) {
      const group = consumedBy[topic];
      for (let p = 0; p < this.partitionCount(topic); p++) {
        const left = (limit ?? Infinity) - deleted;
        if (left <= 0) return deleted;
        const [low, high] = [positionOf(p, 0), positionOf(p + 1, 0)];
        const committed = group === undefined ? undefined : this.committedSync(group, topic, p);
        const keepFrom = group === undefined ? high : positionOf(p, Math.max(0, committed ?? 0));
        // Append time grows with offset, so the expired messages are a prefix of the partition;
        // the lowest positions of that prefix go first, so what is left is a prefix too. One
        // range of the primary key: no list of positions is built, however long the prefix
        // (offsets are consecutive, so `left` positions from the first one hold at most `left`).
        deleted += this.db
          .prepare(
            `DELETE FROM log_${topic} WHERE position >= :low AND position < MIN(:keepFrom,
               COALESCE((SELECT MIN(position) FROM log_${topic} WHERE position >= :low AND position < :high AND ts >= :cutoff), :high),
               COALESCE((SELECT MIN(position) FROM log_${topic} WHERE position >= :low AND position < :high) + :left, :high))`,
          )
          .run({ low, keepFrom, high, cutoff, left: Number.isFinite(left) ? left : null }).changes;
      }
    }
    return deleted;
  }

  private statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (statement === undefined) this.statements.set(sql, (statement = this.db.prepare(sql)));
    return statement;
  }

  private checkPartition(topic: TopicName, partition: number): void {
    if (!Number.isInteger(partition) || partition < 0 || partition >= this.partitionCount(topic)) {
      throw new BackendError(`topic ${topic} has no partition ${partition}`, false);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.writer?.close(); // commits what is pending first
    } finally {
      this.db.close();
    }
  }
}
