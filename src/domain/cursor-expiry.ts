import type { PartitionPositions } from './cursor';
import { TelemetryError } from './errors';

/**
 * Expired cursors. Retention removes stored events by time (reading events by reading
 * timestamp, anomalies by when they were resolved), not by position, so what it removed is not
 * a prefix of the positions: a late reading sits at a recent offset with an old timestamp. Each
 * removal therefore records the highest position it removed (per device and partition for
 * readings, per tenant for anomalies), in the transaction that removes it. A cursor below that
 * position might miss a removed event; one at or beyond it misses nothing. Refusing the first
 * kind is conservative (the removed event may be of another device of the same partition only
 * when the subscription names several), never silent.
 */

/** One removed reading event's position. */
export interface RemovedEvent {
  readonly deviceId: string;
  readonly partition: number;
  readonly offset: number;
}

/** The highest removed offset of each (device, partition) among `removed`: what a removal records. */
export function highestPerSeries(removed: readonly { device_id: string; stream_partition: number; stream_offset: number }[]): RemovedEvent[] {
  const highest = new Map<string, RemovedEvent>();
  for (const row of removed) {
    const key = `${row.stream_partition}\u0000${row.device_id}`;
    const known = highest.get(key);
    if (!known || row.stream_offset > known.offset) highest.set(key, { deviceId: row.device_id, partition: row.stream_partition, offset: row.stream_offset });
  }
  return [...highest.values()];
}

const expired = (message: string) =>
  new TelemetryError('BAD_USER_INPUT', message, {
    details: { argument: 'after', reason: 'CURSOR_EXPIRED' },
  });

/**
 * Refuses a readingAdded resume whose position in some partition lies before an event that
 * retention removed (`pruned`: per partition, the highest offset removed of the subscribed
 * devices): replaying from it would silently skip that event.
 */
export function checkReadingCursorNotExpired(positions: PartitionPositions, pruned: ReadonlyMap<number, number>): void {
  for (const [partition, offset] of [...positions].sort((a, b) => a[0] - b[0])) {
    const removedUpTo = pruned.get(partition);
    if (removedUpTo !== undefined && offset < removedUpTo) {
      throw expired(
        `after is older than retention keeps events (partition ${partition}: the cursor is at offset ${offset}, events up to offset ${removedUpTo} were removed after eventIdsDays); ` +
          'read the gap with readings (their values stay while rawReadingsDays keeps them), then subscribe without after',
      );
    }
  }
}

/** Refuses an anomalyDetected resume from before an anomaly that retention removed. */
export function checkAnomalyCursorNotExpired(afterSeq: number, prunedSeq: number): void {
  if (afterSeq < prunedSeq) {
    throw expired(
      `after is older than retention keeps anomalies (the cursor is at ${afterSeq}, resolved anomalies up to ${prunedSeq} were removed after resolvedAnomaliesDays); ` +
        'read what is kept with anomalies, then subscribe without after',
    );
  }
}
