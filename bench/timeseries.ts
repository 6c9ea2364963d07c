/**
 * Time-series query benchmark.
 *
 *   npm run bench:timeseries -- [--days 30] [--others 200] [--iterations 50] [--data-dir DIR] [--footprint-only]
 *
 * With --data-dir the database is kept in DIR: the first run loads it, later runs (of this or
 * another commit's bench) time the same file, so that two builds can be compared on the same
 * pages. Without it the database is loaded into a temporary directory and removed.
 *
 * Loads, through Store.applyBatch (the consumer's own write path: readings, rollups, anomaly
 * detection, liveness, in one transaction per batch):
 *   - device `dense`: one reading per second for `days` days (30 days = 2,592,000 rows);
 *   - `others` devices: one reading every 5 minutes over the same days;
 *   - device `year`: one reading per minute for 365 days.
 * Then starts the service exactly as `npm start` does and times, through GraphQL over HTTP:
 * hourly buckets over the dense device's days, daily buckets over the year device, each with
 * the planner (rollups) and with plan: RAW (the raw scan), and a 1,000-point chart series.
 * Prints median and p99 per query, and the load rate. Before timing, prints the store's
 * footprint (bench/footprint.ts): bytes per stored value for the raw readings, the rollups, the
 * event ids and the rest; with --footprint-only it stops there (sizes mean the same on a busy
 * machine, timings do not). The load goes through applyBatch, not the stream: the stream log
 * it reports is only what the service wrote while timing.
 */
import { applyBatch } from '../src/consumers/pipeline/apply-batch';
import 'reflect-metadata';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { SqliteStore } from '../src/store/sqlite/sqlite-store';
import type { PartitionBatch } from '../src/domain/consumer-batch';
import { startService } from './service';
import { uuidv7 } from '../src/domain/ids';
import { measureFootprint, printFootprint } from './footprint';

const { values: args } = parseArgs({
  options: {
    days: { type: 'string', default: '30' },
    others: { type: 'string', default: '200' },
    iterations: { type: 'string', default: '50' },
    'data-dir': { type: 'string' },
    'footprint-only': { type: 'boolean', default: false },
  },
});
const DAYS = Number(args.days);
const OTHERS = Number(args.others);
const ITERATIONS = Number(args.iterations);
const DAY = 86_400_000;
const TENANT = 'default';
// The loaded window's end: today's midnight, or the one a kept database was loaded with.
const WINDOW_FILE = 'bench-window.json';
let END = Math.floor(Date.now() / DAY) * DAY;

async function load(store: SqliteStore): Promise<void> {
  await store.ensureTenant(TENANT, 'Default tenant');
  const devices = ['dense', 'year', ...Array.from({ length: OTHERS }, (_, i) => `other-${String(i).padStart(3, '0')}`)];
  for (const id of devices) await store.registerDevice(TENANT, { id, name: id, tags: [] });

  let offset = 0;
  let rows = 0;
  const started = performance.now();
  const apply = async (readings: { deviceId: string; timestamp: number; value: number }[]) => {
    const slice: PartitionBatch = {
      partition: 0,
      lastOffset: offset + readings.length - 1,
      readings: readings.map((r, i) => ({
        tenantId: TENANT,
        deviceId: r.deviceId,
        // As ingest names them when the device gives none: the event-id table is measured at its real width.
        eventId: uuidv7(Date.now()),
        timestamp: r.timestamp,
        offset: offset + i,
        metrics: [{ name: 'temperature', value: r.value }],
      })),
      deadLetters: [],
    };
    offset += readings.length;
    rows += readings.length;
    // Its own source: the service's consumer keeps its watermarks for the real stream.
    await applyBatch(store, { source: 'bench-load', partitions: [slice] });
  };
  const wave = (t: number) => 20 + 5 * Math.sin((2 * Math.PI * t) / DAY) + Math.random();

  const batch: { deviceId: string; timestamp: number; value: number }[] = [];
  const flush = async () => {
    if (batch.length > 0) await apply(batch.splice(0));
  };
  const start = END - DAYS * DAY;
  for (let t = start; t < END; t += 1000) {
    batch.push({ deviceId: 'dense', timestamp: t, value: wave(t) });
    if (t % 300_000 === 0) for (let d = 0; d < OTHERS; d++) batch.push({ deviceId: `other-${String(d).padStart(3, '0')}`, timestamp: t, value: wave(t) + d });
    if (batch.length >= 10_000) await flush();
  }
  for (let t = END - 365 * DAY; t < END; t += 60_000) {
    batch.push({ deviceId: 'year', timestamp: t, value: wave(t) });
    if (batch.length >= 10_000) await flush();
  }
  await flush();
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `loaded ${rows.toLocaleString('en')} readings in ${seconds.toFixed(1)} s (${Math.round(rows / seconds).toLocaleString('en')} rows/s through applyBatch with rollups and detection)`,
  );
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

