import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLError } from 'graphql';

/** What a client's or proxy's X-Request-Id may be to be kept: short, and nothing a log line would need to escape. */
const ACCEPTED = /^[A-Za-z0-9._:-]{1,128}$/;
/** The response header that returns the id, and the request header a proxy may set it in. */
export const REQUEST_ID_HEADER = 'x-request-id';

const ofRequest = new WeakMap<IncomingMessage, string>();
const ofError = new WeakMap<object, string>();

/**
 * The id of an HTTP request (or of a WebSocket's upgrade request, for everything on that
 * connection): the X-Request-Id a proxy or client sent when it is sane, else a new UUID. The
 * same value on every call, so each part of the request's handling logs the same id.
 */
export function requestIdOf(request: IncomingMessage): string {
  let id = ofRequest.get(request);
  if (id === undefined) {
    const sent = request.headers[REQUEST_ID_HEADER];
    id = typeof sent === 'string' && ACCEPTED.test(sent) ? sent : randomUUID();
    ofRequest.set(request, id);
  }
  return id;
}

/**
 * Apollo formats errors without the request's context: the errors of a request are tagged
 * with its id first (didEncounterErrors runs before formatError), so that a masked error's
 * correlation id is the request id, the one on the request's log lines and its answer header.
 */
export function tagErrors(errors: readonly GraphQLError[], requestId: string): void {
  for (const error of errors) {
    ofError.set(error, requestId);
    if (error.originalError) ofError.set(error.originalError, requestId);
  }
}

/** The id of the request an error was raised in, when it was tagged. */
export function requestIdOfError(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? ofError.get(error) : undefined;
}

/** Tags each GraphQL-over-HTTP request's errors with its request id (see tagErrors). */
export function requestIdPlugin<TContext extends { readonly requestId?: string }>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart({ contextValue }) {
      const { requestId } = contextValue;
      if (requestId === undefined) return {};
      return {
        async didEncounterErrors({ errors }) {
          tagErrors(errors, requestId);
        },
      };
    },
  };
}
