/**
 * Durability benchmark: what one fsync'd write costs on this machine's disk, alone and as an
 * embedded-log produce, back to back and with the node idle between writes.
 *
 *   npm run bench:durability -- [--count 1000] [--gap-ms 10] [--dir DIR]
 *
 * Prints p50/p90/p99 in ms of (1) `fdatasync` after a 4 KiB write, (2) a produce of one
 * 300-byte record to the embedded stream (writer thread, WAL commit with TELEMETRY_STREAM_SYNC
 * full), each back to back and then with `gap-ms` of idleness before every write (a device
 * sending now and then: what a lone `ingestReading` pays). DIR (default: a fresh directory in
 * the system's temporary one) should be on the disk the service's data directory is on.
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { EmbeddedStream } from '../src/stream/embedded/embedded-stream';

const { values: args } = parseArgs({
  options: { count: { type: 'string', default: '1000' }, 'gap-ms': { type: 'string', default: '10' }, dir: { type: 'string' } },
});
const COUNT = Number(args.count);
const GAP_MS = Number(args['gap-ms']);

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function summary(label: string, samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(3);
  return `${label.padEnd(36)} p50 ${at(0.5)}  p90 ${at(0.9)}  p99 ${at(0.99)} ms`;
}

async function timed(gapMs: number, write: (i: number) => Promise<void> | void): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < COUNT; i++) {
    if (gapMs > 0) await pause(gapMs);
    const start = performance.now();
    await write(i);
    samples.push(performance.now() - start);
  }
  return samples;
}

async function main(): Promise<void> {
  const dir = args.dir ?? mkdtempSync(path.join(tmpdir(), 'telemetry-durability-'));
  const file = openSync(path.join(dir, 'fsync.bin'), 'w');
  const page = Buffer.alloc(4096, 1);
  const fsyncOnce = (i: number) => {
    writeSync(file, page, 0, page.length, (i % 64) * page.length);
    fdatasyncSync(file);
  };
  const stream = new EmbeddedStream({ file: path.join(dir, 'stream.db'), partitions: 4, synchronous: 'full' });
  const value = JSON.stringify({ specversion: '1.0', id: 'bench', data: { metrics: [] } }).padEnd(300, ' ');
  const produceOnce = async (i: number): Promise<void> => {
    await stream.produce('readings', [{ key: `default/device-${i % 10}`, value }]);
  };
  try {
    console.log(`${COUNT} writes each, in ${dir}`);
    console.log(summary('fdatasync 4 KiB, back to back', await timed(0, fsyncOnce)));
    console.log(summary(`fdatasync 4 KiB, every ${GAP_MS} ms`, await timed(GAP_MS, fsyncOnce)));
    await produceOnce(0); // starts the writer thread
    console.log(summary('produce, back to back', await timed(0, produceOnce)));
    console.log(summary(`produce, every ${GAP_MS} ms`, await timed(GAP_MS, produceOnce)));
  } finally {
    closeSync(file);
    await stream.close();
    if (!args.dir) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
