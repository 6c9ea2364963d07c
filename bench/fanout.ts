/**
 * Fan-out benchmark: live delivery latency with persist-then-publish, measured end to end.
 *
 *   npm run bench:fanout -- [--subscribers 100] [--devices 1] [--rate 100] [--seconds 10]
 *                           [--heavy-query] [--scan-rows 2600000] [--resume] [--url URL --key KEY]
 *
 * `subscribers` WebSocket connections (one readingAdded subscription each, spread over
 * `devices` devices) are opened by a client in its own process (bench/fanout-client.ts),
 * which then sends `rate` single ingestReading mutations per second in all (open loop) and
 * reports the delay from sending a mutation to each subscriber receiving it (p50/p99/max),
 * mutation latency, and what was delivered. The issue's three runs:
 *
 *   npm run bench:fanout                                                   # 100 subscribers x 100 events/s
 *   npm run bench:fanout -- --subscribers 1000                             # 100,000 deliveries/s
 *   npm run bench:fanout -- --subscribers 10000 --devices 100              # 10,000 connections, 10,000 deliveries/s
 *   npm run bench:fanout -- --heavy-query                                  # 100 subscribers while a raw scan of 2.6M rows runs in a loop
 *
 * With --resume every subscriber subscribes `after` a cursor read just before (`readingCursor`),
 * as the console's device view does and as every client resuming after a drop does.
 * With --heavy-query the driver first loads `scan-rows` readings of one extra device, then
 * runs `aggregates(plan: RAW)` over all of them back to back while the client measures.
 * Without --url it starts its own service on a fresh data directory and reports its peak RSS.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { FanoutClientOptions, FanoutClientResult } from './fanout-client';
import { appliedReadings, gql } from './api';
import { startOwnService, type OwnService } from './service';

const { values: args } = parseArgs({
  options: {
    subscribers: { type: 'string', default: '100' },
    devices: { type: 'string', default: '1' },
    rate: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '10' },
    'heavy-query': { type: 'boolean', default: false },
    resume: { type: 'boolean', default: false },
    'scan-rows': { type: 'string', default: '2600000' },
    url: { type: 'string' },
    key: { type: 'string' },
  },
});
const SUBSCRIBERS = Number(args.subscribers);
const DEVICES = Array.from({ length: Number(args.devices) }, (_, i) => `fanout-${String(i).padStart(4, '0')}`);
const SCAN_DEVICE = 'fanout-scan';
const SCAN_ROWS = Number(args['scan-rows']);

/** One reading per second ending an hour ago; returns the range [from, to) they cover. */
async function loadScanDevice(url: string, key: string): Promise<{ from: number; to: number }> {
  await gql(url, key, 'mutation($id: ID!) { registerDevice(input: { id: $id }) { device { id } } }', { id: SCAN_DEVICE });
  const to = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;
  const from = to - SCAN_ROWS * 1000;
  const before = await appliedReadings(url);
  const started = performance.now();
  let next = 0;
  const ingest = 'mutation($r: [ReadingInput!]!) { ingestReadings(readings: $r) { acceptedCount } }';
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < SCAN_ROWS) {
        const first = next;
        next = Math.min(SCAN_ROWS, next + 1000);
        const readings = Array.from({ length: next - first }, (_, i) => ({
          deviceId: SCAN_DEVICE,
          timestamp: from + (first + i) * 1000,
          metrics: [{ name: 'temperature', value: 20 + Math.sin((first + i) / 3600) }],
        }));
        await gql(url, key, ingest, { r: readings });
      }
    }),
  );
  while ((await appliedReadings(url)) - before < SCAN_ROWS) await new Promise((resolve) => setTimeout(resolve, 200));
  console.log(`loaded ${SCAN_ROWS.toLocaleString('en')} readings of ${SCAN_DEVICE} in ${((performance.now() - started) / 1000).toFixed(0)}s`);
  return { from, to };
}

