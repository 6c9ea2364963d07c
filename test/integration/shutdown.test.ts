import { request } from 'node:http';
import { rmSync } from 'node:fs';
import { newDataDir, randomKey } from '../support/server';
import { isRunning, startServiceProcess, type ServiceProcess } from '../support/service-process';
import { eventually } from '../support/server';

/**
 * SIGTERM (Kubernetes, docker stop, systemd, a terminal closing) and SIGINT (Ctrl-C) both shut
 * the service down gracefully in every role, whether it runs as `node dist/src/main.js` or
 * under `npm start`: an ingest request already received is answered (its readings are
 * durable), the process exits 0, and nothing keeps the port or runs on.
 */

interface InFlight {
  /** Resolves once the server has received the request's headers (it answered 100 Continue). */
  readonly received: Promise<void>;
  /** Sends the body and resolves with the response. */
  finish(): Promise<{ status: number; body: string }>;
}

/**
 * An ingest request held in flight: headers sent with `Expect: 100-continue`, body withheld.
 * The server's "100 Continue" proves it is handling the request, so a signal sent after it
 * lands while the request is in flight, with no timing guesswork.
 */
function inFlightIngest(baseUrl: string, key: string, deviceId: string): InFlight {
  const body = JSON.stringify({
    specversion: '1.0',
    id: `in-flight-${deviceId}`,
    source: `/devices/${deviceId}`,
    type: 'io.telemetry.reading.v1',
    time: new Date().toISOString(),
    data: { metrics: { temperature: 21 } },
  });
  const req = request(`${baseUrl}/ingest`, {
    method: 'POST',
    agent: false,
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': 'application/cloudevents+json',
      'content-length': Buffer.byteLength(body),
      expect: '100-continue',
    },
  });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.once('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.once('error', reject);
  });
  response.catch(() => {}); // observed by finish()
  const received = new Promise<void>((resolve) => req.once('continue', () => resolve()));
  req.flushHeaders();
  return { received, finish: () => (req.end(body), response) };
}

async function registerDevice(url: string, key: string, id: string): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: 'mutation($id: ID!) { registerDevice(input: { id: $id }) { device { id } } }', variables: { id } }),
  });
  expect(await response.json()).toMatchObject({ data: { registerDevice: { device: { id } } } });
}

function exited(service: ServiceProcess): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve) => {
    if (service.child.exitCode !== null || service.child.signalCode !== null) {
      resolve({ code: service.child.exitCode, signal: service.child.signalCode });
      return;
    }
    service.child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

async function portReleased(baseUrl: string): Promise<boolean> {
  try {
    await fetch(`${baseUrl}/healthz`);
    return false;
  } catch (error) {
    return ((error as Error).cause as NodeJS.ErrnoException | undefined)?.code === 'ECONNREFUSED';
  }
}

/** Whatever a failed test left behind is killed (by its own pids) so that later tests are not disturbed. */
function cleanUp(service: ServiceProcess | undefined): void {
  if (!service) return;
  for (const pid of [service.pid, service.child.pid!]) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
}

describe('graceful shutdown', () => {
  let dataDir: string;
  let service: ServiceProcess | undefined;
  const key = randomKey();
  beforeEach(() => {
    dataDir = newDataDir();
    service = undefined;
  });
  afterEach(() => {
    cleanUp(service);
    rmSync(dataDir, { recursive: true, force: true });
  });

  describe.each(['all', 'api'])('role %s, run with node', (role) => {
    it.each(['SIGTERM', 'SIGINT'] as const)('%s: answers the ingest request in flight, exits 0 and frees the port', async (signal) => {
      service = await startServiceProcess({ TELEMETRY_DATA_DIR: dataDir, TELEMETRY_ADMIN_KEY: key }, ['--role', role], { asOperator: true });
      const baseUrl = service.url.replace(/\/graphql$/, '');
      await registerDevice(service.url, key, 'boiler-1');
      const ingest = inFlightIngest(baseUrl, key, 'boiler-1');
      await ingest.received;

      process.kill(service.pid, signal);
      await service.waitFor(/"msg":"shutting down/);
      const answer = await ingest.finish();
      expect(answer).toEqual({ status: 202, body: expect.stringContaining('"acceptedCount":1') });
      expect(await exited(service)).toEqual({ code: 0, signal: null });
      expect(await portReleased(baseUrl)).toBe(true);
    });
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('role consumer, run with node: %s stops it cleanly', async (signal) => {
    service = await startServiceProcess({ TELEMETRY_DATA_DIR: dataDir }, ['--role', 'consumer'], { asOperator: true });
    const baseUrl = service.url.replace(/\/healthz$/, '');
    expect((await fetch(`${baseUrl}/readyz`)).status).toBe(200);
    process.kill(service.pid, signal);
    expect(await exited(service)).toEqual({ code: 0, signal: null });
    expect(service.output()).toMatch(/"msg":"stopped"/);
    expect(await portReleased(baseUrl)).toBe(true);
  });

  describe('under npm start', () => {
    const cases = [
      // A terminal's Ctrl-C, or a supervisor signalling the process group.
      ['SIGTERM to the process group', (s: ServiceProcess) => process.kill(-s.child.pid!, 'SIGTERM')],
      ['SIGINT to the process group', (s: ServiceProcess) => process.kill(-s.child.pid!, 'SIGINT')],
      // A supervisor that knows only the pid it started: npm's.
      ['SIGTERM to npm', (s: ServiceProcess) => process.kill(s.child.pid!, 'SIGTERM')],
    ] as const;
    it.each(cases)('%s: answers the request in flight, and neither node nor npm runs on', async (_name, send) => {
      service = await startServiceProcess({ TELEMETRY_DATA_DIR: dataDir, TELEMETRY_ADMIN_KEY: key }, [], { via: 'npm', asOperator: true });
      expect(service.pid).not.toBe(service.child.pid); // npm runs node as a child
      const baseUrl = service.url.replace(/\/graphql$/, '');
      // The banner a new user reads (under npm start) names the console too.
      await service.waitFor(/Web console: +http:\/\/127\.0\.0\.1:\d+\/ /);
      await registerDevice(service.url, key, 'boiler-1');
      const ingest = inFlightIngest(baseUrl, key, 'boiler-1');
      await ingest.received;

      send(service);
      await service.waitFor(/"msg":"shutting down/);
      expect(await ingest.finish()).toEqual({ status: 202, body: expect.stringContaining('"acceptedCount":1') });
      await service.waitFor(/"msg":"stopped"/);
      await exited(service);
      const node = service.pid;
      await eventually(() => (isRunning(node) ? undefined : true), 15_000, `node (pid ${node}) to exit`);
      expect(await portReleased(baseUrl)).toBe(true);
    });
  });
});
