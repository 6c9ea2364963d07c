/**
 * How many `readingAdded` subscriptions the API thread holds, in shared memory, so that the
 * consumer thread can see it without a message. With none, the consumer does not serialise
 * and post what a batch persisted: the API thread would drop it unread, and the two took 8% of
 * the consumer thread under batch ingest (`npm run bench:consumer`).
 *
 * Nothing is lost by skipping: a subscription that opens later starts from the database
 * watermark it reads when it opens (reading-feed.ts), and it counts itself here (the hub's
 * subscribe, synchronously) before it reads that watermark. The consumer reads the count after
 * its batch committed. Both are sequentially consistent atomics, so either the consumer sees
 * the subscription and posts the batch, or it read the count before the subscription counted
 * itself, which was after the commit: then the watermark the subscription reads includes it.
 */
export class SubscriberCount {
  private readonly cell: Int32Array;

  /** A new count, or one whose buffer came from another thread (workerData). */
  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT)) {
    this.cell = new Int32Array(buffer);
  }

  set(subscriptions: number): void {
    Atomics.store(this.cell, 0, subscriptions);
  }

  any(): boolean {
    return Atomics.load(this.cell, 0) > 0;
  }
}
