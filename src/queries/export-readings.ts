import type { ExportPosition } from '../domain/export-format';
import type { MetricPoint } from '../domain/reading';
import type { ReadingStore } from '../store/ports/reading-store';

/** Stored values read per store call: the most an export holds in memory at once. */
export const EXPORT_PAGE_SIZE = 1000;

export interface ExportPlan {
  readonly tenantId: string;
  /** In export order (the caller sorts them); `after` names one of them. */
  readonly deviceIds: readonly string[];
  /** The metrics to export of each device, sorted by name; undefined: every metric it has. */
  readonly metrics?: readonly string[] | undefined;
  /** Inclusive lower bound, UTC ms. */
  readonly from?: number | undefined;
  /** Exclusive upper bound, UTC ms. */
  readonly to?: number | undefined;
  /** Resume right after this row. */
  readonly after?: ExportPosition | undefined;
  readonly pageSize?: number;
}

/**
 * The stored values of a device set and range, ordered by device (as given), metric (as
 * given, or by name) and timestamp, one page per store call through the reading port (the
 * reader threads on SQLite). A generator: the next page is read only when the caller asks for
 * it, so a caller that waits for its client to drain holds one page, whatever the range.
 */
export async function* exportPages(store: Pick<ReadingStore, 'queryReadings' | 'latestReadings'>, plan: ExportPlan): AsyncGenerator<readonly MetricPoint[]> {
  const first = plan.pageSize ?? EXPORT_PAGE_SIZE;
  const after = plan.after;
  // Devices before the resume position's were exported completely.
  const start = after ? Math.max(plan.deviceIds.indexOf(after.deviceId), 0) : 0;
  for (const deviceId of plan.deviceIds.slice(start)) {
    const metrics = plan.metrics ?? ((await store.latestReadings(plan.tenantId, [deviceId])).get(deviceId) ?? []).map((point) => point.metric).sort();
    for (const metric of metrics) {
      let afterTimestamp: number | undefined;
      if (after && deviceId === after.deviceId) {
        if (metric < after.metric) continue;
        if (metric === after.metric) afterTimestamp = after.timestamp;
      }
      for (;;) {
        const page = await store.queryReadings(plan.tenantId, { deviceId, metric, from: plan.from, to: plan.to, first, afterTimestamp, order: 'OLDEST_FIRST' });
        if (page.items.length > 0) yield page.items;
        if (!page.hasMore) break;
        afterTimestamp = page.items.at(-1)!.timestamp;
      }
    }
  }
}
