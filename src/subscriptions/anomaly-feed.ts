import { atLeast, type Anomaly, type Severity } from '../domain/anomalies/anomaly';
import { encodePageCursor } from '../domain/cursor';
import { checkAnomalyCursorNotExpired } from '../domain/cursor-expiry';
import { TelemetryError } from '../domain/errors';
import type { AnomalyStore } from '../store/ports/anomaly-store';
import { ResumableFeed, type FeedObserver } from './resumable-feed';
import type { TenantHub } from './tenant-hub';

export interface AnomalyFeedItem {
  readonly anomaly: Anomaly;
  readonly cursor: string;
}

export interface AnomalyFeedOptions {
  readonly hub: TenantHub<Anomaly>;
  /**
   * The seq through which every change has reached `hub` (AnomalyOrder): what lets a resumed
   * subscription prove it may join a cohort whose position differs. Without it, it never claims so.
   */
  readonly publishedThrough?: (() => number) | undefined;
  readonly store: AnomalyStore;
  readonly tenantId: string;
  readonly deviceId?: string | undefined;
  readonly minSeverity?: Severity | undefined;
  /** Resume after this seq; live only when absent. */
  readonly afterSeq?: number | undefined;
  /** Anomalies read from the database per replay query. @default 500 */
  readonly replayPageSize?: number;
  /** Undelivered anomalies a slow client may accumulate before its subscription ends. @default 10000 */
  readonly maxBuffered?: number;
  readonly observer?: FeedObserver | undefined;
}

export const anomalyCursor = (seq: number): string => encodePageCursor(seq);

/**
 * `anomalyDetected`: anomalies as they are committed, resumable after a seq (seq grows in
 * commit order, so "after this seq" is exact). Filters apply after the position moves, so a
 * cursor skips what the filters hid.
 */
export function openAnomalyFeed(options: AnomalyFeedOptions): Promise<ResumableFeed<Anomaly, AnomalyFeedItem>> {
  let position = 0;
  const wanted = (anomaly: Anomaly) =>
    (options.deviceId === undefined || anomaly.deviceId === options.deviceId) &&
    (options.minSeverity === undefined || atLeast(anomaly.severity, options.minSeverity));
  return ResumableFeed.open<Anomaly, AnomalyFeedItem>(
    {
      listen: (onEvent) => options.hub.subscribe(options.tenantId, onEvent),
      async start() {
        const last = await options.store.lastAnomalySeq();
        if (options.afterSeq !== undefined && options.afterSeq > last) {
          throw new TelemetryError('BAD_USER_INPUT', `after is ahead of the last stored anomaly (${last}); it is not a cursor of this service's data`, {
            details: { argument: 'after', reason: 'CURSOR_UNKNOWN' },
          });
        }
        if (options.afterSeq !== undefined) checkAnomalyCursorNotExpired(options.afterSeq, await options.store.prunedAnomalySeq(options.tenantId));
        position = options.afterSeq ?? last;
      },
      async readAfter(limit) {
        const from = position;
        const page = await options.store.anomaliesAfter(options.tenantId, from, limit);
        // A retention pass since the start may have removed anomalies beyond the position.
        checkAnomalyCursorNotExpired(from, await options.store.prunedAnomalySeq(options.tenantId));
        return page;
      },
      advance(anomaly) {
        if (anomaly.seq <= position) return false;
        position = anomaly.seq;
        return true;
      },
      present: (anomaly) => (wanted(anomaly) ? { anomaly, cursor: anomalyCursor(anomaly.seq) } : undefined),
      // seq is one sequence for the whole tenant: partition 0.
      positions: () => new Map([[0, position]]),
      positionOf: ({ anomaly }) => [0, anomaly.seq],
      // Not a database read: a change can be stored and, before it is published, replaced (an
      // update stores its row again under a new seq) or removed with its device, so finding
      // none would prove nothing. What does: every change up to the range's end has reached the
      // hub (seq order, AnomalyOrder), so both feeds, listening, have delivered or skipped alike
      // whatever lies in it; what is no longer stored no replay would deliver either.
      storedIn: (ranges) => {
        const range = ranges.get(0);
        const through = options.publishedThrough?.();
        return Promise.resolve(range !== undefined && (through === undefined || through < range[1]));
      },
    },
    {
      replay: options.afterSeq !== undefined,
      pageSize: options.replayPageSize,
      maxBuffered: options.maxBuffered,
      noun: 'anomalies',
      observer: options.observer,
    },
  );
}
