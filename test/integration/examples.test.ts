import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { print } from 'graphql';
import {
  CommandDocument,
  CreateApiKeyDocument,
  DevicesDocument,
  ReadingsDocument,
  RegisterDeviceDocument,
  RevokeApiKeyDocument,
  SendCommandDocument,
  ViewerDocument,
} from '../generated/graphql';
import { hasCurl } from '../support/curl';
import { pythonWithExampleLibraries } from '../support/python';
import { startTestServer, eventually, type TestServer } from '../support/server';
import { connect } from '../support/ws-client';

/**
 * The clients in examples/ run against a real server: the Node client (register, ingest with
 * the device key, follow readingAdded, drop the connection and resume without a gap, which it
 * checks itself; stop, saying why, when the server closes the connection because the key was
 * revoked), the curl device script, the MQTT device, and the browser page's code and server
 * (type-checked against the generated documents; page, modules and the /graphql pass-through
 * answered; no browser runs it), and the Python client (the same checks as the Node client's)
 * with Debian's python3-aiohttp and python3-websockets, which .ci/run installs.
 */

const ROOT = path.resolve(__dirname, '../../..');
const run = promisify(execFile);

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ TELEMETRY_MQTT_PORT: '0' });
});
afterAll(async () => {
  await server.close();
});

function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', TELEMETRY_URL: server.baseUrl, ...extra };
}

/**
 * Runs a following client (the Node or the Python one) with an admin key of its own, revokes the
 * key once the client has received a reading, and returns how the client ended. The client is
 * told to send far more readings than the deadline allows: one that subscribes again and again
 * with the revoked key instead of stopping is killed at the deadline and fails the test.
 */
