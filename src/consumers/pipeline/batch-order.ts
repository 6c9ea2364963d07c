import type { DetectedValue } from '../../domain/anomalies/batch-detection';

/** A metric row of a consumer batch, as the pipeline sorts them before inserting. */
export interface SeriesRow {
  readonly tenantId: string;
  readonly deviceId: string;
  readonly metric: string;
  readonly timestamp: number;
  readonly offset: number;
}

/**
 * Primary-key order (tenant, device, metric, timestamp): inserts in key order are several
 * times faster, and rollups and detection rely on series being contiguous. Ties keep stream
 * order, so the first copy of a repeated value is the one stored.
 */
export const compareBySeries = (a: SeriesRow, b: SeriesRow): number =>
  a.tenantId < b.tenantId
    ? -1
    : a.tenantId > b.tenantId
      ? 1
      : a.deviceId < b.deviceId
        ? -1
        : a.deviceId > b.deviceId
          ? 1
          : a.metric < b.metric
            ? -1
            : a.metric > b.metric
              ? 1
              : a.timestamp - b.timestamp || a.offset - b.offset;

/**
 * A metric row of an event the batch stored, waiting to be inserted: already the value that
 * latest values, rollups and detection take (one object per row, not one per step).
 */
export interface CandidateRow extends DetectedValue {
  /** Index of its event in the batch's `persisted` list. */
  readonly event: number;
}
