import type { Finding } from './anomaly';
import type { DetectionSettings } from './rules';

/**
 * Per-series detector state, stored with the batch that changed it. Values are fed in stream
 * order (per device, the order they were accepted), so the same stream gives the same state
 * and the same anomalies however it is cut into batches or replayed after a crash.
 */
export interface DetectorState {
  /** The most recent values, oldest first (at most the z-score window). */
  readonly recent: number[];
  /** Newest timestamp seen and its value (rate of change is measured against it). */
  readonly lastTs: number | null;
  readonly lastValue: number | null;
  /** Values seen in total. */
  readonly seen: number;
}

export const EMPTY_STATE: DetectorState = { recent: [], lastTs: null, lastValue: null, seen: 0 };

function meanAndSampleStddev(values: readonly number[]): { mean: number; stddev: number } {
  const mean = values.reduce((sum, v) => sum + v, 0) / values.length;
  const squares = values.reduce((sum, v) => sum + (v - mean) ** 2, 0);
  return { mean, stddev: values.length > 1 ? Math.sqrt(squares / (values.length - 1)) : 0 };
}

/**
 * Checks one value against the settings and returns the findings and the next state.
 *  - z-score: against the mean and sample standard deviation of the previous `window` values,
 *    once `warmup` values were seen; a window with no spread (all equal) judges nothing.
 *  - thresholds: value below min or above max.
 *  - rate of change: against the newest earlier reading; late readings are not rate-checked.
 */
export function detect(state: DetectorState, settings: DetectionSettings, timestamp: number, value: number): { state: DetectorState; findings: Finding[] } {
  const findings: Finding[] = [];
  const { severity } = settings;
  const z = settings.zScore;
  if (z && state.seen >= z.warmup && state.recent.length >= 2) {
    const { mean, stddev } = meanAndSampleStddev(state.recent.slice(-z.window));
    if (stddev > 0) {
      const score = (value - mean) / stddev;
      if (Math.abs(score) > z.threshold) {
        findings.push({ kind: 'ZSCORE', severity, score, value, expectedMin: mean - z.threshold * stddev, expectedMax: mean + z.threshold * stddev });
      }
    }
  }
  if ((settings.min !== null && value < settings.min) || (settings.max !== null && value > settings.max)) {
    const score = settings.min !== null && value < settings.min ? settings.min - value : value - settings.max!;
    findings.push({ kind: 'THRESHOLD', severity, score, value, expectedMin: settings.min, expectedMax: settings.max });
  }
  const late = state.lastTs !== null && timestamp <= state.lastTs;
  if (settings.maxRatePerSecond !== null && state.lastTs !== null && state.lastValue !== null && !late) {
    const seconds = (timestamp - state.lastTs) / 1000;
    const rate = (value - state.lastValue) / seconds;
    if (Math.abs(rate) > settings.maxRatePerSecond) {
      const allowed = settings.maxRatePerSecond * seconds;
      findings.push({ kind: 'RATE_OF_CHANGE', severity, score: rate, value, expectedMin: state.lastValue - allowed, expectedMax: state.lastValue + allowed });
    }
  }
  const keep = z ? z.window : 0;
  const recent = keep > 0 ? [...state.recent, value].slice(-keep) : [];
  return {
    state: { recent, lastTs: late ? state.lastTs : timestamp, lastValue: late ? state.lastValue : value, seen: state.seen + 1 },
    findings,
  };
}
