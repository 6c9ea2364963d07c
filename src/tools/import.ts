import { createReadStream, createWriteStream, rmSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import { parseArgs } from 'node:util';
import { fetchService } from './reach';

const HELP = `npm run import -- <file.csv|file.ndjson> [--format csv|ndjson] [--allow-old-timestamps] [--report <file>]

Loads history (the export format) into a running service through POST /import, with an admin
key. Prints progress; writes each line that was not stored (line number, code, reason) to the
report (default <file>.errors.ndjson). Importing the same file again stores nothing twice.
Exits 0 when every line was stored, 2 when the import ran but some lines were not (the report
says which), 1 when it could not run or stopped early.
  --allow-old-timestamps   accept timestamps up to 20 years old (normal ingest refuses older
                           than TELEMETRY_MAX_READING_AGE_DAYS)
  --url   the service's base URL (default http://127.0.0.1:$PORT, PORT 4000)
  --key   an admin key (default $TELEMETRY_ADMIN_KEY)`;

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      format: { type: 'string' },
      'allow-old-timestamps': { type: 'boolean', default: false },
      report: { type: 'string' },
      url: { type: 'string', default: `http://127.0.0.1:${process.env['PORT'] ?? '4000'}` },
      key: { type: 'string', default: process.env['TELEMETRY_ADMIN_KEY'] },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new Error(`name one file to import\n\n${HELP}`);
  if (!values.key) throw new Error('no API key: pass --key or export TELEMETRY_ADMIN_KEY');
  // Read before anything is sent: a missing file would otherwise fail the request's body, which
  // fetch reports as the service being out of reach.
  if (!statSync(file, { throwIfNoEntry: false })?.isFile()) throw new Error(`no file ${file} to import`);
  const format = values.format ?? (file.endsWith('.csv') ? 'csv' : file.endsWith('.ndjson') || file.endsWith('.jsonl') ? 'ndjson' : undefined);
  if (!format) throw new Error('cannot tell the format from the file name: pass --format csv|ndjson');
  const query = new URLSearchParams({ format, allowOldTimestamps: String(values['allow-old-timestamps']) });
  const response = await fetchService(`${values.url.replace(/\/$/, '')}/import?${query.toString()}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${values.key}`, 'content-type': format === 'csv' ? 'text/csv' : 'application/x-ndjson' },
    body: Readable.toWeb(createReadStream(file)),
    // Node's fetch streams a request body only in half-duplex mode.
    duplex: 'half',
  });
  if (!response.ok || !response.body) throw new Error(`POST /import answered HTTP ${response.status}: ${await response.text()}`);
  const reportPath = values.report ?? `${file}.errors.ndjson`;
  const report = createWriteStream(reportPath);
  let errors = 0;
  let outcome: Record<string, unknown> | undefined;
  for await (const line of createInterface({ input: Readable.fromWeb(response.body as ReadableStream<Uint8Array>), crlfDelay: Infinity })) {
    if (line === '') continue;
    const message = JSON.parse(line) as Record<string, Record<string, unknown>>;
    if (message['error']) {
      errors++;
      report.write(`${JSON.stringify(message['error'])}\n`);
    } else if (message['progress']) {
      const p = message['progress'];
      process.stderr.write(`read ${String(p['lines'])} lines: ${String(p['accepted'])} accepted, ${String(p['rejected'])} refused\n`);
    } else outcome = message;
  }
  await new Promise((resolve) => report.end(resolve));
  console.log(JSON.stringify(outcome));
  if (errors > 0) console.error(`${errors} line(s) not stored: see ${reportPath}`);
  else rmSync(reportPath, { force: true }); // no report of nothing
  // A script must not take a partial import for a whole one.
  if (!outcome?.['done']) process.exitCode = 1;
  else if (errors > 0) process.exitCode = 2;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
