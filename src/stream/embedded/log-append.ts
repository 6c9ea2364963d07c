import type Database from 'better-sqlite3';
import type { TopicName } from '../stream';
import { positionOf } from './log-positions';
import { Partitioner } from './partitioner';

/** One produce call of a group: `count` consecutive records of the group's key and value lists. */
export interface AppendRun {
  readonly topic: TopicName;
  readonly count: number;
}

/**
 * A group of produces, flattened: plain string lists cross a thread boundary far cheaper than
 * one object per record.
 */
export interface AppendGroup {
  readonly runs: readonly AppendRun[];
  readonly keys: readonly string[];
  readonly values: readonly string[];
}

/**
 * Appends groups of produces to the log, each group in one IMMEDIATE transaction (one fsync
 * for all of them, all-or-nothing). Used by the writer thread, which owns `db`.
 */
export class LogAppender {
  private readonly partitioners = new Map<TopicName, Partitioner>();
  private readonly heads: Database.Statement<[TopicName], { partition: number; next_offset: number }>;
  private readonly updateHead: Database.Statement<[number, TopicName, number]>;
  private readonly inserts = new Map<TopicName, Database.Statement<[number, string, string, number]>>();
  private readonly transaction: (group: AppendGroup) => Float64Array;

  constructor(db: Database.Database, partitionCounts: ReadonlyMap<TopicName, number>) {
    for (const [topic, count] of partitionCounts) {
      this.partitioners.set(topic, new Partitioner(count));
      this.inserts.set(topic, db.prepare(`INSERT INTO log_${topic} (position, key, value, ts) VALUES (?, ?, ?, ?)`));
    }
    this.heads = db.prepare('SELECT partition, next_offset FROM partition_heads WHERE topic = ?');
    this.updateHead = db.prepare('UPDATE partition_heads SET next_offset = ? WHERE topic = ? AND partition = ?');
    const append = db.transaction((group: AppendGroup) => this.appendInTransaction(group));
    this.transaction = (group) => append.immediate(group);
  }

  /** The packed position (log-positions.ts) of every record of the group, in order. */
  append(group: AppendGroup): Float64Array {
    return this.transaction(group);
  }

  /**
   * Heads are read inside the write transaction, so they cannot race another writer; each
   * topic's heads are read and written once per group however many produces it holds.
   */
  private appendInTransaction(group: AppendGroup): Float64Array {
    const positions = new Float64Array(group.keys.length);
    const now = Date.now();
    const read = new Map<TopicName, ReadonlyMap<number, number>>();
    const moved = new Map<TopicName, Map<number, number>>();
    let at = 0;
    for (const run of group.runs) {
      const partitioner = this.partitioners.get(run.topic);
      const insert = this.inserts.get(run.topic);
      if (partitioner === undefined || insert === undefined) throw new Error(`unknown topic ${run.topic}`);
      let next = moved.get(run.topic);
      if (next === undefined) {
        const heads = new Map(this.heads.all(run.topic).map((head) => [head.partition, head.next_offset]));
        read.set(run.topic, heads);
        next = new Map(heads);
        moved.set(run.topic, next);
      }
      for (const end = at + run.count; at < end; at++) {
        const key = group.keys[at]!;
        const partition = partitioner.partitionOf(key);
        const offset = next.get(partition) ?? 0;
        next.set(partition, offset + 1);
        positions[at] = positionOf(partition, offset);
        insert.run(positions[at]!, key, group.values[at]!, now);
      }
    }
    for (const [topic, next] of moved) {
      const before = read.get(topic)!;
      for (const [partition, offset] of next) if (before.get(partition) !== offset) this.updateHead.run(offset, topic, partition);
    }
    return positions;
  }
}
