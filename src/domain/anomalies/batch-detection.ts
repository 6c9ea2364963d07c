import type { Finding } from './anomaly';
import { detectSeries, EMPTY_STATE, type DetectorState } from './detector';
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

/** One value of a series as judged, with what the detectors found in it. */
export interface JudgedValue {
  readonly point: DetectedValue;
  readonly findings: readonly Finding[];
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
  /** Every series judged: its new state, and each of its values (in stream order) with what was found in it. */
  readonly states: { readonly series: SeriesValues; readonly state: DetectorState; readonly judged: JudgedValue[] }[];
}

/** Judges every series with its settings and stored state; pure, so both stores share it. */
export function detectBatch(
  series: readonly SeriesValues[],
  settingsOf: (series: SeriesValues) => DetectionSettings,
  stateOf: (series: SeriesValues) => DetectorState | undefined,
): BatchDetection {
  const states: BatchDetection['states'][number][] = [];
  for (const one of series) {
    const { state, judged } = detectSeries(stateOf(one) ?? EMPTY_STATE, settingsOf(one), one.values);
    states.push({ series: one, state, judged });
  }
  return { states };
}
