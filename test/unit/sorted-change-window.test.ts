import fc from 'fast-check';
import { changeSpread } from '../../src/domain/anomalies/change-spread';
import { SortedChangeWindow } from '../../src/domain/anomalies/sorted-change-window';

/**
 * SortedChangeWindow against changeSpread, the statistic's definition: the same centre and
 * spread bit for bit (Object.is tells 0 from -0), however the window slides.
 */
describe('SortedChangeWindow (changeSpread kept incrementally)', () => {
  // Few distinct values (ties, zeros of both signs) and values far enough apart to overflow a change.
  const value = fc.oneof(
    fc.double({ min: -1e3, max: 1e3, noNaN: true }),
    fc.constantFrom(0, -0, 1, 1, 2.5, -2.5),
    fc.constantFrom(1.7e308, -1.7e308),
    fc.integer({ min: -3, max: 3 }),
  );
  // Each step: append some values, then move the window's start forward (never past the last two values).
  const step = fc.record({ append: fc.array(value, { minLength: 1, maxLength: 5 }), advance: fc.integer({ min: 0, max: 4 }), reslice: fc.boolean() });

  it('gives changeSpread’s numbers at every step of a sliding window', () => {
    fc.assert(
      fc.property(fc.array(value, { minLength: 3, maxLength: 40 }), fc.array(step, { minLength: 1, maxLength: 150 }), (initial, steps) => {
        const window = new SortedChangeWindow();
        let values = initial.slice();
        let from = 0;
        for (const { append, advance, reslice } of steps) {
          values.push(...append);
          from = Math.min(from + advance, values.length - 3);
          if (reslice && from > 0) {
            // detectSeries drops old values now and then: a new array, which the window must notice.
            values = values.slice(from);
            from = 0;
          }
          const expected = changeSpread(values, from);
          const got = window.spreadOf(values, from);
          expect(Object.is(got.centre, expected.centre) || (Number.isNaN(got.centre) && Number.isNaN(expected.centre))).toBe(true);
          expect(Object.is(got.spread, expected.spread) || (Number.isNaN(got.spread) && Number.isNaN(expected.spread))).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('gives changeSpread’s numbers when most changes overflow to infinity', () => {
    // Changes of +-Infinity make a centre of Infinity or NaN, and NaN deviations, which a
    // selection and a sorted walk order differently; the sum, and so the spread, is NaN in both.
    const huge = fc.constantFrom(1.7e308, -1.7e308, 1.7e308, -1.7e308, 0, 1);
    fc.assert(
      fc.property(fc.array(huge, { minLength: 3, maxLength: 80 }), fc.integer({ min: 2, max: 12 }), (values, changes) => {
        const window = new SortedChangeWindow();
        // One array, appended to value by value, as detectSeries does.
        const seen = values.slice(0, 2);
        for (let end = 3; end <= values.length; end++) {
          seen.push(values[end - 1]!);
          const from = Math.max(0, end - changes - 1);
          const expected = changeSpread(seen, from);
          const got = window.spreadOf(seen, from);
          expect([got.centre, got.spread]).toEqual([expected.centre, expected.spread]);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('follows a window of 60 changes over a long random walk exactly', () => {
    // The consumer's usual case: one series, the default window, thousands of values in a batch.
    const window = new SortedChangeWindow();
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const values: number[] = [20];
    for (let i = 0; i < 5000; i++) {
      values.push(Math.round((values[values.length - 1]! + (random() - 0.5) / 5) * 100) / 100);
      if (values.length < 3) continue;
      const from = Math.max(0, values.length - 61);
      const expected = changeSpread(values, from);
      const got = window.spreadOf(values, from);
      expect([got.centre, got.spread]).toEqual([expected.centre, expected.spread]);
    }
  });
});
