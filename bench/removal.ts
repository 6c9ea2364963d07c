/**
 * What a big removal does to everyone else: the API's answers while a device with days of
 * readings is deleted, or while retention removes days of expired readings.
 *
 *   npm run bench:removal -- [--what device|retention|ingest] [--days 3] [--baseline-seconds 10] [--load-seconds 20]
 *
 * Loads `days` days of one reading per second for device `doomed` (86,400 rows a day, with their
 * rollups and event ids) through Store.applyBatch, the consumer's own write path, then starts
 * the service as `npm start` does and runs three probes in a loop, one request at a time each,
 * first for `baseline-seconds` with nothing being removed, then until the removal is over:
 *
 * - `query`: readings of another device (an API read);
 * - `ingest`: ingestReading of another device, acknowledged once the stream holds it;
 * - `update`: updateDevice of another device, a write of the API's own connection, which waits
 *   for SQLite's single write lock while a removal step holds it.
 *
 * `--what device` deletes `doomed` with keepData: false; the removal is over once its id can be
 * registered again. `--what retention` loads the days as expired (raw readings and event ids
 * kept one day) and starts the service with a retention pass due after the baseline; the removal
 * is over when the pass logs `retention pass done`. `--what ingest` removes nothing: for
 * `load-seconds`, four clients send ingestReadings of 500 readings each, back to back, so that the
 * consumer's batches hold the write lock much of the time (the probes' second phase is under that
 * load; `--days 0` skips the preload). Prints, per probe and phase: requests, p50, p99 and the
 * worst answer (ms), and how long the removal (or load) took.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { applyBatch } from '../src/consumers/pipeline/apply-batch';
import { uuidv7 } from '../src/domain/ids';
import { SqliteStore } from '../src/store/sqlite/sqlite-store';
import { startService } from './service';

const { values: args } = parseArgs({
  options: {
    what: { type: 'string', default: 'device' },
    days: { type: 'string', default: '3' },
    'baseline-seconds': { type: 'string', default: '10' },
    'load-seconds': { type: 'string', default: '20' },
  },
});
const WHAT = args.what;
if (WHAT !== 'device' && WHAT !== 'retention' && WHAT !== 'ingest') throw new Error('--what is device, retention or ingest');
const LOAD_MS = Number(args['load-seconds']) * 1000;
const DAYS = Number(args.days);
const BASELINE_MS = Number(args['baseline-seconds']) * 1000;
const DAY = 86_400_000;
const TENANT = 'default';

/** Loads `DAYS` days of one reading per second for `doomed`, ending `endAgoMs` ago. */
async function load(file: string, endAgoMs: number): Promise<number> {
  const store = new SqliteStore({ file });
  try {
    await store.ensureTenant(TENANT, 'Default tenant');
    for (const id of ['doomed', 'probe']) await store.registerDevice(TENANT, { id, name: id, tags: [] });
    const end = Math.floor((Date.now() - endAgoMs) / 1000) * 1000;
    let offset = 0;
    const started = performance.now();
    for (let t = end - DAYS * DAY; t < end;) {
      const readings = [];
      for (; readings.length < 10_000 && t < end; t += 1000)
        readings.push({
          tenantId: TENANT,
          deviceId: 'doomed',
          eventId: uuidv7(Date.now()),
          timestamp: t,
          offset: offset + readings.length,
          metrics: [{ name: 'temperature', value: 20 + Math.sin(t / DAY) }],
        });
      // Its own source: the service's consumer keeps its watermarks for the real stream.
      await applyBatch(store, { source: 'bench-load', partitions: [{ partition: 0, lastOffset: offset + readings.length - 1, readings, deadLetters: [] }] });
      offset += readings.length;
    }
    console.log(`loaded ${offset.toLocaleString('en')} readings of "doomed" in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return offset;
  } finally {
    await store.close();
  }
}

type Phase = 'baseline' | 'removal';
type Probe = 'query' | 'ingest' | 'update';

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'telemetry-bench-removal-'));
  const key = `tk_${randomBytes(32).toString('base64url')}`;
  try {
    // Retention: the days end two days ago, past a one-day raw and event-id retention.
    await load(path.join(dataDir, 'telemetry.db'), WHAT === 'retention' ? 2 * DAY : 60_000);
    const launched = Date.now();
    const service = await startService({
      TELEMETRY_DATA_DIR: dataDir,
      TELEMETRY_ADMIN_KEY: key,
      TELEMETRY_RATE_LIMIT_PER_SECOND: '1000000',
      TELEMETRY_RATE_LIMIT_BURST: '1000000',
      LOG_LEVEL: 'info',
      ...(WHAT === 'retention'
        ? {
            TELEMETRY_RETENTION_RAW_DAYS: '1',
            TELEMETRY_RETENTION_EVENT_ID_DAYS: '1',
            TELEMETRY_MAX_READING_AGE_DAYS: '1',
            // The first pass starts as the baseline ends (its timer starts with the consumer, after launch).
            TELEMETRY_RETENTION_INTERVAL_SECONDS: String(Math.ceil(BASELINE_MS / 1000)),
          }
        : {}),
    });
    let retentionDone: (() => void) | undefined;
    const retentionPass = new Promise<void>((resolve) => (retentionDone = resolve));
    let logged = '';
    service.child.stdout!.on('data', (chunk: Buffer) => {
      logged += chunk.toString();
      const line = /.*retention pass done.*/.exec(logged)?.[0];
      if (line && !/"RAW_READINGS":0\b/.test(line)) retentionDone?.();
      logged = logged.slice(-10_000);
    });
    const gql = async (query: string, variables: object = {}) => {
      const response = await fetch(service.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as { data?: any; errors?: { message: string; extensions?: { code?: string } }[] };
    };

    const samples: Record<Phase, Record<Probe, number[]>> = {
      baseline: { query: [], ingest: [], update: [] },
      removal: { query: [], ingest: [], update: [] },
    };
    let phase: Phase = 'baseline';
    let running = true;
    let n = 0;
    const probes: Record<Probe, () => Promise<unknown>> = {
      query: () => gql('{ readings(deviceId: "probe", metric: "temperature", first: 10) { edges { node { value } } } }'),
      ingest: () =>
        gql('mutation($r: ReadingInput!) { ingestReading(reading: $r) { acceptedCount } }', {
          r: { deviceId: 'probe', timestamp: new Date().toISOString(), metrics: [{ name: 'temperature', value: n++ }] },
        }),
      update: () => gql('mutation($n: String!) { updateDevice(id: "probe", input: { name: $n }) { name } }', { n: `probe ${n++}` }),
    };
    const loops = (Object.keys(probes) as Probe[]).map(async (probe) => {
      while (running) {
        const at = phase;
        const t0 = performance.now();
        const answer = (await probes[probe]()) as { errors?: unknown };
        if (answer.errors) throw new Error(`${probe}: ${JSON.stringify(answer.errors)}`);
        samples[at][probe].push(performance.now() - t0);
      }
    });

    const untilBaseline = Math.max(0, BASELINE_MS - (Date.now() - launched));
    await new Promise((resolve) => setTimeout(resolve, untilBaseline));
    phase = 'removal';
    const started = performance.now();
    if (WHAT === 'device') {
      const deleted = await gql('mutation { deleteDevice(id: "doomed", keepData: false) { id } }');
      if (deleted.errors) throw new Error(JSON.stringify(deleted.errors));
      // Over once the id can be registered again (a build that removes in the delete: at once).
      for (;;) {
        const again = await gql('mutation { registerDevice(input: { id: "doomed" }) { device { id } } }');
        if (!again.errors) break;
        if (again.errors[0]?.extensions?.code !== 'UNAVAILABLE') throw new Error(JSON.stringify(again.errors));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } else if (WHAT === 'retention') {
      await retentionPass;
    } else {
      // Four clients, each sending 500 readings of `doomed` per request, back to back.
      const until = Date.now() + LOAD_MS;
      // One millisecond apart from six hours ago: distinct, never too old nor in the future.
      const from = Date.now() - 6 * 3_600_000;
      let next = 0;
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (Date.now() < until) {
            const readings = Array.from({ length: 500 }, (_, i) => ({
              deviceId: 'doomed',
              timestamp: new Date(from + next++).toISOString(),
              metrics: [{ name: 'load', value: i }],
            }));
            const answer = await gql('mutation($r: [ReadingInput!]!) { ingestReadings(readings: $r) { acceptedCount } }', { r: readings });
            if (answer.errors) throw new Error(JSON.stringify(answer.errors));
          }
        }),
      );
    }
    const removalSeconds = (performance.now() - started) / 1000;
    running = false;
    await Promise.all(loops);
    await service.stop();

    const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? NaN;
    console.log(
      WHAT === 'ingest'
        ? `ingest load of 4 clients x 500 readings per request for ${removalSeconds.toFixed(1)} s`
        : `${WHAT === 'device' ? 'device removal' : 'retention pass'} over ${DAYS} day(s) of readings took ${removalSeconds.toFixed(1)} s`,
    );
    console.log('probe    phase       requests     p50 ms     p99 ms   worst ms');
    for (const probe of Object.keys(probes) as Probe[])
      for (const at of ['baseline', 'removal'] as Phase[]) {
        const sorted = [...samples[at][probe]].sort((a, b) => a - b);
        console.log(
          `${probe.padEnd(8)} ${at.padEnd(10)} ${String(sorted.length).padStart(9)} ${pct(sorted, 0.5).toFixed(1).padStart(10)} ${pct(sorted, 0.99)
            .toFixed(1)
            .padStart(10)} ${(sorted.at(-1) ?? NaN).toFixed(1).padStart(10)}`,
        );
      }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
