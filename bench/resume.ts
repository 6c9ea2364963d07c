/**
 * Resume benchmark: how fast subscribers that were away catch up, and what it costs the
 * service's memory (docs/PROTOCOL.md §4).
 *
 *   npm run bench:resume -- [--devices 100] [--missed 100000] [--subscribers 1]
 *
 * Registers `devices`, ingests `missed` readings while no one listens, waits until they are
 * stored, then resumes `subscribers` subscriptions on every device at once, each on its own
 * WebSocket, all from one cursor taken before the first reading (the consoles of a fleet after
 * an outage: they watched the same devices, so they hold the same cursor), and times the replay
 * until every subscriber had every missed reading (checked complete and in order). A resume
 * the service refuses for a while (UNAVAILABLE: the database readers' queue is full) is sent
 * again after the delay it names, from the subscriber's last cursor, as the console does.
 * Reports events/s, the time to catch up, the resumes sent again, the events the service read
 * back from its database (`telemetry_subscription_replayed_events_total`: `missed` for each
 * replay that ran, however many subscribers shared it) and its peak RSS before and after the
 * replay. Starts its own service on a fresh data directory.
 */
import 'reflect-metadata';
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { encodeCursor } from '../src/domain/cursor';
import { appliedReadings, gql } from './api';
import { startOwnService } from './service';

const { values: args } = parseArgs({
  options: {
    devices: { type: 'string', default: '100' },
    missed: { type: 'string', default: '100000' },
    subscribers: { type: 'string', default: '1' },
  },
});
const DEVICES = Array.from({ length: Number(args.devices) }, (_, i) => `resume-${String(i).padStart(4, '0')}`);
const MISSED = Number(args.missed);
const SUBSCRIBERS = Number(args.subscribers);
const BATCH = 500;
const SUBSCRIPTION = `subscription($d: [ID!], $after: String) { readingAdded(deviceIds: $d, after: $after) { partition offset cursor } }`;

let clock = Date.now() - 3_600_000;

