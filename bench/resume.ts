/**
 * Resume benchmark: how fast a subscriber that was away catches up, and what it costs the
 * service's memory (docs/PROTOCOL.md §4).
 *
 *   npm run bench:resume -- [--devices 100] [--missed 100000]
 *
 * Registers `devices`, ingests `missed` readings while no one listens, waits until they are stored, then resumes a subscription on every
 * device from a cursor taken before the first reading and times the replay until every missed reading arrived (checked
 * complete and in order). Reports events/s, the time to catch up and the service's peak RSS
 * before and after the replay. Starts its own service on a fresh data directory.
 */
import 'reflect-metadata';
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
  },
});
const DEVICES = Array.from({ length: Number(args.devices) }, (_, i) => `resume-${String(i).padStart(4, '0')}`);
const MISSED = Number(args.missed);
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

/** Subscribes and resolves with what arrived once `count` events did. */
function receive(client: Client, after: string, count: number, onFirst?: () => void): Promise<{ partition: number; offset: number; cursor: string }[]> {
  const events: { partition: number; offset: number; cursor: string }[] = [];
  return new Promise((resolve, reject) => {
    const stop = client.subscribe<{ readingAdded: { partition: number; offset: number; cursor: string } }>(
      { query: SUBSCRIPTION, variables: { d: DEVICES, after } },
      {
        next: (result) => {
          if (result.errors) {
            reject(new Error(JSON.stringify(result.errors)));
            return;
          }
          if (events.length === 0) onFirst?.();
          events.push(result.data!.readingAdded);
          if (events.length === count) {
            stop();
            resolve(events);
          }
        },
        error: reject,
        complete: () => reject(new Error(`completed after ${events.length} events`)),
      },
    );
  });
}

async function main(): Promise<void> {
  const own = await startOwnService();
  const { service, key } = own;
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
    const toReplay = MISSED;
    console.log(
      `stored ${MISSED.toLocaleString('en')} readings for ${DEVICES.length} devices in ${((Date.now() - ingestStart) / 1000).toFixed(1)} s; peak RSS ${service.peakRssMiB().toFixed(0)} MiB`,
    );

    const second = client();
    const start = Date.now();
    let firstAt = 0;
    const replayed = await receive(second, cursor, toReplay, () => (firstAt = Date.now()));
    const seconds = (Date.now() - start) / 1000;
    await second.dispose();
    const last = new Map<number, number>();
    const inOrder = replayed.every((event) => {
      const ok = event.offset > (last.get(event.partition) ?? -1);
      last.set(event.partition, event.offset);
      return ok;
    });
    console.log(
      `resumed ${toReplay.toLocaleString('en')} missed readings in ${seconds.toFixed(2)} s (${Math.round(toReplay / seconds).toLocaleString('en')} events/s; ` +
        `first event after ${firstAt - start} ms); in order: ${inOrder}; service peak RSS ${service.peakRssMiB().toFixed(0)} MiB`,
    );
  } finally {
    await own.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
