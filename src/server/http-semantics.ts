import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, OperationTypeNode } from 'graphql';
import { UNAVAILABLE_RETRY_AFTER_SECONDS } from './errors';

/**
 * What GraphQL over HTTP means here beyond Apollo's defaults (docs/PROTOCOL.md §5):
 *  - a subscription sent over HTTP is refused with BAD_REQUEST (400): subscriptions are
 *    served over WebSocket on the same path; Apollo would run its resolver as a query;
 *  - a request that failed as a whole (no data) only with errors meaning "retry later"
 *    answers 503 (UNAVAILABLE) or 429 (RATE_LIMITED) with Retry-After, as POST /ingest
 *    does, whatever the Accept header: HTTP clients, retry links and proxies back off on
 *    the status, not on the body.
 */
export function httpSemanticsPlugin<TContext extends object>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation }) {
          if (operation?.operation === OperationTypeNode.SUBSCRIPTION) {
            throw new GraphQLError('subscriptions are served over WebSocket (graphql-transport-ws) on /graphql, not over HTTP', {
              extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
            });
          }
        },
        async willSendResponse({ response }) {
          if (response.body.kind !== 'single') return;
          const { data, errors } = response.body.singleResult;
          if (data !== undefined && data !== null) return;
          const retry = retryLater(errors ?? []);
          if (!retry) return;
          response.http.status = retry.status;
          response.http.headers.set('retry-after', String(retry.afterSeconds));
        },
      };
    },
  };
}

/** 503 if any error is UNAVAILABLE and all are UNAVAILABLE or RATE_LIMITED, 429 if all are RATE_LIMITED; else undefined. */
function retryLater(errors: readonly { extensions?: Record<string, unknown> }[]): { status: number; afterSeconds: number } | undefined {
  if (errors.length === 0) return undefined;
  let status = 429;
  let afterSeconds = 0;
  for (const error of errors) {
    const code = error.extensions?.['code'];
    if (code !== 'UNAVAILABLE' && code !== 'RATE_LIMITED') return undefined;
    if (code === 'UNAVAILABLE') status = 503;
    const hint = error.extensions?.['retryAfterSeconds'];
    afterSeconds = Math.max(afterSeconds, typeof hint === 'number' ? hint : UNAVAILABLE_RETRY_AFTER_SECONDS);
  }
  return { status, afterSeconds };
}
