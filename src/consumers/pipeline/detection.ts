import type { Anomaly } from '../../domain/anomalies/anomaly';
import { alarmChanges, type AlarmChange } from '../../domain/anomalies/alarm-lifecycle';
import { detectBatch, groupSeries, type DetectedValue } from '../../domain/anomalies/batch-detection';
import { resolveDetection } from '../../domain/anomalies/rules';
import type { DetectorState } from '../../domain/anomalies/detector';
import type { BatchTransaction, DeviceKey, SeriesKey } from '../../store/batch-transaction';
import { step, type Steps } from '../../store/batch-steps';

const deviceKey = (device: DeviceKey) => `${device.tenantId}\u0000${device.deviceId}`;
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** What detection needs of the service's configuration. */
export interface DetectionOptions {
  /** How long a series stays normal before its anomaly clears, when its rule does not say (ms). */
  readonly clearAfterMs: number;
}

/** Five minutes: long enough that a flapping signal stays one alarm, short enough that the inbox empties by itself. */
export const DEFAULT_DETECTION_OPTIONS: DetectionOptions = { clearAfterMs: 5 * 60_000 };

/**
 * Step 6 of the batch: anomaly detection over the values the batch stored (sorted by series,
 * as it inserts them). Loads the tenants' rules, the tags of the devices that tag rules could
 * match, each series' detector state and its anomalies still open or acknowledged; judges the
 * values (domain/anomalies/batch-detection.ts) and runs the alarm lifecycle over them
 * (domain/anomalies/alarm-lifecycle.ts: a trigger updates the open anomaly of its kind, a
 * normal stretch clears it); then saves the new states, inserts the new anomalies and stores
 * the changed ones again under new seqs, in the batch's transaction. A crash rolls all of it
 * back with the batch, and a replay is skipped by the watermark: every value is judged exactly
 * once, and restarts are deterministic. Returns the anomalies raised or changed, in seq order.
 */
export function* detect(
  tx: BatchTransaction,
  values: readonly DetectedValue[],
  detectedAt: number,
  options: DetectionOptions = DEFAULT_DETECTION_OPTIONS,
): Steps<Anomaly[]> {
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

  // A series whose last batch left no anomaly open has none (DetectorState.openAlarms says
  // why): only the others are read, so a batch of quiet series reads none.
  const maybeOpen = series.filter((one) => states[stateIndex.get(one)!]?.openAlarms !== 0);
  const openLists = maybeOpen.length > 0 ? yield* step(tx.openAnomalies(maybeOpen)) : [];
  const openOf = new Map(maybeOpen.map((one, index) => [one, openLists[index]!]));
  const settings = series.map((one) => resolveDetection(rules.get(one.tenantId)!, one.deviceId, tags.get(deviceKey(one)) ?? new Set(), one.metric));
  const result = detectBatch(
    series,
    (one) => settings[stateIndex.get(one)!]!,
    (one) => states[stateIndex.get(one)!],
  );
  const changes: AlarmChange[] = [];
  const saved: { series: SeriesKey; state: DetectorState }[] = [];
  for (const { series: one, state, judged } of result.states) {
    const index = stateIndex.get(one)!;
    const open = openOf.get(one) ?? [];
    const changed = alarmChanges(judged, open, settings[index]!.clearAfterMs ?? options.clearAfterMs, detectedAt);
    changes.push(...changed);
    const closed = changed.filter((change) => change.record.id !== undefined && change.record.status === 'RESOLVED').length;
    const opened = changed.filter((change) => change.record.id === undefined && change.record.status !== 'RESOLVED').length;
    saved.push({
      series: { tenantId: one.tenantId, deviceId: one.deviceId, metric: one.metric },
      state: { ...state, openAlarms: open.length - closed + opened },
    });
  }
  yield* step(tx.saveDetectorStates(saved));
  if (changes.length === 0) return [];
  // Stream order (then device, metric, kind), so seq order never depends on how the stream was batched.
  changes.sort(
    (a, b) =>
      a.offset - b.offset ||
      cmp(a.record.deviceId, b.record.deviceId) ||
      cmp(a.record.metric ?? '', b.record.metric ?? '') ||
      cmp(a.record.kind, b.record.kind),
  );
  return yield* step(
    tx.storeAnomalies(
      changes.map(({ record, escalated }) => ({ record, escalated })),
      detectedAt,
    ),
  );
}
