import { createHash } from 'node:crypto';
import type { Caller } from '../domain/caller';
import { TelemetryError } from '../domain/errors';
import { CSV_HEADER, parseRow, type ExportFormat } from '../domain/export-format';
import type { ReadingInput } from '../domain/reading';
import type { IngestService } from './ingest-service';

/**
 * How old an imported timestamp may be when the admin allows old timestamps: 20 years. Normal
 * ingest refuses readings older than TELEMETRY_MAX_READING_AGE_SECONDS; history loaded with the
 * allowance goes through the same stream and consumer (rollups, detection) as any reading.
 */
export const MAX_IMPORT_AGE_MS = 20 * 366 * 86_400_000;
/** Longest line an import reads, in characters: a row is far shorter. */
export const MAX_IMPORT_LINE = 4096;

/** One line that was not stored, and why (a RejectionCode, or INVALID_LINE when it could not be read). */
export interface ImportLineError {
  /** 1-based line number in the file. */
  readonly line: number;
  readonly code: string;
  readonly message: string;
}

export interface ImportProgress {
  /** Lines read (header and empty lines included). */
  readonly lines: number;
  /** Rows the stream accepted (stored once each, whatever was imported before). */
  readonly accepted: number;
  /** Lines refused: each was reported once through onLineError. */
  readonly rejected: number;
}

export interface ImportOptions {
  readonly format: ExportFormat;
  /** Accept timestamps up to MAX_IMPORT_AGE_MS old (admins only; the caller checks). */
  readonly allowOldTimestamps: boolean;
  /** Rows sent to ingest per call (the service's maximum batch size). */
  readonly batchSize: number;
  readonly onLineError: (error: ImportLineError) => void | Promise<void>;
  /** After each batch the stream accepted. */
  readonly onProgress?: (progress: ImportProgress) => void | Promise<void>;
}

/**
 * The event id of an imported row without one: derived from its content, so importing the same
 * file again (or a file that overlaps one imported before) stores nothing twice: the consumer
 * drops a repeated event id, and a repeated (device, metric, timestamp) besides.
 */
export function importEventId(row: { deviceId: string; metric: string; timestamp: number; value: number }): string {
  const digest = createHash('sha256').update(`${row.deviceId}\n${row.metric}\n${row.timestamp}\n${row.value}`).digest('base64url');
  return `imp-${digest}`;
}

/**
 * Loads history (the export format, export-format.ts) through the normal ingest path: each
 * row is validated and written to the stream as a reading of one metric, `batchSize` rows per
 * call, in file order. Lines that cannot be read or that ingest refuses are reported one by one;
 * the others go on. Memory: one batch, whatever the file.
 */
export async function importHistory(ingest: IngestService, caller: Caller, lines: AsyncIterable<string>, options: ImportOptions): Promise<ImportProgress> {
  let lineNumber = 0;
  let accepted = 0;
  let rejected = 0;
  let batch: ReadingInput[] = [];
  let batchLines: number[] = [];
  const maxAgeMs = options.allowOldTimestamps ? MAX_IMPORT_AGE_MS : undefined;

  const refuse = async (line: number, code: string, message: string) => {
    rejected++;
    await options.onLineError({ line, code, message });
  };
  const flush = async () => {
    if (batch.length === 0) return;
    const outcome = await ingest.ingest(caller, batch, { path: 'import', ...(maxAgeMs === undefined ? {} : { maxAgeMs }) });
    accepted += outcome.accepted.length;
    for (const item of outcome.rejected) {
      // History is old by nature: say how to import it (the ingest message names only the limit).
      const hint =
        item.code === 'TIMESTAMP_TOO_OLD' && !options.allowOldTimestamps
          ? ' (to import history, pass allowOldTimestamps=true; npm run import: --allow-old-timestamps)'
          : '';
      await refuse(batchLines[item.index]!, item.code, item.message + hint);
    }
    batch = [];
    batchLines = [];
    await options.onProgress?.({ lines: lineNumber, accepted, rejected });
  };

  for await (const raw of lines) {
    lineNumber++;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '' || (options.format === 'csv' && line === CSV_HEADER)) continue;
    if (line.length > MAX_IMPORT_LINE) {
      await refuse(lineNumber, 'INVALID_LINE', `line longer than ${MAX_IMPORT_LINE} characters`);
      continue;
    }
    const parsed = parseRow(options.format, line);
    if (!parsed.ok) {
      await refuse(lineNumber, 'INVALID_LINE', parsed.reason);
      continue;
    }
    const { deviceId, metric, timestamp, value } = parsed.row;
    batch.push({ deviceId, timestamp, metrics: [{ name: metric, value }], eventId: parsed.eventId ?? importEventId(parsed.row) });
    batchLines.push(lineNumber);
    if (batch.length >= options.batchSize) await flush();
  }
  await flush();
  return { lines: lineNumber, accepted, rejected };
}

/** Admins only: an import writes any device's history, old timestamps included. */
export function checkImporter(caller: Caller): void {
  if (caller.role !== 'admin') throw new TelemetryError('FORBIDDEN', `a ${caller.role} key may not import; use an admin key`);
}
