import { randomUUID } from 'node:crypto';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { isTelemetryError, type ErrorCode } from '../domain/errors';

export interface ErrorLogger {
  error(fields: object, message: string): void;
}

/** Codes graphql-js and Apollo produce for bad requests; they are safe to pass through. */
const CLIENT_CODES = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT', 'BAD_REQUEST', 'PERSISTED_QUERY_NOT_FOUND', 'PERSISTED_QUERY_NOT_SUPPORTED', 'OPERATION_RESOLUTION_FAILURE', 'UNAUTHENTICATED', 'RATE_LIMITED']);

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
 * graphql-js request errors pass through; anything else is masked and logged with a
 * correlation id the client also receives. Never a stack trace.
 */
export function createErrorFormatter(logger: ErrorLogger, options: { readonly hideSchemaHints?: boolean } = {}) {
  // With introspection off, "Did you mean ...?" suggestions would still reveal field names.
  const hint = (message: string) => (options.hideSchemaHints ? message.replace(/ Did you mean .*\?$/, '') : message);
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrap(error);
    if (isTelemetryError(original)) {
      return {
        message: original.message,
        ...(formatted.locations ? { locations: formatted.locations } : {}),
        ...(formatted.path ? { path: formatted.path } : {}),
        extensions: { code: original.code, retryable: original.retryable, ...(original.details ?? {}) },
      };
    }
    const code = formatted.extensions?.['code'];
    if (typeof code === 'string' && CLIENT_CODES.has(code)) {
      // `http` is Apollo's status hint; over WebSocket nothing strips it, so drop it here.
      const { stacktrace: _stack, http: _http, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, message: hint(formatted.message), extensions };
    }
    // graphql-js coercion errors (bad variables, bad literals) carry no code.
    if (original instanceof GraphQLError && code === undefined) {
      return { message: hint(formatted.message), ...(formatted.locations ? { locations: formatted.locations } : {}), extensions: { code: 'BAD_USER_INPUT' } };
    }
    const correlationId = randomUUID();
    logger.error({ err: original, correlationId, path: formatted.path }, 'internal error');
    return {
      message: `Internal server error (correlation id ${correlationId})`,
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { code: 'INTERNAL_SERVER_ERROR', correlationId },
    };
  };
}

/** The error a resolver, scalar or iterator threw, under graphql-js's wrapping. */
function unwrap(error: unknown): unknown {
  let current = error;
  while (current instanceof GraphQLError && current.originalError !== undefined) current = current.originalError;
  return current;
}

/** Formats bare GraphQLErrors (e.g. from the WebSocket transport) through the same rules. */
export function formatGraphQLErrors(errors: readonly GraphQLError[], format: ReturnType<typeof createErrorFormatter>): GraphQLFormattedError[] {
  return errors.map((error) => format(error.toJSON(), error));
}
