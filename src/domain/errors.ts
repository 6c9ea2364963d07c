/**
 * The closed vocabulary of error codes. Every error that can reach a client carries one of
 * these; `retryable` says whether the same call may succeed later unchanged.
 */
export type ErrorCode =
  /** The request or one of its items is malformed or breaks a validation rule. */
  | 'BAD_USER_INPUT'
  /** No credentials, or credentials that match no key. */
  | 'UNAUTHENTICATED'
  /** Valid credentials whose role may not do this. */
  | 'FORBIDDEN'
  /** The id names nothing in the caller's tenant. */
  | 'NOT_FOUND'
  /** The thing to create exists already. */
  | 'ALREADY_EXISTS'
  /** The request body or a batch is over its configured limit. */
  | 'PAYLOAD_TOO_LARGE'
  /** The key sent more requests than its rate allows; retry after `retryAfterSeconds`. */
  | 'RATE_LIMITED'
  /** A dependency (stream, database) is down or saturated; retry with backoff. */
  | 'UNAVAILABLE'
  /** A bug or an unexpected failure; details are logged, never sent. */
  | 'INTERNAL_SERVER_ERROR';

export interface TelemetryErrorOptions {
  readonly retryable?: boolean;
  readonly cause?: unknown;
  /** Extra machine-readable facts (e.g. the limit that was exceeded). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** The one error type the core throws; adapters map it to HTTP statuses and GraphQL codes. */
export class TelemetryError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options: TelemetryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TelemetryError';
    this.code = code;
    this.retryable = options.retryable ?? (code === 'UNAVAILABLE' || code === 'RATE_LIMITED');
    this.details = options.details;
  }
}

export const isTelemetryError = (error: unknown): error is TelemetryError => error instanceof TelemetryError;

/** Thrown by Store and Stream backends; `retryable` tells the consumer whether to back off and retry. */
export class BackendError extends Error {
  readonly retryable: boolean;
  constructor(message: string, retryable: boolean, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'BackendError';
    this.retryable = retryable;
  }
}

/** The error for a request over its key's rate; `retryAfterSeconds` is also sent as Retry-After. */
export function rateLimited(retryAfterMs: number): TelemetryError {
  const retryAfterSeconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new TelemetryError('RATE_LIMITED', `too many requests for this API key; retry in ${retryAfterSeconds} s`, { details: { retryAfterSeconds } });
}
