import type { Anomaly } from '../../src/domain/anomalies/anomaly';
import type { PersistedReading } from '../../src/domain/reading';
import type { AnomalyStore } from '../../src/store/ports/anomaly-store';
import type { EventReplayQuery, ReadingStore } from '../../src/store/ports/reading-store';
import { openAnomalyFeed } from '../../src/subscriptions/anomaly-feed';
import { openReadingFeed } from '../../src/subscriptions/reading-feed';
import { ReadingHub } from '../../src/subscriptions/reading-hub';
import { TenantHub } from '../../src/subscriptions/tenant-hub';
import { fakePort } from '../support/fake-port';

const T = 'tenant-a';
const expired = { code: 'BAD_USER_INPUT', details: { argument: 'after', reason: 'CURSOR_EXPIRED' } };

const reading = (offset: number): PersistedReading => ({
  tenantId: T,
  deviceId: 'tank',
  partition: 0,
  offset,
  eventId: `e${offset}`,
  timestamp: offset,
  metrics: [{ name: 'level', value: offset }],
});

/**
 * Feeds over stores whose retention removed events (issue 17): a resume that would need a
 * removed event is refused, at its start or, when a pass removes events while the replay runs,
 * at the page that could have missed them; never a silent gap.
 */
describe('resuming from a cursor that retention expired', () => {
  describe('readingAdded', () => {
    /** Events 0..99 stored in partition 0; `pruned` what retention removed (partition -> highest offset). */
    function store(pruned: () => Map<number, number>, removedOnRead?: (query: EventReplayQuery) => void) {
      return fakePort<ReadingStore>({
        watermarks: async () => new Map([[0, 99]]),
        prunedReadingEvents: async () => pruned(),
        readingEventsAfter: async (query) => {
          removedOnRead?.(query);
          const after = query.after.get(0) ?? -1;
          return Array.from({ length: 99 - after }, (_, i) => reading(after + 1 + i)).slice(0, query.limit);
        },
      });
    }
    const open = (readings: ReadingStore, after: number, hub = new ReadingHub()) =>
      openReadingFeed({ hub, store: readings, partitions: [0], tenantId: T, deviceIds: ['tank'], after: new Map([[0, after]]), replayPageSize: 10 });

    it('refuses a cursor before the highest removed offset, and stops listening', async () => {
      const hub = new ReadingHub();
      await expect(
        open(
          store(() => new Map([[0, 40]])),
          39,
          hub,
        ),
      ).rejects.toMatchObject(expired);
      expect(hub.activeSubscriptions).toBe(0);
    });

    it('resumes a cursor at or after the highest removed offset with every later event', async () => {
      const feed = await open(
        store(() => new Map([[0, 40]])),
        40,
      );
      const offsets: number[] = [];
      for await (const item of feed) if (offsets.push(item.reading.offset) === 59) break;
      expect(offsets).toEqual(Array.from({ length: 59 }, (_, i) => 41 + i));
    });

    it('ends the replay with CURSOR_EXPIRED when a pass removes events beyond its position meanwhile', async () => {
      let pruned = new Map<number, number>();
      // The third page is read after a pass removed events up to offset 70.
      let reads = 0;
      const feed = await open(
        store(
          () => pruned,
          () => {
            if (++reads === 3) pruned = new Map([[0, 70]]);
          },
        ),
        0,
      );
      const offsets: number[] = [];
      await expect(
        (async () => {
          for await (const item of feed) offsets.push(item.reading.offset);
        })(),
      ).rejects.toMatchObject(expired);
      // The two pages read before the pass were delivered; nothing after the gap was.
      expect(offsets).toEqual(Array.from({ length: 20 }, (_, i) => 1 + i));
    });
  });

  describe('anomalyDetected', () => {
    const anomaly = (seq: number) => ({ seq, tenantId: T, deviceId: 'pump', severity: 'WARNING' }) as unknown as Anomaly;
    const anomalies = (prunedSeq: number) =>
      fakePort<AnomalyStore>({
        lastAnomalySeq: async () => 50,
        prunedAnomalySeq: async () => prunedSeq,
        anomaliesAfter: async (_tenant, afterSeq, limit) => Array.from({ length: 50 - afterSeq }, (_, i) => anomaly(afterSeq + 1 + i)).slice(0, limit),
      });

    it('refuses a cursor before the highest removed seq, and stops listening', async () => {
      const hub = new TenantHub<Anomaly>();
      await expect(openAnomalyFeed({ hub, store: anomalies(20), tenantId: T, afterSeq: 19 })).rejects.toMatchObject(expired);
      expect(hub.subscriberCount).toBe(0);
    });

    it('resumes a cursor at the highest removed seq', async () => {
      const feed = await openAnomalyFeed({ hub: new TenantHub<Anomaly>(), store: anomalies(20), tenantId: T, afterSeq: 20 });
      const seqs: number[] = [];
      for await (const item of feed) if (seqs.push(item.anomaly.seq) === 30) break;
      expect(seqs).toEqual(Array.from({ length: 30 }, (_, i) => 21 + i));
    });
  });
});
