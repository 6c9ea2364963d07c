import type { Anomaly } from '../../domain/anomalies/anomaly';
import { detectBatch, groupSeries, type DetectedValue } from '../../domain/anomalies/batch-detection';
import { resolveDetection } from '../../domain/anomalies/rules';
import type { BatchTransaction, DeviceKey } from '../../store/batch-transaction';
import { step, type Steps } from '../../store/batch-steps';

const deviceKey = (device: DeviceKey) => `${device.tenantId}\u0000${device.deviceId}`;

/**
 * Step 6 of the batch: anomaly detection over the values the batch stored (sorted by series,
 * as it inserts them). Loads the tenants' rules, the tags of the devices that tag rules could
 * match, and each series' detector state; judges the values (domain/anomalies/batch-detection.ts);
 * then saves the new states and inserts the anomalies, in the batch's transaction. A crash
 * rolls all of it back with the batch, and a replay is skipped by the watermark: every value
 * is judged exactly once, and restarts are deterministic.
 */
export function* detect(tx: BatchTransaction, values: readonly DetectedValue[], detectedAt: number): Steps<Anomaly[]> {
  if (values.length === 0) return [];
  const series = groupSeries(values);

  const tenants = [...new Set(series.map((one) => one.tenantId))];
  const rulesOfTenant = yield* step(tx.anomalyRules(tenants));
  const rules = new Map(tenants.map((tenantId, index) => [tenantId, rulesOfTenant[index]!]));

  // Tags are read only where a tag rule could apply.
  const tagged = new Map<string, DeviceKey>();
  for (const one of series) {
    if (rules.get(one.tenantId)!.some((rule) => rule.scope.kind === 'tag')) tagged.set(deviceKey(one), { tenantId: one.tenantId, deviceId: one.deviceId });
  }
  const tagLists = tagged.size > 0 ? yield* step(tx.deviceTags([...tagged.values()])) : [];
  const tags = new Map([...tagged.keys()].map((key, index) => [key, new Set(tagLists[index])]));

  const states = yield* step(tx.detectorStates(series));
  const stateIndex = new Map(series.map((one, index) => [one, index]));

  const result = detectBatch(
    series,
    (one) => resolveDetection(rules.get(one.tenantId)!, one.deviceId, tags.get(deviceKey(one)) ?? new Set(), one.metric),
    (one) => states[stateIndex.get(one)!],
  );
  yield* step(
    tx.saveDetectorStates(
      result.states.map(({ series: one, state }) => ({ series: { tenantId: one.tenantId, deviceId: one.deviceId, metric: one.metric }, state })),
    ),
  );
  if (result.findings.length === 0) return [];
  return yield* step(
    tx.insertAnomalies(
      result.findings.map(({ finding, point }) => ({
        ...finding,
        tenantId: point.tenantId,
        deviceId: point.deviceId,
        metric: point.metric,
        timestamp: point.timestamp,
        detectedAt,
      })),
    ),
  );
}