async function ingest(url: string, key: string, count: number): Promise<void> {
  const batches = Math.ceil(count / BATCH);
  let next = 0;
  const worker = async () => {
    for (let b = next++; b < batches; b = next++) {
      const readings = Array.from({ length: Math.min(BATCH, count - b * BATCH) }, (_, i) => ({
        deviceId: DEVICES[i % DEVICES.length],
        timestamp: clock++,
        metrics: [{ name: 'n', value: i }],
      }));
      await gql(url, key, 'mutation($r: [ReadingInput!]!) { ingestReadings(readings: $r) { rejectedCount } }', { r: readings });
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
}

interface Replay {
  /** When the first event arrived, and when the last did (ms since the epoch). */
  firstAt: number;
  doneAt: number;
  /** Every event came with a higher offset than the last of its partition. */
  inOrder: boolean;
  /** Subscriptions sent again after the service answered UNAVAILABLE. */
  resent: number;
}

/**
 * Subscribes from `after` and resolves once `count` events arrived. A subscription the service
 * ends with UNAVAILABLE (its database readers are busy) is sent again after the delay it
 * names, from the last cursor received; any other error fails the run.
 */
function receive(client: Client, after: string, count: number): Promise<Replay> {
  const replay: Replay = { firstAt: 0, doneAt: 0, inOrder: true, resent: 0 };
  const last = new Map<number, number>();
  let received = 0;
  let cursor = after;
  return new Promise((resolve, reject) => {
    const subscribe = () => {
      const stop = client.subscribe<{ readingAdded: { partition: number; offset: number; cursor: string } }>(
        { query: SUBSCRIPTION, variables: { d: DEVICES, after: cursor } },
        {
          next: (result) => {
            if (result.errors) {
              if (!retried(result.errors)) reject(new Error(JSON.stringify(result.errors)));
              return;
            }
            const event = result.data!.readingAdded;
            if (received === 0) replay.firstAt = Date.now();
            if (event.offset <= (last.get(event.partition) ?? -1)) replay.inOrder = false;
            last.set(event.partition, event.offset);
            cursor = event.cursor;
            if (++received === count) {
              replay.doneAt = Date.now();
              stop();
              resolve(replay);
            }
          },
          error: (error: unknown) => {
            if (!retried(error)) reject(error instanceof Error ? error : new Error(JSON.stringify(error)));
          },
          complete: () => {
            if (received < count && replay.resent === 0) reject(new Error(`completed after ${received} events`));
          },
        },
      );
    };
    /** Sends the subscription again later when `errors` is the service's UNAVAILABLE; false otherwise. */
    const retried = (errors: unknown): boolean => {
      const refusal = Array.isArray(errors)
        ? (errors as { extensions?: { code?: string; retryAfterSeconds?: number } }[]).find((error) => error.extensions?.code === 'UNAVAILABLE')
        : undefined;
      if (!refusal) return false;
      replay.resent++;
      setTimeout(subscribe, (refusal.extensions?.retryAfterSeconds ?? 1) * 1000 * (0.5 + Math.random()));
      return true;
    };
    subscribe();
  });
}

/** A port nothing listens on now, for the service's metrics endpoint. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.once('error', reject);
  });
}

/** A counter's value from the service's /metrics, `series` its name with its labels as exposed (0 when absent). */
async function counter(metricsUrl: string, series: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return Number(line?.slice(series.length + 1) ?? 0);
}

const REPLAYED = 'telemetry_subscription_replayed_events_total{feed="readings"}';

const percentile = (sorted: readonly number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

async function main(): Promise<void> {
  const metricsPort = await freePort();
  // Each subscriber on a socket of its own, all with the bench's one key (100 per key by default).
  const own = await startOwnService({
    TELEMETRY_METRICS_PORT: String(metricsPort),
    TELEMETRY_MAX_CONNECTIONS_PER_KEY: String(Math.min(100_000, SUBSCRIBERS + 100)),
  });
  const { service, key } = own;
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  const wsUrl = service.url.replace(/^http/, 'ws');
  const client = (): Client => createClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${key}` }, retryAttempts: 0 });
  try {
    for (const id of DEVICES) await gql(service.url, key, 'mutation($id: ID!) { registerDevice(input: { id: $id }) { device { id } } }', { id });
    // The cursor of a client that was last online before the first reading: every partition
    // at offset -1 (what a subscriber that saw nothing yet would hold).
    const cursor = encodeCursor(new Map(Array.from({ length: Number(process.env['TELEMETRY_PARTITIONS'] ?? 4) }, (_, p) => [p, -1])));
    const ingestStart = Date.now();
    await ingest(service.url, key, MISSED);
    while ((await appliedReadings(service.url)) < MISSED) await new Promise((r) => setTimeout(r, 100));
    console.log(
      `stored ${MISSED.toLocaleString('en')} readings for ${DEVICES.length} devices in ${((Date.now() - ingestStart) / 1000).toFixed(1)} s; peak RSS ${service.peakRssMiB().toFixed(0)} MiB`,
    );

    const clients = Array.from({ length: SUBSCRIBERS }, client);
    const replayedBefore = await counter(metricsUrl, REPLAYED);
    const start = Date.now();
    const replays = await Promise.all(clients.map((each) => receive(each, cursor, MISSED)));
    const seconds = (Math.max(...replays.map((replay) => replay.doneAt)) - start) / 1000;
    const replayed = (await counter(metricsUrl, REPLAYED)) - replayedBefore;
    for (const each of clients) await each.dispose();
    const caughtUp = replays.map((replay) => replay.doneAt - start).sort((a, b) => a - b);
    const firsts = replays.map((replay) => replay.firstAt - start).sort((a, b) => a - b);
    const events = MISSED * SUBSCRIBERS;
    console.log(
      `${SUBSCRIBERS.toLocaleString('en')} subscriber(s) resumed ${MISSED.toLocaleString('en')} missed readings each in ${seconds.toFixed(2)} s ` +
        `(${Math.round(events / seconds).toLocaleString('en')} events/s); caught up p50 ${percentile(caughtUp, 50)} ms, p99 ${percentile(caughtUp, 99)} ms; ` +
        `first event p50 ${percentile(firsts, 50)} ms; in order: ${replays.every((replay) => replay.inOrder)}; ` +
        `resumes sent again after UNAVAILABLE: ${replays.reduce((sum, replay) => sum + replay.resent, 0).toLocaleString('en')}; ` +
        `events read back from the database: ${replayed.toLocaleString('en')} (${(replayed / MISSED).toFixed(1)} replays); service peak RSS ${service.peakRssMiB().toFixed(0)} MiB`,
    );
  } finally {
    await own.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
