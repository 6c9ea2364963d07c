import { atLeast, type Anomaly, type Severity } from '../domain/anomalies/anomaly';
import { encodePageCursor } from '../domain/cursor';
import { TelemetryError } from '../domain/errors';
import type { Store } from '../store/store';
import { AsyncQueue } from './async-queue';
import type { TenantHub } from './tenant-hub';

export interface AnomalyFeedItem {
  readonly anomaly: Anomaly;
  readonly cursor: string;
}

export interface AnomalyFeedOptions {
  readonly hub: TenantHub<Anomaly>;
  readonly store: Pick<Store, 'anomaliesAfter' | 'lastAnomalySeq'>;
  readonly tenantId: string;
  readonly deviceId?: string | undefined;
  readonly minSeverity?: Severity | undefined;
  /** Resume after this seq; live only when absent. */
  readonly afterSeq?: number | undefined;
  readonly replayPageSize?: number;
  readonly maxBuffered?: number;
}

export const anomalyCursor = (seq: number): string => encodePageCursor(seq);

/**
 * Anomalies as they are committed, resumable without gap or duplicate: listen first
 * (buffering), replay from the database after the cursor, then go live. An anomaly is
 * delivered only if its seq is beyond the last one delivered (seq grows in commit order).
 */
export async function openAnomalyFeed(options: AnomalyFeedOptions): Promise<AsyncQueue<AnomalyFeedItem>> {
  const maxBuffered = options.maxBuffered ?? 10_000;
  let position = 0;
  let buffer: Anomaly[] | undefined = [];
  let unsubscribe = () => {};
  const queue = new AsyncQueue<AnomalyFeedItem>(() => unsubscribe());
  const wanted = (anomaly: Anomaly) =>
    (options.deviceId === undefined || anomaly.deviceId === options.deviceId) && (options.minSeverity === undefined || atLeast(anomaly.severity, options.minSeverity));

  const deliver = (anomaly: Anomaly): void => {
    if (anomaly.seq <= position) return;
    position = anomaly.seq;
    if (!wanted(anomaly)) return;
    if (queue.size >= maxBuffered) {
      queue.fail(new TelemetryError('UNAVAILABLE', `subscriber fell ${maxBuffered} anomalies behind; resubscribe with the last cursor received`, { details: { reason: 'SLOW_SUBSCRIBER' } }));
      return;
    }
    queue.push({ anomaly, cursor: anomalyCursor(anomaly.seq) });
  };

  unsubscribe = options.hub.subscribe(options.tenantId, (anomaly) => (buffer ? buffer.push(anomaly) : deliver(anomaly)));
  try {
    if (options.afterSeq === undefined) {
      position = await options.store.lastAnomalySeq();
    } else {
      position = options.afterSeq;
      const limit = options.replayPageSize ?? 500;
      for (;;) {
        const page = await options.store.anomaliesAfter(options.tenantId, position, limit);
        for (const anomaly of page) deliver(anomaly);
        if (page.length < limit || queue.closed) break;
      }
    }
  } catch (error) {
    unsubscribe();
    throw error;
  }
  const buffered = buffer;
  buffer = undefined;
  for (const anomaly of buffered) deliver(anomaly);
  return queue;
}