/** Runs the raw scan back to back until stopped; returns how many ran and how long each took. */
function heavyQueryLoop(url: string, key: string, range: { from: number; to: number }) {
  const durations: number[] = [];
  const loop = { running: true };
  const query =
    'query($d: ID!, $from: DateTime!, $to: DateTime!) { aggregates(deviceIds: [$d], metric: "temperature", from: $from, to: $to, bucket: "1d", plan: RAW) { buckets { count } } }';
  const done = (async () => {
    while (loop.running) {
      const started = performance.now();
      const data = (await gql(url, key, query, { d: SCAN_DEVICE, from: new Date(range.from).toISOString(), to: new Date(range.to).toISOString() })) as {
        aggregates: { buckets: { count: number }[] }[];
      };
      const rows = data.aggregates[0]!.buckets.reduce((sum, bucket) => sum + bucket.count, 0);
      if (rows !== SCAN_ROWS) throw new Error(`the raw scan counted ${rows} rows, expected ${SCAN_ROWS}`);
      durations.push(performance.now() - started);
    }
  })();
  return {
    async stop() {
      loop.running = false;
      await done;
      durations.sort((a, b) => a - b);
      return { runs: durations.length, p50: durations[Math.floor(durations.length / 2)] ?? Number.NaN };
    },
  };
}

function runClient(options: FanoutClientOptions): Promise<FanoutClientResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'fanout-client.js'), JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(output) as FanoutClientResult) : reject(new Error(`fan-out client exited with ${code}`))));
  });
}

async function main(): Promise<void> {
  let own: OwnService | undefined;
  let url = args.url;
  let key = args.key ?? process.env['TELEMETRY_ADMIN_KEY'];
  if (!url) {
    own = await startOwnService({ TELEMETRY_MAX_CONNECTIONS_PER_KEY: String(Math.min(100_000, SUBSCRIBERS + 100)) });
    url = own.service.url;
    key = own.key;
  }
  if (!key) throw new Error('pass --key or set TELEMETRY_ADMIN_KEY when benchmarking a running service');
  try {
    await measure(url, key, own);
  } finally {
    // A failed run (the client gave up in its warm-up, say) must not leave its service running:
    // it would take CPU from every run after it.
    await own?.stop();
  }
}

async function measure(url: string, key: string, own: OwnService | undefined): Promise<void> {
  for (const id of DEVICES) await gql(url, key, 'mutation($id: ID!) { registerDevice(input: { id: $id }) { device { id } } }', { id });
  const heavy = args['heavy-query'] ? heavyQueryLoop(url, key, await loadScanDevice(url, key)) : undefined;

  const rate = Number(args.rate);
  console.log(
    `fan-out benchmark: ${SUBSCRIBERS.toLocaleString('en')} subscribers on ${DEVICES.length} device(s), ${rate} events/s for ${args.seconds}s` +
      `${heavy ? `, with a raw scan of ${SCAN_ROWS.toLocaleString('en')} rows in a loop` : ''}${args.resume ? ', each subscribed after a cursor' : ''}; ${url}`,
  );
  const result = await runClient({
    httpUrl: url,
    wsUrl: url.replace(/^http/, 'ws'),
    key,
    subscribers: SUBSCRIBERS,
    devices: DEVICES,
    ratePerSecond: rate,
    seconds: Number(args.seconds),
    resume: args.resume,
  });
  const scans = await heavy?.stop();
  const ms = (value: number) => value.toFixed(1);
  console.log(
    `delivery: p50 ${ms(result.latencyMs.p50)} ms, p99 ${ms(result.latencyMs.p99)} ms, max ${ms(result.latencyMs.max)} ms; ` +
      `${result.delivered.toLocaleString('en')}/${result.expected.toLocaleString('en')} delivered (${((result.delivered / result.expected) * 100).toFixed(2)}%), ` +
      `${Math.round(result.deliveriesPerSecond).toLocaleString('en')} deliveries/s`,
  );
  console.log(
    `mutations: p50 ${ms(result.mutationMs.p50)} ms, p99 ${ms(result.mutationMs.p99)} ms, ${result.failedMutations} failed; ` +
      `${result.subscriptionErrors} subscription errors, ${result.socketsClosed} sockets closed by the server; ` +
      (result.resubscribed ? `${result.resubscribed} subscribes sent again after UNAVAILABLE; ` : '') +
      `connections opened in ${result.connectSeconds.toFixed(1)}s; client used ${result.clientCpuPercent.toFixed(0)}% of a core`,
  );
  for (const [when, stats] of [
    ['start', result.cohortsAtStart],
    ['end', result.cohorts],
  ] as const) {
    if (stats)
      console.log(
        `cohorts at the ${when}: ${stats.members.toLocaleString('en')} subscribers in ${stats.cohorts} cohort(s), ${stats.catchingUp} resumed ones still alone`,
      );
  }
  if (scans) console.log(`heavy query: ${scans.runs} raw scans ran during the measurement, p50 ${ms(scans.p50)} ms each`);
  if (own) console.log(`service peak RSS: ${own.service.peakRssMiB().toFixed(0)} MiB`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