async function time(label: string, url: string, key: string, query: string, variables: object, iterations: number): Promise<void> {
  const body = JSON.stringify({ query, variables });
  const run = async () => {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body });
    const result = (await response.json()) as { errors?: unknown[]; data?: unknown };
    if (result.errors) throw new Error(`${label}: ${JSON.stringify(result.errors)}`);
    return result.data;
  };
  await run(); // warm-up: statement and document caches
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    await run();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  console.log(
    `${label.padEnd(58)} median ${percentile(samples, 0.5).toFixed(1).padStart(8)} ms   p99 ${percentile(samples, 0.99).toFixed(1).padStart(8)} ms   (${iterations} runs)`,
  );
}

const AGGREGATES = `query($d: [ID!]!, $from: DateTime!, $to: DateTime!, $bucket: String!, $plan: AggregatePlan) {
  aggregates(deviceIds: $d, metric: "temperature", from: $from, to: $to, bucket: $bucket, plan: $plan) { buckets { start count avg min max stddev first last source } } }`;
const SERIES = `query($from: DateTime!, $to: DateTime!) { series(deviceId: "dense", metric: "temperature", from: $from, to: $to, points: 1000) { totalPoints points { timestamp value } } }`;

async function main(): Promise<void> {
  const kept = args['data-dir'];
  const dataDir = kept ?? mkdtempSync(path.join(tmpdir(), 'telemetry-bench-ts-'));
  const key = `tk_${randomBytes(32).toString('base64url')}`;
  try {
    const file = path.join(dataDir, 'telemetry.db');
    if (kept && existsSync(file)) {
      const window = JSON.parse(readFileSync(path.join(dataDir, WINDOW_FILE), 'utf8')) as { end: number; days: number; others: number };
      if (window.days !== DAYS || window.others !== OTHERS) throw new Error(`${file} was loaded with --days ${window.days} --others ${window.others}`);
      END = window.end;
      console.log(`timing the database already in ${file} (loaded by an earlier run)`);
    } else {
      mkdirSync(dataDir, { recursive: true });
      const store = new SqliteStore({ file });
      await load(store);
      await store.close();
      writeFileSync(path.join(dataDir, WINDOW_FILE), JSON.stringify({ end: END, days: DAYS, others: OTHERS }));
    }
    // Opening the store migrates a database an earlier version loaded, before it is measured.
    await new SqliteStore({ file }).close();
    printFootprint(measureFootprint(dataDir));
    if (args['footprint-only']) return;
    const service = await startService({ TELEMETRY_DATA_DIR: dataDir, TELEMETRY_ADMIN_KEY: key });
    try {
      const from = new Date(END - DAYS * DAY).toISOString();
      const to = new Date(END).toISOString();
      const yearFrom = new Date(END - 365 * DAY).toISOString();
      const rawRuns = Math.max(3, Math.round(ITERATIONS / 10));
      await time(`hourly buckets, ${DAYS} days of 1/s (rollups)`, service.url, key, AGGREGATES, { d: ['dense'], from, to, bucket: '1h' }, ITERATIONS);
      await time(
        `hourly buckets, ${DAYS} days of 1/s (raw scan)`,
        service.url,
        key,
        AGGREGATES,
        { d: ['dense'], from, to, bucket: '1h', plan: 'RAW' },
        rawRuns,
      );
      await time('daily buckets, 365 days of 1/min (rollups)', service.url, key, AGGREGATES, { d: ['year'], from: yearFrom, to, bucket: '1d' }, ITERATIONS);
      await time(
        'daily buckets, 365 days of 1/min (raw scan)',
        service.url,
        key,
        AGGREGATES,
        { d: ['year'], from: yearFrom, to, bucket: '1d', plan: 'RAW' },
        rawRuns,
      );
      await time(
        'Paris calendar days, 365 days (hourly rollups)',
        service.url,
        key,
        AGGREGATES.replace('plan: $plan', 'plan: $plan, timeZone: "Europe/Paris"'),
        { d: ['year'], from: yearFrom, to, bucket: 'day' },
        ITERATIONS,
      );
      await time(`chart series, ${DAYS} days of 1/s -> 1000 points`, service.url, key, SERIES, { from, to }, rawRuns);
      console.log(`service peak RSS ${service.peakRssMiB().toFixed(0)} MiB`);
    } finally {
      await service.stop();
    }
  } finally {
    if (!kept) rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
