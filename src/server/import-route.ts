import type { IncomingMessage, ServerResponse } from 'node:http';
import { createInterface } from 'node:readline';
import type { Caller } from '../domain/caller';
import { isTelemetryError, TelemetryError } from '../domain/errors';
import { EXPORT_FORMATS, type ExportFormat } from '../domain/export-format';
import { checkImporter, importHistory } from '../ingest/history-import';
import type { IngestService } from '../ingest/ingest-service';
import { writeDrained } from './drain';

export interface ImportRouteOptions {
  readonly ingest: IngestService;
  /** Rows per ingest call. */
  readonly batchSize: number;
  /** Rate limit: the error to refuse the call with, or undefined to admit it. */
  readonly admit: (caller: Caller) => TelemetryError | undefined;
}

const badInput = (argument: string, message: string) => new TelemetryError('BAD_USER_INPUT', message, { details: { argument } });

/**
 * POST /import?format=csv|ndjson[&allowOldTimestamps=true]: an admin loads history (the export
 * format) through the normal ingest path, the body read line by line as it arrives. The answer
 * is NDJSON, streamed as the import goes: `{"error":{line,code,message}}` per line not stored,
 * `{"progress":{lines,accepted,rejected}}` after each batch, then `{"done":{…}}`, or
 * `{"failed":{code,message}}` if the stream stopped taking readings (run the import again:
 * what was accepted is not stored twice).
 */
export function createImportHandler(options: ImportRouteOptions) {
  return async (request: IncomingMessage, response: ServerResponse, caller: Caller, search: string): Promise<void> => {
    if (request.method !== 'POST') {
      response.setHeader('allow', 'POST');
      throw new TelemetryError('BAD_USER_INPUT', 'use POST', { details: { status: 405 } });
    }
    checkImporter(caller);
    const refused = options.admit(caller);
    if (refused) throw refused;
    const params = new URLSearchParams(search);
    const format = params.get('format') as ExportFormat | null;
    if (format === null || !EXPORT_FORMATS.includes(format)) throw badInput('format', `format is one of ${EXPORT_FORMATS.join(', ')}`);
    const allowOld = params.get('allowOldTimestamps');
    if (allowOld !== null && allowOld !== 'true' && allowOld !== 'false') throw badInput('allowOldTimestamps', 'allowOldTimestamps is true or false');

    response.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' });
    const send = (line: unknown) => writeDrained(response, `${JSON.stringify(line)}\n`);
    const lines = createInterface({ input: request, crlfDelay: Infinity });
    try {
      const done = await importHistory(options.ingest, caller, lines, {
        format,
        allowOldTimestamps: allowOld === 'true',
        batchSize: options.batchSize,
        onLineError: (error) => send({ error }),
        onProgress: (progress) => send({ progress }),
      });
      await send({ done });
    } catch (error) {
      // Headers are gone: a known failure is the last line; anything else cuts the answer.
      if (!isTelemetryError(error)) throw error;
      await send({ failed: { code: error.code, message: error.message } });
    } finally {
      lines.close();
    }
    response.end();
  };
}
