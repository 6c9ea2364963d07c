/**
 * POST /ingest benchmark: requests/s and readings/s the service acknowledges over plain HTTP.
 *
 *   npm run bench:http-ingest -- [--clients 4] [--batch 500] [--seconds 10] [--devices 100]
 *                                [--modes batch,plain,single,binary] [--url URL --key KEY]
 *
 * Modes, each for `seconds` with `clients` concurrent loops:
 *  - batch:  `application/cloudevents-batch+json`, `batch` CloudEvents per request;
 *  - plain:  `application/json`, an array of `batch` plain readings per request;
 *  - single: `application/cloudevents+json`, one structured CloudEvent per request;
 *  - binary: one CloudEvent in binary content mode (`ce-*` headers, body = data) per request.
 * Bodies are built before the clock starts, so the figures measure the service, not this
 * client (which shares the machine's cores with it). Without --url it starts its own service
 * on a fresh data directory, as `npm start` would.
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { startOwnService, type OwnService } from './service';

const { values: args } = parseArgs({
  options: {
    clients: { type: 'string', default: '4' },
    batch: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '10' },
    devices: { type: 'string', default: '100' },
    modes: { type: 'string', default: 'batch,plain,single,binary' },
    url: { type: 'string' },
    key: { type: 'string' },
  },
});
const CLIENTS = Number(args.clients);
const BATCH = Number(args.batch);
const SECONDS = Number(args.seconds);
const DEVICES = Array.from({ length: Number(args.devices) }, (_, i) => `bench-${String(i).padStart(4, '0')}`);
const EVENT_TYPE = 'io.telemetry.reading.v1';

/** One request as the client sends it. */
interface Request {
  readonly headers: Record<string, string>;
  readonly body: string;
  /** Readings it carries. */
  readonly readings: number;
}

type Mode = 'batch' | 'plain' | 'single' | 'binary';

/** Each reading one millisecond after the previous: 43 million readings before they reach the present. */
let clock = Date.now() - 12 * 3_600_000;
let sequence = 0;
const nextDevice = () => DEVICES[sequence++ % DEVICES.length]!;
const value = () => 20 + Math.random() * 5;
const cloudEvent = () => {
  const device = nextDevice();
  return {
    specversion: '1.0',
    id: `bench-${sequence}-${clock}`,
    source: `/devices/${device}`,
    type: EVENT_TYPE,
    time: new Date(clock++).toISOString(),
    data: { metrics: { temperature: value() } },
  };
};

function makeRequest(mode: Mode): Request {
  switch (mode) {
    case 'batch':
      return {
        headers: { 'content-type': 'application/cloudevents-batch+json' },
        body: JSON.stringify(Array.from({ length: BATCH }, cloudEvent)),
        readings: BATCH,
      };
    case 'plain': {
      const readings = Array.from({ length: BATCH }, () => ({
        deviceId: nextDevice(),
        timestamp: clock++,
        metrics: [{ name: 'temperature', value: value() }],
      }));
      return { headers: { 'content-type': 'application/json' }, body: JSON.stringify(readings), readings: BATCH };
    }
    case 'single':
      return { headers: { 'content-type': 'application/cloudevents+json' }, body: JSON.stringify(cloudEvent()), readings: 1 };
    case 'binary': {
      const { data, ...attributes } = cloudEvent();
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      for (const [name, attribute] of Object.entries(attributes)) headers[`ce-${name}`] = attribute;
      return { headers, body: JSON.stringify(data), readings: 1 };
    }
  }
}

async function run(url: string, key: string, mode: Mode) {
  const perRequest = mode === 'batch' || mode === 'plain' ? BATCH : 1;
  // Enough for the fastest rates seen here (~60k readings/s in batches, ~4k requests/s), with margin.
  const prepared = Math.ceil(SECONDS * (perRequest > 1 ? Math.max(20, 100_000 / perRequest) : 6_000));
  const requests = Array.from({ length: prepared }, () => makeRequest(mode));
  let sent = 0;
  let accepted = 0;
  let refused = 0;
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (performance.now() < deadline && requests.length > 0) {
        const request = requests.pop()!;
        const response = await fetch(`${url}/ingest`, { method: 'POST', headers: { ...request.headers, authorization: `Bearer ${key}` }, body: request.body });
        const result = (await response.json()) as { acceptedCount?: number };
        sent++;
        if (response.status === 202) accepted += result.acceptedCount ?? 0;
        else refused++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { requestsPerSecond: sent / seconds, readingsPerSecond: accepted / seconds, refused };
}

async function main(): Promise<void> {
  let own: OwnService | undefined;
  let url = args.url?.replace(/\/graphql$/, '');
  let key = args.key ?? process.env['TELEMETRY_ADMIN_KEY'];
  if (!url) {
    own = await startOwnService();
    url = own.service.url.replace(/\/graphql$/, '');
    key = own.key;
  }
  try {
    if (!key) throw new Error('pass --key or set TELEMETRY_ADMIN_KEY when benchmarking a running service');
    for (const id of DEVICES) {
      await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query: 'mutation($id: ID!) { registerDevice(input: { id: $id }) { device { id } } }', variables: { id } }),
      });
    }
    console.log(`POST /ingest benchmark: ${CLIENTS} clients, batches of ${BATCH}, ${SECONDS}s per mode; ${DEVICES.length} devices; ${url}`);
    for (const mode of args.modes.split(',') as Mode[]) {
      const result = await run(url, key, mode);
      console.log(
        `${mode.padEnd(6)} ${Math.round(result.requestsPerSecond).toLocaleString('en').padStart(7)} requests/s, ` +
          `${Math.round(result.readingsPerSecond).toLocaleString('en').padStart(8)} readings/s accepted` +
          (result.refused > 0 ? ` (${result.refused} requests not accepted)` : ''),
      );
    }
  } finally {
    // Also on failure: a service left running would skew every later measurement on the machine.
    await own?.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
