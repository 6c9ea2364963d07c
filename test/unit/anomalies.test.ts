import { detect, EMPTY_STATE, type DetectorState } from '../../src/domain/anomalies/detector';
import type { Finding } from '../../src/domain/anomalies/anomaly';
import { DEFAULT_DETECTION, resolveDetection, type AnomalyRule, type DetectionSettings } from '../../src/domain/anomalies/rules';

const SECOND = 1000;

/** Feeds values one per second through the detector; returns findings with their index. */
function run(values: readonly number[], settings: DetectionSettings, state: DetectorState = EMPTY_STATE) {
  const found: (Finding & { index: number })[] = [];
  values.forEach((value, index) => {
    const result = detect(state, settings, index * SECOND, value);
    state = result.state;
    found.push(...result.findings.map((finding) => ({ ...finding, index })));
  });
  return { found, state };
}

const alternating = (count: number) => Array.from({ length: count }, (_, i) => (i % 2 === 0 ? 10 : 12));

describe('z-score detection', () => {
  it('fires once on a spike after warm-up, with z from the previous window', () => {
    const series = [...alternating(30), 20, ...alternating(10)];
    const { found } = run(series, DEFAULT_DETECTION);
    expect(found).toHaveLength(1);
    // Mean of 30 alternating 10/12 values is 11; sample deviation sqrt(30 / 29).
    const z = 9 / Math.sqrt(30 / 29);
    expect(found[0]).toMatchObject({ kind: 'ZSCORE', index: 30, value: 20, severity: 'WARNING' });
    expect(found[0]!.score).toBeCloseTo(z, 12);
    expect(found[0]!.expectedMin).toBeCloseTo(11 - 3 * Math.sqrt(30 / 29), 12);
    expect(found[0]!.expectedMax).toBeCloseTo(11 + 3 * Math.sqrt(30 / 29), 12);
  });

  it('stays quiet during warm-up', () => {
    const series = [...alternating(10), 1000, ...alternating(5)];
    expect(run(series, DEFAULT_DETECTION).found).toEqual([]);
  });

  it('judges against the most recent window only', () => {
    // 100 values around 0, then 60 around 1000: the shift fires until the 20-value window
    // holds mostly the new level, and never after it holds only the new level.
    const settings: DetectionSettings = { ...DEFAULT_DETECTION, zScore: { threshold: 3, window: 20, warmup: 5 } };
    const series = [...alternating(100).map((v) => v - 11), ...alternating(60).map((v) => v + 989)];
    const { found, state } = run(series, settings);
    expect(found[0]!.index).toBe(100);
    expect(Math.max(...found.map((f) => f.index))).toBeLessThan(120);
    expect(state.recent).toHaveLength(20);
  });

  it('judges nothing when the window has no spread', () => {
    expect(run([...Array(30).fill(5), 6], DEFAULT_DETECTION).found).toEqual([]);
  });
});

describe('threshold and rate-of-change detection', () => {
  const settings: DetectionSettings = { zScore: null, min: 0, max: 100, maxRatePerSecond: 10, severity: 'CRITICAL' };

  it('reports values outside [min, max] with the distance past the limit', () => {
    const { found } = run([50, 55, 105, 60, 62, -3], { ...settings, maxRatePerSecond: null });
    expect(found.map((f) => [f.kind, f.index, f.score, f.expectedMin, f.expectedMax, f.severity])).toEqual([
      ['THRESHOLD', 2, 5, 0, 100, 'CRITICAL'],
      ['THRESHOLD', 5, 3, 0, 100, 'CRITICAL'],
    ]);
  });

  it('reports changes faster than maxRatePerSecond, in either direction', () => {
    const { found } = run([50, 55, 80, 75, 60], { ...settings, min: null, max: null });
    expect(found.map((f) => [f.kind, f.index, f.score])).toEqual([
      ['RATE_OF_CHANGE', 2, 25],
      ['RATE_OF_CHANGE', 4, -15],
    ]);
    expect(found[0]).toMatchObject({ expectedMin: 45, expectedMax: 65 });
  });

  it('does not rate-check a late reading against a newer one', () => {
    let state = detect(EMPTY_STATE, settings, 10 * SECOND, 50).state;
    const late = detect(state, settings, 5 * SECOND, 99);
    expect(late.findings).toEqual([]);
    state = late.state;
    expect(state.lastTs).toBe(10 * SECOND);
    expect(detect(state, settings, 11 * SECOND, 52).findings).toEqual([]);
  });
});

describe('rule resolution', () => {
  const rule = (scope: AnomalyRule['scope'], metric: string, max: number): AnomalyRule => ({
    id: `${scope.kind}-${metric}-${max}`,
    tenantId: 't',
    scope,
    metric,
    zScore: null,
    min: null,
    max,
    maxRatePerSecond: null,
    severity: 'INFO',
    updatedAt: 0,
  });
  const rules = [
    rule({ kind: 'tenant' }, '*', 1),
    rule({ kind: 'tenant' }, 'temp', 2),
    rule({ kind: 'tag', tag: 'zeta' }, '*', 3),
    rule({ kind: 'tag', tag: 'alpha' }, '*', 4),
    rule({ kind: 'tag', tag: 'alpha' }, 'temp', 5),
    rule({ kind: 'device', deviceId: 'd1' }, '*', 6),
    rule({ kind: 'device', deviceId: 'd1' }, 'temp', 7),
  ];
  const maxFor = (deviceId: string, tags: string[], metric: string) => resolveDetection(rules, deviceId, new Set(tags), metric).max;

  it('prefers device over tag over tenant, and a named metric over "*"', () => {
    expect(maxFor('d1', ['alpha'], 'temp')).toBe(7);
    expect(maxFor('d1', ['alpha'], 'rpm')).toBe(6);
    expect(maxFor('d2', ['alpha', 'zeta'], 'temp')).toBe(5);
    expect(maxFor('d2', ['zeta', 'alpha'], 'rpm')).toBe(4); // the alphabetically first tag
    expect(maxFor('d2', ['zeta'], 'rpm')).toBe(3);
    expect(maxFor('d2', [], 'temp')).toBe(2);
    expect(maxFor('d2', [], 'rpm')).toBe(1);
  });

  it('falls back to the default z-score detection without rules', () => {
    expect(resolveDetection([], 'd', new Set(), 'm')).toBe(DEFAULT_DETECTION);
    expect(DEFAULT_DETECTION.zScore).toEqual({ threshold: 3, window: 60, warmup: 20 });
  });
});
