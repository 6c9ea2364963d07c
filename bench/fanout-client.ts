/**
 * The fan-out benchmark's load client, in its own process (bench/fanout.ts starts it), so
 * that opening and reading thousands of sockets never shares an event loop with the driver
 * or the service. It speaks graphql-transport-ws over `ws` directly: a full graphql-ws
 * client per socket would cost this process more than the measurement needs.
 *
 * Input: one JSON argument (FanoutClientOptions). Output: one JSON line (FanoutClientResult)
 * on stdout. Latency is measured as the peer's bench does: from just before the mutation is
 * sent to the subscriber's `next` message, on this process's clock. The reading's value is
 * its sequence number, so every delivery names the send it answers.
 */
import WebSocket from 'ws';

export interface FanoutClientOptions {
  readonly httpUrl: string;
  readonly wsUrl: string;
  readonly key: string;
  /** WebSocket connections, one subscription each, on devices[i % devices.length]. */
  readonly subscribers: number;
  readonly devices: readonly string[];
  /** Mutations per second in all, spread over the devices in turn (open loop). */
  readonly ratePerSecond: number;
  readonly seconds: number;
  /**
   * Subscribe `after` a cursor read first (`readingCursor`), as the console's device view and
   * every client resuming after a drop do, instead of live only.
   */
  readonly resume?: boolean;
}

export interface FanoutClientResult {
  readonly sent: number;
  readonly expected: number;
  readonly delivered: number;
  readonly deliveriesPerSecond: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly mutationMs: { readonly p50: number; readonly p99: number };
  readonly failedMutations: number;
  readonly subscriptionErrors: number;
  readonly socketsClosed: number;
  /** Subscribes sent again after the service answered UNAVAILABLE (a resume waiting for a database reader). */
  readonly resubscribed: number;
  /** The service's /healthz cohorts when the measurement started (absent when it has none). */
  readonly cohortsAtStart: { cohorts: number; members: number; catchingUp: number } | undefined;
  /** The same at its end, every subscriber still connected. */
  readonly cohorts: FanoutClientResult['cohortsAtStart'];
  readonly connectSeconds: number;
  readonly clientCpuPercent: number;
}

const SUBSCRIPTION = 'subscription($d: ID!, $after: String) { readingAdded(deviceId: $d, after: $after) { deviceId metrics { value } } }';
const INGEST = 'mutation($r: ReadingInput!) { ingestReading(reading: $r) { acceptedCount } }';

/** Readings are an hour old, one millisecond apart: unique per device, never in the future. */
const TIMESTAMP_BASE = Date.now() - 3_600_000;

