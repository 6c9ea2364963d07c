import type { ConsumerGroupMember, StreamMessage } from '../stream';

/** The OCI Streaming calls a group member makes, already paced and retried by OciStream. */
export interface GroupCalls {
  /** GetMessages with a group cursor: messages of the partitions OCI reserves to this instance. */
  getMessages(cursor: string, limit: number): Promise<{ messages: StreamMessage[]; nextCursor: string }>;
  /** GetMessages with an AT_OFFSET cursor on one partition. */
  readAt(partition: number, offset: number, limit: number): Promise<StreamMessage[]>;
  /** ConsumerHeartbeat: extends the reservations; returns the updated cursor. */
  heartbeat(cursor: string): Promise<string>;
  /** ConsumerCommit: commits what the cursor has returned; returns the updated cursor. */
  commit(cursor: string): Promise<string>;
  /** GetGroup: the partitions reserved to this instance now, ascending. */
  reservedPartitions(): Promise<readonly number[]>;
}

/**
 * A consumer-group member on OCI Streaming. It reads through the group cursor, so OCI knows
 * what this instance consumed and ConsumerCommit can record it, while the database watermark
 * (`from`) decides where each partition resumes:
 * - a newly held partition first catches up from the watermark with AT_OFFSET cursors, up to
 *   the group cursor's next message or the end of the partition: the group may have committed
 *   more than this database holds (a restored or new database), and those messages must not
 *   be lost, even if no new message ever arrives to reveal the gap;
 * - group messages below the watermark are skipped: the group committed less than the
 *   database holds (a crash between the database commit and ConsumerCommit).
 * Commits happen only once every message the group cursor returned is applied, so the group's
 * offsets never lead the database.
 */
export class OciGroupMember implements ConsumerGroupMember {
  private readonly buffered = new Map<number, StreamMessage[]>();
  /** Highest offset the group cursor returned per partition since the last commit. */
  private readonly uncommitted = new Map<number, number>();
  /** Partitions read from the watermark up to where the group cursor takes over. */
  private readonly caughtUp = new Set<number>();
  private fetched = false;

  constructor(
    private cursor: string,
    private readonly calls: GroupCalls,
  ) {}

  async assigned(): Promise<readonly number[]> {
    // OCI may reserve partitions only once the instance calls GetMessages: do it before the
    // first GetGroup (what it returns stays buffered, nothing is dropped).
    if (!this.fetched) await this.fetch(1);
    this.cursor = await this.calls.heartbeat(this.cursor);
    const reserved = await this.calls.reservedPartitions();
    // A partition OCI gave to another instance: its buffered messages are that instance's now.
    for (const partition of new Set([...this.buffered.keys(), ...this.caughtUp])) {
      if (!reserved.includes(partition)) this.forget(partition);
    }
    return reserved;
  }

  async poll(from: ReadonlyMap<number, number>, limit: number): Promise<ReadonlyMap<number, StreamMessage[]>> {
    // A partition the caller does not poll now (OCI reserved it before the caller's next
    // assigned(), or the caller reads a subset) catches up from its watermark when polled
    // again. Its buffered messages are dropped rather than kept: kept, they counted against
    // the buffer's bound below and, once a batch of them was held, stopped every fetch, so
    // the polled partitions never saw their new messages (a stall the contract suite hit).
    // What the group cursor returned stays uncommitted until applied or handed away.
    for (const partition of this.caughtUp) if (!from.has(partition)) this.caughtUp.delete(partition);
    for (const partition of this.buffered.keys()) if (!from.has(partition)) this.buffered.delete(partition);
    // Fetch even when `from` is empty (GetMessages is how OCI reserves partitions), but keep
    // at most about two batches in memory while a partition catches up.
    let buffered = 0;
    for (const buffer of this.buffered.values()) buffered += buffer.length;
    if (buffered < limit) await this.fetch(limit);

    const polled = new Map<number, StreamMessage[]>();
    for (const [partition, start] of from) {
      const buffer = this.buffered.get(partition) ?? [];
      const firstWanted = buffer.findIndex((message) => message.offset >= start);
      buffer.splice(0, firstWanted === -1 ? buffer.length : firstWanted);
      const groupNext = buffer[0]?.offset;
      if (groupNext === start) {
        this.caughtUp.add(partition);
        polled.set(partition, buffer.splice(0, limit));
        continue;
      }
      if (groupNext === undefined && this.caughtUp.has(partition)) continue; // nothing new
      // Catching up, or a gap before the group cursor's next message: read from the watermark.
      const gap = await this.calls.readAt(partition, start, groupNext === undefined ? limit : Math.min(limit, groupNext - start));
      const read = groupNext === undefined ? gap : gap.filter((message) => message.offset < groupNext);
      if (read.length === 0) {
        // Read to the end of the partition; or the gap is gone from the stream (retention).
        this.caughtUp.add(partition);
        if (groupNext !== undefined) polled.set(partition, buffer.splice(0, limit));
      } else {
        polled.set(partition, read);
      }
    }
    return polled;
  }

  async commit(next: ReadonlyMap<number, number>): Promise<void> {
    if (this.uncommitted.size === 0) return;
    for (const [partition, last] of this.uncommitted) {
      if ((next.get(partition) ?? 0) <= last) return; // returned but not applied yet
    }
    this.cursor = await this.calls.commit(this.cursor);
    this.uncommitted.clear();
  }

  // Reservations lapse after the group timeout; the API has no explicit leave.
  async leave(): Promise<void> {}

  private forget(partition: number): void {
    this.buffered.delete(partition);
    this.uncommitted.delete(partition);
    this.caughtUp.delete(partition);
  }

  private async fetch(limit: number): Promise<void> {
    const { messages, nextCursor } = await this.calls.getMessages(this.cursor, limit);
    this.cursor = nextCursor;
    this.fetched = true;
    for (const message of messages) {
      const buffer = this.buffered.get(message.partition) ?? [];
      buffer.push(message);
      this.buffered.set(message.partition, buffer);
      this.uncommitted.set(message.partition, Math.max(message.offset, this.uncommitted.get(message.partition) ?? -1));
    }
  }
}
