import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Caller } from '../domain/caller';
import { TelemetryError } from '../domain/errors';
import { parseJsonBody, readBody } from './body';
import { BATCH_MEDIA_TYPE, STRUCTURED_MEDIA_TYPE, contentMode, parseContentType } from '../ingest/http-binding';
import { parseBinaryEvent, parseJsonItems, type ParsedItem } from '../ingest/http-envelope';
import type { IngestService } from '../ingest/ingest-service';
import { ingestParsedItems } from '../ingest/ingest-items';

export interface HttpIngestOptions {
  /** Validates and stores the readings; its `eventType` is the only CloudEvents type accepted. */
  readonly ingest: IngestService;
  readonly maxBodyBytes: number;
  /** Rate limit: the error to refuse the call with, or undefined to admit it. */
  readonly admit: (caller: Caller) => TelemetryError | undefined;
}

/**
 * POST /ingest for devices without a GraphQL client, speaking the CloudEvents 1.0 HTTP
 * binding: structured mode (one event), batch mode (an array of events), binary mode (`ce-*`
 * headers, body = data), and this API's plain JSON (one item or an array, CloudEvents or plain
 * readings). Answers 202 with the accepted and rejected items when at least one was accepted,
 * 422 when every item was rejected.
 */
export function createHttpIngestHandler(options: HttpIngestOptions) {
  return async (request: IncomingMessage, response: ServerResponse, caller: Caller): Promise<void> => {
    const refused = options.admit(caller);
    if (refused) throw refused;
    const contentType = parseContentType(request.headers['content-type']);
    const mode = contentMode(contentType, request.headers);
    const acceptedType = options.ingest.eventType;
    const raw = await readBody(request, options.maxBodyBytes);

    let parsed: ParsedItem[];
    if (mode === 'binary') {
      parsed = [parseBinaryEvent(request.headers, contentType, acceptedType, () => parseJsonBody(raw))];
    } else {
      const body = parseJsonBody(raw);
      if (mode === 'batch' && !Array.isArray(body)) throw new TelemetryError('BAD_USER_INPUT', `${BATCH_MEDIA_TYPE} must be a JSON array of events`);
      if (mode === 'structured' && Array.isArray(body)) {
        throw new TelemetryError('BAD_USER_INPUT', `${STRUCTURED_MEDIA_TYPE} carries one event; send an array as ${BATCH_MEDIA_TYPE}`);
      }
      parsed = parseJsonItems(body, acceptedType, mode !== 'plain');
    }

    const { accepted, rejected } = await ingestParsedItems(options.ingest, caller, parsed, 'http', { traceHeaders: request.headers });
    const status = accepted.length > 0 ? 202 : 422;
    response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    response.end(JSON.stringify({ acceptedCount: accepted.length, rejectedCount: rejected.length, accepted, rejected }));
  };
}
