/**
 * Detection benchmark: what judging a value costs, by how many values a series has in one batch.
 *
 *   npm run bench:detection -- [--values 300000]
 *
 * Runs detectSeries (the default rule: robust z-score over 60 changes, after a full window) over
 * a random walk, `k` values a call from the same stored state, for k from 1 (single ingest: one
 * value per series a round) to 200 (a backlog), and prints the median of five runs in ns a value.
 * detector.ts chooses from these figures when a series' window is kept sorted.
 */
import { parseArgs } from 'node:util';
import { detectSeries } from '../src/domain/anomalies/detector';
import { DEFAULT_DETECTION } from '../src/domain/anomalies/rules';

const { values: args } = parseArgs({ options: { values: { type: 'string', default: '300000' } } });
const TOTAL = Number(args.values);

let level = 20;
const walk = () => (level = Math.round((level + (Math.random() - 0.5) / 5) * 100) / 100);
const recent = Array.from({ length: 61 }, walk);
const stored = { recent, lastTs: 1_000, lastValue: recent[60]!, seen: 1_000, openAlarms: 0 };

function nsPerValue(k: number): number {
  const points = Array.from({ length: k }, (_, i) => ({ timestamp: 2_000 + i, value: walk() }));
  const start = process.hrtime.bigint();
  for (let done = 0; done < TOTAL; done += k) detectSeries(stored, DEFAULT_DETECTION, points);
  return Number(process.hrtime.bigint() - start) / TOTAL;
}

console.log('values a series has in a batch: ns a value (median of 5 runs)');
for (const k of [1, 2, 3, 4, 5, 8, 10, 20, 200]) {
  const runs = Array.from({ length: 5 }, () => nsPerValue(k)).sort((a, b) => a - b);
  console.log(`${String(k).padStart(4)}: ${runs[2]!.toFixed(0)} ns`);
}
