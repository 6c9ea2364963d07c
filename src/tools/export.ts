import { createWriteStream, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream } from 'node:stream/web';
import { parseArgs } from 'node:util';
import { fetchService } from './reach';

const HELP = `npm run export -- --devices <id,id> [--metric <m,m>] [--from <time>] [--to <time>] [--format csv|ndjson] [--after <deviceId,metric,timestamp>] [--out <file>]

Streams GET /export of a running service to a file (or standard output): the stored readings of
the devices, ordered by device, metric and timestamp. A cut export resumes with --after set to
the last whole row written (its first three fields).
  --url   the service's base URL (default http://127.0.0.1:$PORT, PORT 4000)
  --key   a reader or admin key (default $TELEMETRY_KEY, then $TELEMETRY_ADMIN_KEY)`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      devices: { type: 'string' },
      metric: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      format: { type: 'string', default: 'csv' },
      after: { type: 'string' },
      out: { type: 'string' },
      url: { type: 'string', default: `http://127.0.0.1:${process.env['PORT'] ?? '4000'}` },
      key: { type: 'string', default: process.env['TELEMETRY_KEY'] ?? process.env['TELEMETRY_ADMIN_KEY'] },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  if (!values.devices) throw new Error(`--devices is required\n\n${HELP}`);
  if (!values.key) throw new Error('no API key: pass --key or export TELEMETRY_KEY');
  const query = new URLSearchParams({ devices: values.devices, format: values.format });
  for (const name of ['metric', 'from', 'to', 'after'] as const) if (values[name] !== undefined) query.set(name, values[name]);
  const response = await fetchService(`${values.url.replace(/\/$/, '')}/export?${query.toString()}`, { headers: { authorization: `Bearer ${values.key}` } });
  if (!response.ok || !response.body) throw new Error(`GET /export answered HTTP ${response.status}: ${await response.text()}`);
  const out = values.out ? createWriteStream(values.out) : process.stdout;
  // Streamed to the file as it arrives: memory stays a chunk, whatever the range.
  await pipeline(Readable.fromWeb(response.body as ReadableStream<Uint8Array>), out);
  // Said on stderr: with no --out, stdout is the export itself.
  if (values.out) process.stderr.write(`exported to ${values.out} (${statSync(values.out).size.toLocaleString('en')} bytes)\n`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
