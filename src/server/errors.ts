import { requestIdOfError, tagErrors } from './request-id';
import { randomUUID } from 'node:crypto';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { BackendError, isTelemetryError, type ErrorCode, type TelemetryError } from '../domain/errors';
import type { Logger } from '../logger';

/**
 * Codes of request errors: client mistakes found before execution, by Apollo, graphql-js or
 * our transports. They pass through unchanged; docs/PROTOCOL.md §5 gives each one's status.
 */
export type RequestErrorCode =
  /** Not a GraphQL-over-HTTP request: method, content type, body shape, parameters, a batch, a persisted-query hash that does not match its query or an unsupported version, a subscription over HTTP. */
  | 'BAD_REQUEST'
  /** The document does not parse, or has too many tokens or nested brackets. */
  | 'GRAPHQL_PARSE_FAILED'
  /** The document is invalid for the schema, or over a document or cost limit. */
  | 'GRAPHQL_VALIDATION_FAILED'
  /** `operationName` names no operation of the document, or is missing with several. */
  | 'OPERATION_RESOLUTION_FAILURE'
  /** A persisted-query hash the server does not know: send it again with its query. */
  | 'PERSISTED_QUERY_NOT_FOUND'
  /** Persisted queries are turned off (not the case today; Apollo's code, kept for clients). */
  | 'PERSISTED_QUERY_NOT_SUPPORTED';

const CLIENT_CODES: ReadonlySet<string> = new Set<RequestErrorCode | ErrorCode>([
  'BAD_REQUEST',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'BAD_USER_INPUT',
  'UNAUTHENTICATED',
  'RATE_LIMITED',
]);

/** The `Retry-After` hint of UNAVAILABLE, seconds, unless the error names its own (as POST /ingest sends). */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 1;

/** Seconds to wait before retrying, for the errors that mean "retry later"; undefined for the others. */
export function retryAfterSecondsOf(error: TelemetryError): number | undefined {
  if (error.code !== 'UNAVAILABLE' && error.code !== 'RATE_LIMITED') return undefined;
  const hint = error.details?.['retryAfterSeconds'];
  return typeof hint === 'number' ? hint : UNAVAILABLE_RETRY_AFTER_SECONDS;
}

/** HTTP status for each code, for plain HTTP endpoints. */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  BAD_USER_INPUT: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  INTERNAL_SERVER_ERROR: 500,
};

/**
 * The one place errors become client-visible. Typed errors keep their code and message;
 * request errors (client mistakes found before execution) keep theirs, or get BAD_REQUEST
 * (Apollo's refusals of the HTTP request that carry a 4xx status and no code) or
 * BAD_USER_INPUT (graphql-js's variable and value errors, which carry none); anything else
 * is masked and logged with a correlation id the client also receives. Never a stack trace.
 */
export function createErrorFormatter(logger: Logger, options: { readonly hideSchemaHints?: boolean } = {}) {
  // With introspection off, "Did you mean ...?" suggestions would still reveal field names.
  const hint = (message: string) => (options.hideSchemaHints ? message.replace(/ Did you mean .*\?$/, '') : message);
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrap(error);
    if (isTelemetryError(original)) {
      const retryAfterSeconds = original.code === 'UNAVAILABLE' ? { retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS } : {};
      return {
        message: original.message,
        ...(formatted.locations ? { locations: formatted.locations } : {}),
        ...(formatted.path ? { path: formatted.path } : {}),
        extensions: { code: original.code, retryable: original.retryable, ...retryAfterSeconds, ...(original.details ?? {}) },
      };
    }
    // The code the error was raised with: Apollo gives INTERNAL_SERVER_ERROR to every error
    // raised without one before formatError sees it, client mistakes included.
    const raised = codeOf(error) ?? codeOf(original);
    if (raised !== undefined && CLIENT_CODES.has(raised)) {
      // `http` is Apollo's status hint; over WebSocket nothing strips it, so drop it here.
      const { stacktrace: _stack, http: _http, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, message: hint(formatted.message), extensions: { ...extensions, code: raised } };
    }
    const clientCode =
      raised === undefined && original instanceof GraphQLError ? uncodedClientError(error as GraphQLError, original, formatted.path !== undefined) : undefined;
    if (clientCode) {
      return {
        message: hint(formatted.message),
        ...(formatted.locations ? { locations: formatted.locations } : {}),
        ...(formatted.path ? { path: formatted.path } : {}),
        extensions: { code: clientCode },
      };
    }
    // The request's id when the transport tagged the error with it (request-id.ts): the client
    // quotes one id, and it finds every log line of that request.
    const requestId = requestIdOfError(error) ?? requestIdOfError(original);
    const correlationId = requestId ?? randomUUID();
    const ids = requestId === undefined ? { correlationId } : { correlationId, requestId };
    if (original instanceof BackendError && original.retryable) {
      // The database or stream failed in a way that may pass (a reader thread replaced, a busy
      // database, a stream throttling): the client retries later. Logged as an error all the
      // same: some of these (a full disk, an I/O error) do not pass without an operator.
      logger.error({ err: original, ...ids, path: formatted.path }, 'backend unavailable');
      return {
        message: `The service is temporarily unavailable; retry later (correlation id ${correlationId})`,
        ...(formatted.path ? { path: formatted.path } : {}),
        extensions: { code: 'UNAVAILABLE', retryable: true, retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS, correlationId },
      };
    }
    logger.error({ err: original, ...ids, path: formatted.path }, 'internal error');
    return {
      message: `Internal server error (correlation id ${correlationId})`,
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { code: 'INTERNAL_SERVER_ERROR', correlationId },
    };
  };
}

/**
 * The code of a client mistake that graphql-js or Apollo raised without one, or undefined for
 * a server fault. Before execution (no path): Apollo's refusals of the HTTP request carry a
 * 4xx status (a persisted-query hash that does not match, an unsupported version), the rest
 * are graphql-js's variable errors (the 51st bad value of a request is its "too many errors").
 * During execution (a path), graphql-js raises two kinds: a client's argument value that
 * does not coerce ('Argument "first" of non-null type "Int!" must not be null.'), and our
 * own faults ('Expected Iterable, ...'), which stay internal.
 */
function uncodedClientError(error: GraphQLError, original: GraphQLError, duringExecution: boolean): 'BAD_REQUEST' | 'BAD_USER_INPUT' | undefined {
  if (duringExecution) return original.message.startsWith('Argument "') ? 'BAD_USER_INPUT' : undefined;
  const status = (error.extensions['http'] as { status?: number } | undefined)?.status;
  return status !== undefined && status >= 400 && status < 500 ? 'BAD_REQUEST' : 'BAD_USER_INPUT';
}

const codeOf = (error: unknown): string | undefined => {
  const code = error instanceof GraphQLError ? error.extensions['code'] : undefined;
  return typeof code === 'string' ? code : undefined;
};

/** The error a resolver, scalar or iterator threw, under graphql-js's wrapping. */
function unwrap(error: unknown): unknown {
  let current = error;
  while (current instanceof GraphQLError && current.originalError !== undefined) current = current.originalError;
  return current;
}

/** Formats bare GraphQLErrors (e.g. from the WebSocket transport) through the same rules; `requestId` correlates masked ones. */
export function formatGraphQLErrors(
  errors: readonly GraphQLError[],
  format: ReturnType<typeof createErrorFormatter>,
  requestId?: string,
): GraphQLFormattedError[] {
  if (requestId !== undefined) tagErrors(errors, requestId);
  return errors.map((error) => format(error.toJSON(), error));
}