const percentile = (sorted: readonly number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function run(options: FanoutClientOptions): Promise<FanoutClientResult> {
  const after = options.resume ? await readingCursor(options) : null;
  const subscribersOf = new Map<string, number>();
  const sentAt = new Map<number, number>();
  const warmed = new Set<number>();
  const latencies: number[] = [];
  let measuring = false;
  let delivered = 0;
  let subscriptionErrors = 0;
  let socketsClosed = 0;
  let resubscribed = 0;
  let closing = false;

  const open = (index: number) =>
    new Promise<void>((resolve, reject) => {
      const device = options.devices[index % options.devices.length]!;
      subscribersOf.set(device, (subscribersOf.get(device) ?? 0) + 1);
      const socket = new WebSocket(options.wsUrl, 'graphql-transport-ws');
      let retries = 0;
      const subscribe = () => {
        resubscribed += retries > 0 ? 1 : 0;
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: SUBSCRIPTION, variables: { d: device, after } } }));
      };
      socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${options.key}` } })));
      socket.on('message', (data: Buffer) => {
        const message = JSON.parse(data.toString('utf8')) as {
          type: string;
          payload?: { data?: { readingAdded?: { metrics: { value: number }[] } } } & { extensions?: { code?: string } }[];
        };
        if (message.type === 'connection_ack') {
          subscribe();
          resolve();
        } else if (message.type === 'next') {
          const value = message.payload?.data?.readingAdded?.metrics[0]?.value;
          if (value === undefined) {
            subscriptionErrors++;
            return;
          }
          if (!measuring) {
            warmed.add(index);
            return;
          }
          const at = sentAt.get(value);
          if (at === undefined) return; // a warm-up reading arriving late
          latencies.push(performance.now() - at);
          delivered++;
        } else if (message.type === 'error') {
          // The database busy with other resumes: subscribe again later, as the console does.
          if (message.payload?.[0]?.extensions?.code !== 'UNAVAILABLE') subscriptionErrors++;
          else setTimeout(subscribe, Math.min(5000, 250 * 2 ** retries++) * (0.5 + Math.random() / 2));
        } else if (message.type === 'ping') socket.send(JSON.stringify({ type: 'pong' }));
      });
      socket.on('close', () => {
        if (!closing) socketsClosed++;
        reject(new Error('socket closed before it was acknowledged'));
      });
      socket.on('error', () => {});
      sockets.push(socket);
    });
  const sockets: WebSocket[] = [];

  const connectStarted = performance.now();
  // A few hundred handshakes at a time: a burst of 10,000 SYNs overflows the listen backlog.
  for (let first = 0; first < options.subscribers; first += 250) {
    await Promise.all(Array.from({ length: Math.min(250, options.subscribers - first) }, (_, i) => open(first + i)));
  }
  const connectSeconds = (performance.now() - connectStarted) / 1000;

  let sequence = 0;
  let failedMutations = 0;
  const mutationLatencies: number[] = [];
  const send = async (device: string, measured: boolean) => {
    const value = ++sequence;
    const started = performance.now();
    if (measured) sentAt.set(value, started);
    try {
      const response = await fetch(options.httpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${options.key}` },
        body: JSON.stringify({
          query: INGEST,
          variables: { r: { deviceId: device, timestamp: TIMESTAMP_BASE + value, metrics: [{ name: 'temperature', value }] } },
        }),
      });
      const body = (await response.json()) as { data?: { ingestReading?: { acceptedCount: number } } };
      if (body.data?.ingestReading?.acceptedCount !== 1) failedMutations++;
    } catch {
      failedMutations++;
    }
    if (measured) mutationLatencies.push(performance.now() - started);
  };

  // Warm-up: every subscription registered (a subscribe is acknowledged only by its first event).
  const warmupDeadline = performance.now() + 120_000;
  while (warmed.size < options.subscribers) {
    if (performance.now() > warmupDeadline) throw new Error(`only ${warmed.size}/${options.subscribers} subscribers received a warm-up event`);
    await Promise.all(options.devices.map((device) => send(device, false)));
    await sleep(200);
  }
  await sleep(500); // let the last warm-up deliveries drain before measuring
  const cohortsAtStart = await cohortStats(options.httpUrl);
  measuring = true;

  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const total = Math.round(options.ratePerSecond * options.seconds);
  const inflight: Promise<void>[] = [];
  let expected = 0;
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / options.ratePerSecond;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const device = options.devices[i % options.devices.length]!;
    expected += subscribersOf.get(device) ?? 0;
    inflight.push(send(device, true));
  }
  await Promise.all(inflight);
  const drainDeadline = performance.now() + 15_000;
  while (delivered < expected && performance.now() < drainDeadline) await sleep(20);
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const cohorts = await cohortStats(options.httpUrl);

  closing = true;
  for (const socket of sockets) socket.terminate();
  latencies.sort((a, b) => a - b);
  mutationLatencies.sort((a, b) => a - b);
  return {
    sent: total,
    expected,
    delivered,
    deliveriesPerSecond: delivered / elapsed,
    latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) ?? Number.NaN },
    mutationMs: { p50: percentile(mutationLatencies, 50), p99: percentile(mutationLatencies, 99) },
    failedMutations,
    subscriptionErrors,
    socketsClosed,
    resubscribed,
    cohortsAtStart,
    cohorts,
    connectSeconds,
    clientCpuPercent: ((cpu.user + cpu.system) / 1e6 / elapsed) * 100,
  };
}

/** How many subscribers share executions, from /healthz (the service's, at the same address). */
async function cohortStats(httpUrl: string): Promise<FanoutClientResult['cohorts']> {
  try {
    const response = await fetch(new URL('/healthz', httpUrl));
    return ((await response.json()) as { cohorts?: FanoutClientResult['cohorts'] }).cohorts;
  } catch {
    return undefined;
  }
}

async function readingCursor(options: FanoutClientOptions): Promise<string> {
  const response = await fetch(options.httpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${options.key}` },
    body: JSON.stringify({ query: '{ readingCursor }' }),
  });
  const body = (await response.json()) as { data?: { readingCursor?: string } };
  if (!body.data?.readingCursor) throw new Error(`readingCursor: ${JSON.stringify(body)}`);
  return body.data.readingCursor;
}

run(JSON.parse(process.argv[2]!) as FanoutClientOptions).then(
  (result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  },
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
