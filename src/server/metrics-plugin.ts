import type { ApolloServerPlugin } from '@apollo/server';
import type { ApiMetrics } from '../metrics/api-metrics';

/**
 * Times each GraphQL operation over HTTP and labels it with its operation type and outcome:
 * OK, or the code of its first error as the client receives it (after formatError, so a
 * masked fault counts as INTERNAL_SERVER_ERROR, not as what it hid).
 */
export function metricsPlugin<TContext extends object>(metrics: Pick<ApiMetrics, 'graphqlOperation'>): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      const started = performance.now();
      return {
        async willSendResponse({ operation, response }) {
          const errors = response.body.kind === 'single' ? response.body.singleResult.errors : response.body.initialResult.errors;
          const code = errors?.[0]?.extensions?.['code'];
          const outcome = errors?.length ? (typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR') : 'OK';
          metrics.graphqlOperation(operation?.operation ?? 'unknown', outcome, (performance.now() - started) / 1000);
        },
      };
    },
  };
}
