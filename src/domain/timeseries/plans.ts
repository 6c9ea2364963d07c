import { defineVocabulary, type ValueOf } from '../vocabulary';

/** How a time-series query is answered: which stored data it reads. */

/** What an aggregates query may read. The answer is the same either way. */
export const AGGREGATE_PLANS = defineVocabulary({
  AUTO: 'Use the coarsest rollup that answers each bucket exactly; raw readings otherwise.',
  RAW: 'Scan raw readings only (same answer, slower; for comparison), also where retention removed them: there it finds only what remains.',
});
export type AggregatePlan = ValueOf<typeof AGGREGATE_PLANS>;

/** Where the points of a chart series were chosen from. */
export const SERIES_SOURCES = defineVocabulary({
  RAW: 'Every stored reading in the range.',
  ROLLUPS: 'The first, lowest, highest and last readings of each rollup bucket (a chart point spans at least a minute); every point is still a stored reading.',
});
export type SeriesSource = ValueOf<typeof SERIES_SOURCES>;
