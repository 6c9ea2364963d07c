import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError } from 'graphql';

/**
 * What GraphQL over HTTP means here beyond Apollo's defaults (docs/PROTOCOL.md §5):
 *  - a subscription sent over HTTP is refused with BAD_REQUEST (400): subscriptions are
 *    served over WebSocket on the same path; Apollo would run its resolver as a query.
 */
export function httpSemanticsPlugin<TContext extends object>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation }) {
          if (operation?.operation === 'subscription') {
            throw new GraphQLError('subscriptions are served over WebSocket (graphql-transport-ws) on /graphql, not over HTTP', {
              extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
            });
          }
        },
      };
    },
  };
}

