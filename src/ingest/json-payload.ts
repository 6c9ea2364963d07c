import { TelemetryError } from '../domain/errors';

/**
 * Parses JSON bytes (an HTTP body, an MQTT payload); invalid UTF-8 and malformed JSON are
 * BAD_USER_INPUT naming `what` was sent, never an internal error.
 */
export function parseJsonBytes(bytes: Uint8Array, what: string): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new TelemetryError('BAD_USER_INPUT', `${what} is not valid UTF-8`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new TelemetryError('BAD_USER_INPUT', `${what} is not valid JSON: ${(error as Error).message}`);
  }
}
