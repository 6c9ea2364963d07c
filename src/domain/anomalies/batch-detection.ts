import type { Finding } from './anomaly';
import { detect, EMPTY_STATE, type DetectorState } from './detector';
import type { DetectionSettings } from './rules';

/** A value a batch stored, to be judged. */
export interface DetectedValue {
  readonly tenantId: string;
  readonly deviceId: string;
  readonly metric: string;
  readonly timestamp: number;
  readonly value: number;
  /** Stream offset: values are judged in stream order, per series. */
  readonly offset: number;
}

export interface SeriesValues {
  readonly tenantId: string;
  readonly deviceId: string;
  readonly metric: string;
  /** In stream order. */
  readonly values: readonly DetectedValue[];
}

/** Whether two values belong to the same series (tenant, device, metric). */
export const sameSeries = (a: DetectedValue, b: DetectedValue): boolean => a.tenantId === b.tenantId && a.deviceId === b.deviceId && a.metric === b.metric;
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Groups values by series. The batch hands them sorted by series then time; within each
 * series they are judged in stream order (a late reading is judged when it arrived).
 */
export function groupSeries(values: readonly DetectedValue[]): SeriesValues[] {
  const series: SeriesValues[] = [];
  for (let start = 0; start < values.length;) {
    let end = start + 1;
    while (end < values.length && sameSeries(values[end]!, values[start]!)) end++;
    const first = values[start]!;
    series.push({
      tenantId: first.tenantId,
      deviceId: first.deviceId,
      metric: first.metric,
      values: values.slice(start, end).sort((a, b) => a.offset - b.offset),
    });
    start = end;
  }
  return series;
}

export interface BatchDetection {
  /** The new state of every series judged. */
  readonly states: { readonly series: SeriesValues; readonly state: DetectorState }[];
  /** What to store, in stream order (then device, then metric), so seq order never depends on batching. */
  readonly findings: { readonly finding: Finding; readonly point: DetectedValue }[];
}

/** Judges every series with its settings and stored state; pure, so both stores share it. */
export function detectBatch(
  series: readonly SeriesValues[],
  settingsOf: (series: SeriesValues) => DetectionSettings,
  stateOf: (series: SeriesValues) => DetectorState | undefined,
): BatchDetection {
  const states: BatchDetection['states'][number][] = [];
  const findings: BatchDetection['findings'][number][] = [];
  for (const one of series) {
    const settings = settingsOf(one);
    let state = stateOf(one) ?? EMPTY_STATE;
    for (const point of one.values) {
      const result = detect(state, settings, point.timestamp, point.value);
      state = result.state;
      for (const finding of result.findings) findings.push({ finding, point });
    }
    states.push({ series: one, state });
  }
  findings.sort((a, b) => a.point.offset - b.point.offset || cmp(a.point.deviceId, b.point.deviceId) || cmp(a.point.metric, b.point.metric));
  return { states, findings };
}
