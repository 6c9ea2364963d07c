import { BackendError, TelemetryError, type ErrorCode } from '../../domain/errors';
import type { ReadName } from './read-operations';
import { toStoreError } from './store-error';

/** What the API thread sends a reader thread: one named read at a time. */
export type ToReader =
  | { readonly type: 'read'; readonly id: number; readonly name: ReadName; readonly args: readonly unknown[] }
  | { readonly type: 'close' }
  /** Fault injection (SqliteReaderPool.crashReader): the thread dies as on a native crash. */
  | { readonly type: 'crash' };

/**
 * A failure as it crosses the thread boundary: structured clone keeps an Error's message but
 * not its class, and the store's callers tell a client mistake (TelemetryError) from a
 * backend failure (BackendError, retryable or not) by class.
 */
export type EncodedError =
  | {
      readonly kind: 'telemetry';
      readonly code: ErrorCode;
      readonly message: string;
      readonly retryable: boolean;
      readonly details: Readonly<Record<string, unknown>> | undefined;
    }
  | { readonly kind: 'backend'; readonly message: string; readonly retryable: boolean };

export type FromReader =
  /** `priorityKept`: why the thread's CPU priority could not be lowered as asked. */
  | { readonly type: 'ready'; readonly priorityKept?: string }
  /** The read's result as result-codecs.ts encodes it. */
  | { readonly type: 'result'; readonly id: number; readonly value: unknown }
  | { readonly type: 'failed'; readonly id: number; readonly error: EncodedError };

export function encodeError(error: unknown): EncodedError {
  const typed = toStoreError(error);
  if (typed instanceof TelemetryError)
    return { kind: 'telemetry', code: typed.code, message: typed.message, retryable: typed.retryable, details: typed.details };
  return { kind: 'backend', message: typed.message, retryable: typed instanceof BackendError && typed.retryable };
}

export function decodeError(error: EncodedError): Error {
  if (error.kind === 'telemetry')
    return new TelemetryError(error.code, error.message, { retryable: error.retryable, ...(error.details ? { details: error.details } : {}) });
  return new BackendError(error.message, error.retryable);
}

/**
 * The buffers of the typed arrays a result holds at its top level (a series is two columns of
 * 2.6M doubles): moved to the API thread instead of copied, spare capacity and all (the
 * reader's views of them are dropped once sent).
 */
export function transferablesOf(value: unknown): ArrayBuffer[] {
  if (typeof value !== 'object' || value === null || value instanceof Map || Array.isArray(value)) return [];
  const buffers: ArrayBuffer[] = [];
  for (const field of Object.values(value)) {
    if (ArrayBuffer.isView(field) && isMovable(field.buffer) && !buffers.includes(field.buffer)) buffers.push(field.buffer);
  }
  return buffers;
}

/**
 * A plain ArrayBuffer (a SharedArrayBuffer is shared, not moved), told by its tag rather than
 * `instanceof`, which is false for buffers from another realm (a vm context, as under Jest).
 */
const isMovable = (buffer: ArrayBufferLike): buffer is ArrayBuffer => Object.prototype.toString.call(buffer) === '[object ArrayBuffer]';
