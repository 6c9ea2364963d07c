import { rmSync } from 'node:fs';
import path from 'node:path';
import { toEnvelope } from '../../src/domain/cloud-event';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store';
import { EmbeddedStream } from '../../src/stream/embedded/embedded-stream';
import type { StreamMessage } from '../../src/stream/stream';
import { asConnectorBatch, startFunctionProcess, type FunctionProcess } from '../support/fdk-client';
import { newDataDir } from '../support/server';

/**
 * The packaged entry point (what the function image runs) driven through the Fn FDK's own
 * contract, offline: the FDK serves HTTP on the unix socket FN_LISTENER names, and the platform
 * (here, this test) sends each invocation as POST /call with the Fn-* headers.
 */
const PARTITIONS = 2;

describe('the packaged consumer function, through the FDK http-stream contract', () => {
  let dir: string;
  let fn: FunctionProcess | undefined;

  beforeEach(() => {
    dir = newDataDir();
  });
  afterEach(async () => {
    await fn?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies a delivered batch once, answers what it and the jobs did, runs the jobs alone on an empty body, and fails the call on a body that is not a batch', async () => {
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
          // An hour ago: inside every retention, which each invocation's jobs enforce.
          toEnvelope(
            { tenantId: 't', deviceId: 'd1', eventId: `e${i}`, timestamp: Date.now() - 3_600_000 + i, metrics: [{ name: 'v', value: i }] },
            'io.telemetry',
          ),
        ),
      })),
    );
    const partition = produced[0]!.partition;
    const messages: StreamMessage[] = await stream.read('readings', partition, 0, 100);
    await stream.close();
    await store.close();
    const batch = JSON.stringify(asConnectorBatch(messages));

    fn = await startFunctionProcess(dir, { TELEMETRY_DATA_DIR: dir, TELEMETRY_PARTITIONS: String(PARTITIONS), LOG_LEVEL: 'info' });

    const first = await fn.call(batch);
    expect(first.status).toBe(200);
    // The first call also runs every background job (none has run in this process yet).
    expect(JSON.parse(first.body)).toMatchObject({
      applied: 5,
      alreadyApplied: 0,
      watermarks: { [partition]: 4 },
      jobs: { liveness: 'ran', 'command-expiry': 'ran', webhooks: 'ran', retention: 'ran', 'stream-trim': 'ran' },
    });
    // The connector delivers the same batch again: nothing is applied twice.
    expect(JSON.parse((await fn.call(batch)).body)).toMatchObject({ applied: 0, alreadyApplied: 5 });
    // A body the function cannot place fails the call (the FDK answers 502), naming the problem.
    const refused = await fn.call(JSON.stringify({ records: [] }));
    expect(refused.status).toBe(502);
    expect(refused.body).toContain('not a Connector Hub batch');
    // A scheduled trigger's call with an empty body: the due jobs alone, no batch.
    const jobsOnly = await fn.call('');
    expect(jobsOnly.status).toBe(200);
    expect(JSON.parse(jobsOnly.body)).toMatchObject({ jobs: { retention: 'not-due' } });
    expect(JSON.parse(jobsOnly.body)).not.toHaveProperty('applied');

    store = new SqliteStore({ file: path.join(dir, 'telemetry.db') });
    try {
      const stored = await store.queryReadings('t', { deviceId: 'd1', metric: 'v', first: 100, order: 'OLDEST_FIRST' });
      expect(stored.items.map((point) => point.value)).toEqual([0, 1, 2, 3, 4]);
    } finally {
      await store.close();
    }
  });
});
