/**
 * Cold start of the consumer function: time from the process's start to its first batch
 * applied (committed and published), as the function itself logs it (`coldStartMs`), and the
 * time until the FDK's socket is up. Each run starts the packaged entry point
 * (dist/src/functions/consumer-function.js) on a fresh data directory with the embedded
 * backends and invokes it once through the FDK's http-stream contract, as the platform would.
 *
 *   npm run build && node dist/bench/function-cold-start.js [--runs 5] [--readings 100]
 *
 * Noisy: a process start is dominated by loading modules from disk; run on a quiet machine and
 * compare medians, not single runs. OCI's own cold start (pulling the image, starting the
 * container) and the OCI and Oracle backends' connections are not in this figure.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { toEnvelope } from '../src/domain/cloud-event';
import { SqliteStore } from '../src/store/sqlite/sqlite-store';
import { EmbeddedStream } from '../src/stream/embedded/embedded-stream';
import { asConnectorBatch, startFunctionProcess } from '../test/support/fdk-client';
import { newDataDir } from '../test/support/server';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '5' }, readings: { type: 'string', default: '100' } } });
const PARTITIONS = 2;

async function prepare(dir: string, readings: number): Promise<string> {
  const store = new SqliteStore({ file: path.join(dir, 'telemetry.db') });
  const stream = new EmbeddedStream({ file: path.join(dir, 'stream.db'), partitions: PARTITIONS, synchronous: 'normal' });
  try {
    await store.ensureTenant('t', 'T');
    await store.registerDevice('t', { id: 'd1', name: 'd1', tags: [] });
    // Recent readings: the first call's jobs (retention among them) find nothing to remove, as in a typical start.
    const since = Date.now() - 60_000;
    const records = Array.from({ length: readings }, (_, i) => ({
      key: 't/d1',
      value: JSON.stringify(
        toEnvelope({ tenantId: 't', deviceId: 'd1', eventId: `e${i}`, timestamp: since + i, metrics: [{ name: 'v', value: i }] }, 'io.telemetry'),
      ),
    }));
    const [first] = await stream.produce('readings', records);
    return JSON.stringify(asConnectorBatch(await stream.read('readings', first!.partition, 0, readings)));
  } finally {
    await stream.close();
    await store.close();
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const coldStarts: number[] = [];
  const socketsUp: number[] = [];
  for (let run = 0; run < Number(args.runs); run++) {
    const dir = newDataDir();
    try {
      const batch = await prepare(dir, Number(args.readings));
      const spawned = performance.now();
      const fn = await startFunctionProcess(dir, { TELEMETRY_DATA_DIR: dir, TELEMETRY_PARTITIONS: String(PARTITIONS), LOG_LEVEL: 'info' });
      socketsUp.push(performance.now() - spawned);
      const answer = await fn.call(batch);
      await fn.stop();
      if (answer.status !== 200) throw new Error(`the invocation failed: ${answer.status} ${answer.body}`);
      const logged = /"coldStartMs":(\d+)/.exec(fn.output());
      if (!logged) throw new Error(`no cold-start line in the function's output:\n${fn.output()}`);
      coldStarts.push(Number(logged[1]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log(`runs: ${coldStarts.length}, batch: ${args.readings} readings`);
  console.log(`socket up after spawn (socket polled every few ms): median ${Math.round(median(socketsUp))} ms  [${socketsUp.map(Math.round).join(', ')}]`);
  console.log(`first batch applied, from process start: median ${median(coldStarts)} ms  [${coldStarts.join(', ')}]`);
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
