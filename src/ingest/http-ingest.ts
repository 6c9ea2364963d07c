import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Caller } from '../domain/caller';
import { TelemetryError } from '../domain/errors';
import type { ReadingInput } from '../domain/reading';
import { mediaType, parseJsonBody, readBody } from '../server/body';
import { parseIngestItem } from './http-envelope';
import type { IngestService, RejectedReading } from './ingest-service';

const ACCEPTED_TYPES = new Set(['application/json', 'application/cloudevents+json', 'application/cloudevents-batch+json']);

export interface HttpIngestOptions {
  readonly ingest: IngestService;
  readonly maxBodyBytes: number;
  /** Rate limit: the error to refuse the call with, or undefined to admit it. */
  readonly admit: (caller: Caller) => TelemetryError | undefined;
}

/**
 * POST /ingest for devices without a GraphQL client. Body: one item or a JSON array of items
 * (CloudEvents structured or batch mode, or plain readings). Answers 202 with the accepted and
 * rejected items when at least one was accepted, 422 when every item was rejected.
 */
export function createHttpIngestHandler(options: HttpIngestOptions) {
  return async (request: IncomingMessage, response: ServerResponse, caller: Caller): Promise<void> => {
    const refused = options.admit(caller);
    if (refused) throw refused;
    const type = mediaType(request);
    if (!ACCEPTED_TYPES.has(type)) {
      throw new TelemetryError('BAD_USER_INPUT', `Content-Type must be one of ${[...ACCEPTED_TYPES].join(', ')}`, { details: { status: 415 } });
    }
    const body = parseJsonBody(await readBody(request, options.maxBodyBytes));
    if (type === 'application/cloudevents-batch+json' && !Array.isArray(body)) {
      throw new TelemetryError('BAD_USER_INPUT', 'a CloudEvents batch must be a JSON array');
    }
    const items = Array.isArray(body) ? body : [body];
    if (items.length === 0) throw new TelemetryError('BAD_USER_INPUT', 'the batch is empty');

    // Items that cannot even be read keep their index; the rest go through the shared rules.
    const unreadable: RejectedReading[] = [];
    const inputs: ReadingInput[] = [];
    const originalIndex: number[] = [];
    items.forEach((item, index) => {
      const parsed = parseIngestItem(item);
      if (parsed.ok) {
        originalIndex.push(index);
        inputs.push(parsed.input);
      } else {
        unreadable.push({ index, code: parsed.code, message: parsed.message });
      }
    });
    const outcome = await options.ingest.ingest(caller, inputs, items.length);
    const accepted = outcome.accepted.map((item) => ({ ...item, index: originalIndex[item.index]! }));
    const rejected = [...unreadable, ...outcome.rejected.map((item) => ({ ...item, index: originalIndex[item.index]! }))].sort((a, b) => a.index - b.index);
    const status = accepted.length > 0 ? 202 : 422;
    response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    response.end(JSON.stringify({ acceptedCount: accepted.length, rejectedCount: rejected.length, accepted, rejected }));
  };
}
