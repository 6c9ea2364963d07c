import type { Finding } from './anomaly';
import type { DetectionSettings } from './rules';
import { changeSpread, type ChangeSpread } from './change-spread';
import { SortedChangeWindow } from './sorted-change-window';

/**
 * Per-series detector state, stored with the batch that changed it. Values are fed in stream
 * order (per device, the order they were accepted), so the same stream gives the same state
 * and the same anomalies however it is cut into batches or replayed after a crash.
 */
export interface DetectorState {
  /** The most recent values, oldest first (at most the z-score window + 1: `window` changes). */
  readonly recent: number[];
  /** Newest timestamp seen and its value (rate of change is measured against it). */
  readonly lastTs: number | null;
  readonly lastValue: number | null;
  /** Values seen in total. */
  readonly seen: number;
  /**
   * How many anomalies of the series the batch that saved this state left OPEN or
   * ACKNOWLEDGED. Only the batch opens them (a key only closes them), so 0 means none: the next
   * batch need not read them. Undefined (no state yet, or one saved before the alarm
   * lifecycle): read them.
   */
  readonly openAlarms?: number;
}

export const EMPTY_STATE: DetectorState = { recent: [], lastTs: null, lastValue: null, seen: 0 };

/** What a value was judged against: the series' recent values from `from` on, and its newest reading. */
interface Judged {
  readonly recent: readonly number[];
  readonly from: number;
  readonly lastTs: number | null;
  readonly lastValue: number | null;
  readonly seen: number;
}

/** No findings: the usual answer, shared rather than a new empty array per value. */
const NO_FINDINGS: readonly Finding[] = Object.freeze([]);

/**
 * The findings of one value (detect says which), against `recent[from..]` as the state's
 * recent values: detect passes a state's own list and changeSpread, detectSeries its working
 * window and a SortedChangeWindow over it (the same numbers).
 */
function judge(
  against: Judged,
  settings: DetectionSettings,
  timestamp: number,
  value: number,
  spreadOf: (values: readonly number[], from: number) => ChangeSpread,
): readonly Finding[] {
  let findings: Finding[] | undefined;
  const { recent, from: start, lastTs, lastValue } = against;
  const length = recent.length - start;
  const { severity } = settings;
  const z = settings.zScore;
  if (z && against.seen >= z.warmup && length >= 3) {
    const { centre, spread } = spreadOf(recent, start + Math.max(0, length - (z.window + 1)));
    if (spread > 0) {
      const expected = recent[recent.length - 1]! + centre;
      const score = (value - expected) / spread;
      if (Math.abs(score) > z.threshold) {
        (findings ??= []).push({
          kind: 'ZSCORE',
          severity,
          score,
          value,
          expectedMin: expected - z.threshold * spread,
          expectedMax: expected + z.threshold * spread,
        });
      }
    }
  }
  if ((settings.min !== null && value < settings.min) || (settings.max !== null && value > settings.max)) {
    const score = settings.min !== null && value < settings.min ? settings.min - value : value - settings.max!;
    (findings ??= []).push({ kind: 'THRESHOLD', severity, score, value, expectedMin: settings.min, expectedMax: settings.max });
  }
  const late = lastTs !== null && timestamp <= lastTs;
  if (settings.maxRatePerSecond !== null && lastTs !== null && lastValue !== null && !late) {
    const seconds = (timestamp - lastTs) / 1000;
    const rate = (value - lastValue) / seconds;
    if (Math.abs(rate) > settings.maxRatePerSecond) {
      const allowed = settings.maxRatePerSecond * seconds;
      (findings ??= []).push({ kind: 'RATE_OF_CHANGE', severity, score: rate, value, expectedMin: lastValue - allowed, expectedMax: lastValue + allowed });
    }
  }
  return findings ?? NO_FINDINGS;
}

/** Values the z-score keeps: a window of N changes needs N + 1 values. */
const kept = (settings: DetectionSettings): number => (settings.zScore ? settings.zScore.window + 1 : 0);

/**
 * Checks one value against the settings and returns the findings and the next state.
 *  - z-score: the change from the previous value, against the median and spread of the
 *    previous `window` changes (changeSpread says why), once `warmup` values were seen; a
 *    window whose changes have no spread (a constant or stuck signal) judges nothing.
 *  - thresholds: value below min or above max.
 *  - rate of change: against the newest earlier reading; late readings are not rate-checked.
 */
export function detect(
  state: DetectorState,
  settings: DetectionSettings,
  timestamp: number,
  value: number,
): { state: DetectorState; findings: readonly Finding[] } {
  const findings = judge({ ...state, from: 0 }, settings, timestamp, value, changeSpread);
  const keep = kept(settings);
  const recent = keep === 0 ? [] : state.recent.length < keep ? [...state.recent, value] : [...state.recent.slice(state.recent.length - keep + 1), value];
  const late = state.lastTs !== null && timestamp <= state.lastTs;
  return {
    state: { recent, lastTs: late ? state.lastTs : timestamp, lastValue: late ? state.lastValue : value, seen: state.seen + 1 },
    findings,
  };
}

/**
 * One for every series, reused (detection runs on one thread, a series at a time): a new typed
 * array per series cost more than judging a value. A new series' window is a new array, which
 * makes it start afresh.
 */
const changes = new SortedChangeWindow();
const sortedSpreadOf = (values: readonly number[], from: number): ChangeSpread => changes.spreadOf(values, from);

/**
 * From how many values of a series in one batch its window is kept sorted: sorting it first
 * costs about what judging one value by changeSpread does. `npm run bench:detection`, ns a
 * value by values a series has in a batch, selection only (b9a6f05) -> now: 1: 639 -> 631; 5:
 * 533 -> 545; 8: 515 -> 446; 20: 515 -> 392; 200: 1,914 -> 393. Sorting from 3 values instead:
 * 3: 597 -> 709, 4: 651 -> 625.
 */
const SORTED_FROM = 5;

/**
 * detect() over a series' values in order, with the same findings and final state as calling
 * it value by value (a property test holds them equal), but one working window for the whole
 * series: detect copies the window (61 values by default) into a new state for every value,
 * which was most of the consumer's garbage under batch ingest; and the window's changes kept
 * sorted from one value to the next (sorted-change-window.ts) instead of selected anew.
 */
export function detectSeries<P extends { readonly timestamp: number; readonly value: number }>(
  initial: DetectorState,
  settings: DetectionSettings,
  points: readonly P[],
): { state: DetectorState; judged: { point: P; findings: readonly Finding[] }[] } {
  const keep = kept(settings);
  // The state's recent values are window[from..]; older ones are dropped in bulk, now and then.
  let window = initial.recent.slice();
  let from = 0;
  let { lastTs, lastValue, seen } = initial;
  const judged: { point: P; findings: readonly Finding[] }[] = [];
  const spreadOf = points.length >= SORTED_FROM ? sortedSpreadOf : changeSpread;
  for (const point of points) {
    const { timestamp, value } = point;
    judged.push({ point, findings: judge({ recent: window, from, lastTs, lastValue, seen }, settings, timestamp, value, spreadOf) });
    window.push(value);
    from = Math.max(from, window.length - keep);
    if (from >= 1024) {
      window = window.slice(from);
      from = 0;
    }
    if (!(lastTs !== null && timestamp <= lastTs)) {
      lastTs = timestamp;
      lastValue = value;
    }
    seen++;
  }
  return { state: { recent: points.length === 0 ? initial.recent : window.slice(from), lastTs, lastValue, seen }, judged };
}