async function runUntilKeyRevoked(command: string, script: string, settings: Record<string, string>) {
  const created = (await server.ok(CreateApiKeyDocument, { input: { role: 'ADMIN', label: `${script} revoked` } })).createApiKey;
  const child = spawn(command, [script], { cwd: ROOT, env: env({ TELEMETRY_ADMIN_KEY: created.secret, ...settings }), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let exitCode: number | null | undefined;
  child.once('exit', (code) => (exitCode = code));
  try {
    await eventually(() => (/^\d{4}-\d{2}-\d{2}T\S+Z /m.test(stdout) ? true : undefined), 30_000, `${script} to receive a reading`);
    await server.ok(RevokeApiKeyDocument, { id: created.key.id });
    const stopped = await eventually(() => (exitCode !== undefined ? true : undefined), 20_000).catch(() => false);
    return { code: stopped ? exitCode : 'still running 20 s after its key was revoked', stderr };
  } finally {
    child.kill();
  }
}

describe('examples/node/client.mjs', () => {
  it('registers, ingests with the device key, and resumes after its dropped connection with no gap', async () => {
    const { stdout } = await run(process.execPath, ['examples/node/client.mjs'], {
      cwd: ROOT,
      env: env({ TELEMETRY_ADMIN_KEY: server.adminKey, DEVICE_ID: 'node-example', READINGS: '8', INTERVAL_MS: '100' }),
    });
    expect(stdout).toContain('dropping the connection');
    expect(stdout).toMatch(/^ok: \d+ readings received in order, no gap across the dropped connection$/m);
  });

  it('run again for the same device, it takes a new key and works the same', async () => {
    const { stdout } = await run(process.execPath, ['examples/node/client.mjs'], {
      cwd: ROOT,
      env: env({ TELEMETRY_ADMIN_KEY: server.adminKey, DEVICE_ID: 'node-example', READINGS: '6', INTERVAL_MS: '100' }),
    });
    expect(stdout).toMatch(/^ok: /m);
  });

  it('stops, saying why, when the server closes its connection because its key was revoked', async () => {
    const outcome = await runUntilKeyRevoked(process.execPath, 'examples/node/client.mjs', { DEVICE_ID: 'node-revoked', READINGS: '1000', INTERVAL_MS: '100' });
    // 4403 "API key revoked" on the open connection, or 4403 "unknown or revoked API key, ..." when it was between two.
    expect(outcome).toEqual({
      code: 1,
      stderr: expect.stringMatching(/^connection refused: 4403 (API key revoked|unknown or revoked API key, or an invalid or expired token): check the key/m),
    });
  });
});

(pythonWithExampleLibraries ? describe : describe.skip)('examples/python/client.py (skipped without a python3 that has aiohttp and websockets)', () => {
  it('registers, ingests with the device key, and resumes after its dropped connection with no gap; run again, it takes a new key', async () => {
    for (const readings of ['8', '5']) {
      const { stdout } = await run(pythonWithExampleLibraries!, ['examples/python/client.py'], {
        cwd: ROOT,
        env: env({ TELEMETRY_ADMIN_KEY: server.adminKey, DEVICE_ID: 'python-example', READINGS: readings, INTERVAL: '0.1' }),
      });
      expect(stdout).toContain('dropping the connection');
      expect(stdout).toMatch(/^ok: \d+ readings received in order, no gap across the dropped connection$/m);
    }
  });

  it('stops, saying why, when the server closes its connection because its key was revoked', async () => {
    const outcome = await runUntilKeyRevoked(pythonWithExampleLibraries!, 'examples/python/client.py', {
      DEVICE_ID: 'python-revoked',
      READINGS: '1000',
      INTERVAL: '0.1',
    });
    expect(outcome).toEqual({
      code: 1,
      stderr: expect.stringMatching(/^connection refused: 4403 (API key revoked|unknown or revoked API key, or an invalid or expired token): check the key/m),
    });
  });
});

(hasCurl ? describe : describe.skip)('examples/curl/device.sh (skipped without curl)', () => {
  it('sends each reading with the device key, and the service stores them', async () => {
    const registered = await server.ok(RegisterDeviceDocument, { input: { id: 'curl-example', name: 'curl example' } });
    const { stdout } = await run('bash', ['examples/curl/device.sh'], {
      cwd: ROOT,
      env: env({ DEVICE_KEY: registered.registerDevice.deviceKey, DEVICE_ID: 'curl-example', READINGS: '3', INTERVAL: '0' }),
    });
    const answers = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(answers).toEqual([1, 2, 3].map(() => expect.objectContaining({ acceptedCount: 1, rejectedCount: 0 })));
    await eventually(async () => {
      const stored = await server.ok(ReadingsDocument, { deviceId: 'curl-example', metric: 'temperature', first: 10 });
      return stored.readings.edges.length === 3 ? true : undefined;
    });
  });

  it('fails, printing the answer, when the service refuses the reading', async () => {
    const outcome = await run('bash', ['examples/curl/device.sh'], {
      cwd: ROOT,
      env: env({ DEVICE_KEY: 'tk_not-a-key', DEVICE_ID: 'curl-example', READINGS: '1', INTERVAL: '0' }),
    }).catch((error: unknown) => error as { code: number; stdout: string });
    expect(outcome).toMatchObject({ code: 22, stdout: expect.stringContaining('UNAUTHENTICATED') });
  });
});

describe('examples/mqtt-device/device.mjs', () => {
  it('publishes readings over MQTT with the device key, each acknowledged, and the service stores them', async () => {
    const registered = await server.ok(RegisterDeviceDocument, { input: { id: 'mqtt-example' } });
    const { stdout } = await run(process.execPath, ['examples/mqtt-device/device.mjs'], {
      cwd: ROOT,
      env: env({ MQTT_URL: server.app.mqttUrl!, DEVICE_KEY: registered.registerDevice.deviceKey, DEVICE_ID: 'mqtt-example', READINGS: '3', INTERVAL_MS: '0' }),
    });
    expect(stdout).toMatch(/^ok: 3 readings acknowledged$/m);
    // Acknowledged means durably in the stream; the consumer applies it moments later.
    await eventually(async () => {
      const stored = await server.ok(ReadingsDocument, { deviceId: 'mqtt-example', metric: 'temperature', first: 10 });
      return stored.readings.edges.length === 3 ? true : undefined;
    });
  });

  it('answers the commands sent to it: ping SUCCEEDED, one it does not know FAILED', async () => {
    const registered = await server.ok(RegisterDeviceDocument, { input: { id: 'mqtt-commanded' } });
    const child = spawn(process.execPath, ['examples/mqtt-device/device.mjs'], {
      cwd: ROOT,
      env: env({ MQTT_URL: server.app.mqttUrl!, DEVICE_KEY: registered.registerDevice.deviceKey, DEVICE_ID: 'mqtt-commanded', READINGS: '1', COMMANDS: '2' }),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await eventually(() => (stdout.includes('listening for commands') ? true : undefined), 15_000, 'the device listening for commands');
      const ping = (await server.ok(SendCommandDocument, { deviceId: 'mqtt-commanded', name: 'ping', timeoutSeconds: 60 })).sendCommand;
      const reboot = (await server.ok(SendCommandDocument, { deviceId: 'mqtt-commanded', name: 'reboot', payload: { now: true }, timeoutSeconds: 60 }))
        .sendCommand;
      expect(await exited).toBe(0);
      expect((await server.ok(CommandDocument, { id: ping.id })).command).toMatchObject({ status: 'SUCCEEDED', result: { pong: true } });
      expect((await server.ok(CommandDocument, { id: reboot.id })).command).toMatchObject({ status: 'FAILED', result: 'unknown command reboot' });
    } finally {
      child.kill();
    }
  });

  it('fails, saying why, when the key is not the device key', async () => {
    const outcome = await run(process.execPath, ['examples/mqtt-device/device.mjs'], {
      cwd: ROOT,
      env: env({ MQTT_URL: server.app.mqttUrl!, DEVICE_KEY: 'tk_not-a-key', DEVICE_ID: 'mqtt-example', READINGS: '1' }),
    }).catch((error: unknown) => error as { code: number; stderr: string });
    expect(outcome).toMatchObject({ code: 1, stderr: expect.stringContaining('cannot connect') });
  });
});

describe('examples/browser', () => {
  let page: ChildProcess | undefined;
  afterAll(() => {
    page?.kill();
  });

  it('type-checks against the generated documents, and serve.mjs serves it and passes /graphql through', async () => {
    await run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'examples/browser'], { cwd: ROOT });
    const child = spawn(process.execPath, ['examples/browser/serve.mjs'], { cwd: ROOT, env: env({ PORT: '0' }), stdio: ['ignore', 'pipe', 'inherit'] });
    page = child;
    const origin = await new Promise<string>((resolve, reject) => {
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const url = /http:\/\/127\.0\.0\.1:\d+/.exec(output);
        if (url) resolve(url[0]);
      });
      child.on('exit', (code) => reject(new Error(`serve.mjs exited with ${code}: ${output}`)));
    });

    const index = await fetch(`${origin}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toMatch(/^default-src 'self'; script-src 'self' 'sha256-[^']+'; /);
    for (const module of [
      '/app/examples/browser/app.js',
      '/app/test/generated/graphql.js',
      '/modules/graphql/index.mjs',
      '/modules/graphql-ws/dist/client.js',
    ]) {
      const response = await fetch(`${origin}${module}`);
      expect({ module, status: response.status, type: response.headers.get('content-type') }).toEqual({ module, status: 200, type: 'text/javascript' });
    }
    expect((await fetch(`${origin}/modules/graphql/../../package.json`)).status).toBe(404);

    // HTTP through the pass-through, as the page's fetch does.
    const http = await fetch(`${origin}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.adminKey}` },
      body: JSON.stringify({ query: print(DevicesDocument), variables: { first: 100 } }),
    });
    const answer = (await http.json()) as { data?: { devices: { edges: unknown } } };
    expect(Array.isArray(answer.data?.devices.edges)).toBe(true);

    // WebSocket through the pass-through, as the page's graphql-ws client does.
    const ws = connect(`${origin.replace('http', 'ws')}/graphql`, server.adminKey);
    try {
      const viewer = await new Promise((resolve, reject) => {
        ws.subscribe({ query: print(ViewerDocument) }, { next: resolve, error: reject, complete: () => undefined });
      });
      expect(viewer).toEqual({ data: { viewer: expect.objectContaining({ role: 'ADMIN' }) } });
    } finally {
      await ws.dispose();
    }
  });
});
