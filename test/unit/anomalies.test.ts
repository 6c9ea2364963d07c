import fc from 'fast-check';
import { detect, detectSeries, EMPTY_STATE, type DetectorState } from '../../src/domain/anomalies/detector';
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

describe('z-score detection (robust, on changes)', () => {
  it('fires on a spike after warm-up, with z from the median and spread of the previous changes', () => {
    // Changes alternate +2/-2: median 0 (an even count of each), MAD 2, mean absolute deviation 2.
    const series = [...alternating(70), 30, 12, ...alternating(10)];
    const { found } = run(series, DEFAULT_DETECTION);
    const spread = Math.max(1.4826 * 2, 1.2533 * 2);
    // The previous value is 12; the jump to 30 is 18 = 18 / spread deviations.
    expect(found[0]).toMatchObject({ kind: 'ZSCORE', index: 70, value: 30, severity: 'WARNING' });
    expect(found[0]!.score).toBeCloseTo(18 / spread, 12);
    expect(found[0]!.expectedMin).toBeCloseTo(12 - 4 * spread, 12);
    expect(found[0]!.expectedMax).toBeCloseTo(12 + 4 * spread, 12);
    // The way back (30 -> 12) is a change as far outside the recent ones: the same alarm's second trigger.
    expect(found.map((f) => f.index)).toEqual([70, 71]);
  });

  it('stays quiet during warm-up', () => {
    const series = [...alternating(50), 1000, ...alternating(5)];
    expect(run(series, DEFAULT_DETECTION).found).toEqual([]);
  });

  it('does not fire on a random walk (the simulator temperature: steps of up to +-0.1, rounded to 0.01)', () => {
    // A seeded generator (mulberry32): the same walk every run. Judged against the mean and
    // stddev of the last 60 values, this walk fires dozens of times.
    let seed = 42;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    let value = 21;
    const series = Array.from({ length: 5000 }, () => Math.round((value += (random() - 0.5) * 0.2) * 100) / 100);
    expect(run(series, DEFAULT_DETECTION).found).toEqual([]);
  });

  it('judges against the most recent window only', () => {
    // 100 small changes, then a step of 1000, then changes 100 times larger: the new scale
    // fires until the 20-change window holds mostly the new changes, and never after.
    const settings: DetectionSettings = { ...DEFAULT_DETECTION, zScore: { threshold: 3, window: 20, warmup: 5 } };
    const series = [...alternating(100), ...alternating(60).map((v) => v * 100 + 1000)];
    const { found, state } = run(series, settings);
    expect(found[0]!.index).toBe(100);
    expect(Math.max(...found.map((f) => f.index))).toBeLessThan(120);
    expect(state.recent).toHaveLength(21);
  });

  it('scores exactly as the plain-array definition does (the typed-array scratch is only faster)', () => {
    // The definition, written plainly: sorted copies, a map and a reduce per judgment.
    const median = (sorted: readonly number[]) => {
      const mid = sorted.length >> 1;
      return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    };
    const reference = (window: readonly number[], value: number) => {
      const changes = window.slice(1).map((v, i) => v - window[i]!);
      const centre = median([...changes].sort((a, b) => a - b));
      const deviations = changes.map((change) => Math.abs(change - centre));
      const spread = Math.max(1.4826 * median([...deviations].sort((a, b) => a - b)), 1.2533 * (deviations.reduce((sum, d) => sum + d, 0) / deviations.length));
      return spread > 0 ? (value - (window[window.length - 1]! + centre)) / spread : undefined;
    };
    const settings: DetectionSettings = { ...DEFAULT_DETECTION, zScore: { threshold: 0, window: 20, warmup: 3 } };
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 4, maxLength: 60 }), (values) => {
        let state = EMPTY_STATE;
        values.forEach((value, index) => {
          const expected = state.seen >= 3 && state.recent.length >= 3 ? reference(state.recent.slice(-21), value) : undefined;
          const result = detect(state, settings, index * SECOND, value);
          const z = result.findings.find((finding) => finding.kind === 'ZSCORE');
          // Threshold 0: every judged value off its expectation is a finding, so the score is
          // visible (=== so that the sign of a zero, which sorting may pick either way, is no difference).
          const got = z?.score ?? 0;
          expect(got === (expected ?? 0) ? 'same' : `${got} instead of ${expected}`).toBe('same');
          state = result.state;
        });
      }),
    );
  });

  it('judges nothing when the changes have no spread (a constant or stuck signal)', () => {
    expect(run([...Array(70).fill(5), 6], DEFAULT_DETECTION).found).toEqual([]);
  });
});

describe('threshold and rate-of-change detection', () => {
  const settings: DetectionSettings = { zScore: null, min: 0, max: 100, maxRatePerSecond: 10, severity: 'CRITICAL', clearAfterMs: null };

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
    clearAfterMs: null,
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
    expect(DEFAULT_DETECTION.zScore).toEqual({ threshold: 4, window: 60, warmup: 60 });
  });
});

describe('detectSeries (one working window per series)', () => {
  const point = fc.record({
    timestamp: fc.integer({ min: 0, max: 2_000 }),
    value: fc.oneof(fc.double({ min: -1e3, max: 1e3, noNaN: true }), fc.constantFrom(0, -0, 5, 5.5)),
  });
  const settings = fc.record({
    zScore: fc.option(fc.record({ threshold: fc.constantFrom(0, 1, 4), window: fc.integer({ min: 2, max: 30 }), warmup: fc.integer({ min: 0, max: 10 }) }), {
      nil: null,
    }),
    min: fc.option(fc.constant(-500), { nil: null }),
    max: fc.option(fc.constant(500), { nil: null }),
    maxRatePerSecond: fc.option(fc.constantFrom(0.5, 50), { nil: null }),
    severity: fc.constantFrom('WARNING' as const, 'CRITICAL' as const),
    clearAfterMs: fc.constant(null),
  });
  // A stored state as an earlier batch left it, possibly under a longer window than the rule has now.
  const stored = fc.option(
    fc.record({
      recent: fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { maxLength: 40 }),
      lastTs: fc.option(fc.integer({ min: 0, max: 2_000 }), { nil: null }),
      lastValue: fc.option(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { nil: null }),
      seen: fc.integer({ min: 0, max: 100 }),
    }),
    { nil: undefined },
  );

  it('finds exactly what detect() finds value by value, and ends in the same state', () => {
    fc.assert(
      fc.property(stored, settings, fc.array(point, { minLength: 1, maxLength: 1_500, size: 'max' }), (initial, rule, points) => {
        let state: DetectorState = initial ?? EMPTY_STATE;
        const expected = points.map(({ timestamp, value }) => {
          const result = detect(state, rule, timestamp, value);
          state = result.state;
          return result.findings;
        });
        const got = detectSeries(initial ?? EMPTY_STATE, rule, points);
        // toEqual tells 0 from -0 and compares doubles exactly: the same arithmetic, bit for bit.
        expect(got.judged.map((judged) => judged.findings)).toEqual(expected);
        expect(got.judged.map((judged) => judged.point)).toEqual(points);
        expect(got.state).toEqual(state);
      }),
      // No shrinking: a failing series of a thousand values would take minutes to shrink.
      { numRuns: 150, endOnFailure: true },
    );
  });
});
