import type { PersistedReading } from '../../src/domain/reading';
import type { ReadingStore } from '../../src/store/ports/reading-store';
import { ReadingHub } from '../../src/subscriptions/reading-hub';

export const TENANT = 't';

/**
 * The readings topic as the service has it: a reading is committed first (a read sees it, and
 * the watermark covers it, from then on) and published to the hub later, in commit order
 * (persist, then publish). Devices a-* are in partition 0, b-* in partition 1.
 */
export class FakeReadings {
  readonly hub = new ReadingHub();
  private readonly stored: PersistedReading[] = [];
  private published = 0;
  private readonly next = new Map<number, number>();
  /** The partitions each replay read was asked for, in order. */
  readonly pageReads: number[][] = [];
  /** Runs during every replay read, after its snapshot was taken: what commits and publishes meanwhile. */
  duringRead: () => void = () => {};
  /** While set, every replay read waits for it before it takes its snapshot. */
  readGate: Promise<void> | undefined;

  commit(deviceId: string, count = 1): void {
    const partition = deviceId.startsWith('a') ? 0 : 1;
    for (let i = 0; i < count; i++) {
      const offset = this.next.get(partition) ?? 0;
      this.next.set(partition, offset + 1);
      this.stored.push({
        tenantId: TENANT,
        deviceId,
        partition,
        offset,
        eventId: `${partition}/${offset}`,
        timestamp: offset,
        metrics: [{ name: 'v', value: offset }],
      });
    }
  }

  publish(count = Infinity): void {
    const batch = this.stored.slice(this.published, this.published + count);
    this.published += batch.length;
    this.hub.publish(batch);
  }

  /** What a feed of `deviceId` must deliver after `after`, in partition order. */
  storedOf(deviceId: string, after: ReadonlyMap<number, number> = new Map()): string[] {
    return this.stored.filter((r) => r.deviceId === deviceId && r.offset > (after.get(r.partition) ?? -1)).map((r) => r.eventId);
  }

  readonly store = {
    watermarks: async () => {
      const watermarks = new Map<number, number>();
      for (const reading of this.stored) watermarks.set(reading.partition, reading.offset);
      return watermarks;
    },
    prunedReadingEvents: async () => new Map<number, number>(),
    readingEventsAfter: async ({ deviceIds, after, limit }: { deviceIds: readonly string[]; after: ReadonlyMap<number, number>; limit: number }) => {
      await this.readGate;
      const page: PersistedReading[] = [];
      for (const [partition, from] of [...after].sort((a, b) => a[0] - b[0]))
        for (const r of this.stored) if (page.length < limit && r.partition === partition && r.offset > from && deviceIds.includes(r.deviceId)) page.push(r);
      this.pageReads.push([...after.keys()]);
      await Promise.resolve();
      this.duringRead();
      return page;
    },
  } as unknown as ReadingStore;
}
