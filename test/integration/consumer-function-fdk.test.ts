import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { toEnvelope } from '../../src/domain/cloud-event';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store';
import { EmbeddedStream } from '../../src/stream/embedded/embedded-stream';
import type { StreamMessage } from '../../src/stream/stream';
import { eventually, newDataDir } from '../support/server';

/**
 * The packaged entry point (what the function image runs) driven through the Fn FDK's own
 * contract, offline: the FDK serves HTTP on the unix socket FN_LISTENER names, and the platform
 * (here, this test) sends each invocation as POST /call with the Fn-* headers.
 */
const ENTRY = path.join(__dirname, '..', '..', 'src', 'functions', 'consumer-function.js');
const PARTITIONS = 2;

function call(socketPath: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath,
        path: '/call',
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'Fn-Call-Id': `call-${Date.now()}`,
          'Fn-Deadline': new Date(Date.now() + 60_000).toISOString(),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('the packaged consumer function, through the FDK http-stream contract', () => {
  let dir: string;
  let child: ChildProcess | undefined;
  let output = '';

  beforeEach(() => {
    dir = newDataDir();
    output = '';
  });
  afterEach(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies a delivered batch once, answers what it did, and fails the call on a body that is not a batch', async () => {
    // The data the connector would read: five readings in the embedded stream, a known device.
    let store = new SqliteStore({ file: path.join(dir, 'telemetry.db') });
    await store.ensureTenant('t', 'T');
    await store.registerDevice('t', { id: 'd1', name: 'd1', tags: [] });
    const stream = new EmbeddedStream({ file: path.join(dir, 'stream.db'), partitions: PARTITIONS, synchronous: 'normal' });
    const produced = await stream.produce(
      'readings',
      Array.from({ length: 5 }, (_, i) => ({
        key: 't/d1',
        value: JSON.stringify(
          toEnvelope({ tenantId: 't', deviceId: 'd1', eventId: `e${i}`, timestamp: 1000 + i, metrics: [{ name: 'v', value: i }] }, 'io.telemetry'),
        ),
      })),
    );
    const partition = produced[0]!.partition;
    const messages: StreamMessage[] = await stream.read('readings', partition, 0, 100);
    await stream.close();
    await store.close();
    const batch = JSON.stringify(
      messages.map((m) => ({
        stream: 'telemetry-readings',
        partition: String(m.partition),
        key: Buffer.from(m.key).toString('base64'),
        value: Buffer.from(m.value).toString('base64'),
        offset: m.offset,
        timestamp: new Date(m.timestamp).toISOString(),
      })),
    );

    const socket = path.join(dir, 'lsnr.sock');
    child = spawn(process.execPath, [ENTRY], {
      env: {
        ...process.env,
        FN_FORMAT: 'http-stream',
        FN_LISTENER: `unix:${socket}`,
        TELEMETRY_DATA_DIR: dir,
        TELEMETRY_PARTITIONS: String(PARTITIONS),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    // The FDK links the socket into place once it listens: then the platform may call.
    await eventually(() => (existsSync(socket) ? true : undefined), 15_000, `the FDK's socket (output: ${output})`);

    const first = await call(socket, batch);
    expect(first.status).toBe(200);
    expect(JSON.parse(first.body)).toMatchObject({ applied: 5, alreadyApplied: 0, watermarks: { [partition]: 4 } });
    // The connector delivers the same batch again: nothing is applied twice.
    expect(JSON.parse((await call(socket, batch)).body)).toMatchObject({ applied: 0, alreadyApplied: 5 });
    // A body the function cannot place fails the call (the FDK answers 502), naming the problem.
    const refused = await call(socket, JSON.stringify({ records: [] }));
    expect(refused.status).toBe(502);
    expect(refused.body).toContain('not a Connector Hub batch');

    store = new SqliteStore({ file: path.join(dir, 'telemetry.db') });
    try {
      const stored = await store.queryReadings('t', { deviceId: 'd1', metric: 'v', first: 100, order: 'OLDEST_FIRST' });
      expect(stored.items.map((point) => point.value)).toEqual([0, 1, 2, 3, 4]);
    } finally {
      await store.close();
    }
  });
});
