import type { IncomingMessage } from 'node:http';
import { TelemetryError } from '../domain/errors';
import { parseJsonBytes } from '../ingest/json-payload';

/** Reads a request body, failing fast with PAYLOAD_TOO_LARGE once it passes `limit` bytes. */
export function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    request.resume();
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.removeAllListeners('data');
        request.resume();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks, size)));
    request.on('error', reject);
  });
}

const tooLarge = (limit: number) => new TelemetryError('PAYLOAD_TOO_LARGE', `request body exceeds ${limit} bytes`, { details: { limit } });

/** Parses a JSON body; rejects invalid UTF-8 and malformed JSON with BAD_USER_INPUT. */
export function parseJsonBody(body: Buffer): unknown {
  return parseJsonBytes(body, 'request body');
}

/** The media type of a request without parameters, lower-cased ('' when absent). */
export function mediaType(request: IncomingMessage): string {
  return (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}
