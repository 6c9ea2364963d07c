import type { Server } from 'node:http';
import { GraphQLError, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { Context } from 'graphql-ws';
import { WebSocketServer } from 'ws';
import type { Caller } from '../domain/caller';
import { bearerToken } from './auth';
import type { createErrorFormatter } from './errors';
import { formatGraphQLErrors } from './errors';
import { serveGraphQLOverWebSocket, type ConnectionExtra as TransportExtra } from './graphql-ws-transport';

export interface WebSocketOptions<TContext> {
  readonly server: Server;
  readonly path: string;
  readonly schema: GraphQLSchema;
  readonly authenticate: (token: string | undefined) => Promise<Caller | undefined>;
  readonly context: (caller: Caller) => TContext;
  readonly formatError: ReturnType<typeof createErrorFormatter>;
  readonly maxSubscriptionsPerConnection: number;
  /** Largest accepted WebSocket message, bytes. */
  readonly maxPayloadBytes: number;
  readonly logger: { error(fields: object, message: string): void };
  /** Document validation (the same rules as HTTP, depth limit included). */
  readonly validate: (schema: GraphQLSchema, document: DocumentNode) => readonly GraphQLError[];
}

interface ConnectionExtra extends TransportExtra {
  caller?: Caller;
}

/**
 * graphql-ws on the HTTP server's port and path. Credentials come in `connectionParams`
 * (`{ authorization: "Bearer <key>" }` or `{ apiKey: "<key>" }`) and are checked in onConnect;
 * a refused connection is closed with 4403 Forbidden.
 */
export function attachWebSocketServer<TContext>(options: WebSocketOptions<TContext>) {
  const wss = new WebSocketServer({ server: options.server, path: options.path, maxPayload: options.maxPayloadBytes });
  const caller = (ctx: Context<Record<string, unknown> | undefined, ConnectionExtra>) => ctx.extra.caller;
  const cleanup = serveGraphQLOverWebSocket<ConnectionExtra>(
    {
      schema: options.schema,
      validate: options.validate,
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        const token =
          typeof params['apiKey'] === 'string' ? params['apiKey'] : bearerToken(typeof params['authorization'] === 'string' ? params['authorization'] : undefined);
        const authenticated = await options.authenticate(token);
        if (!authenticated) return false;
        ctx.extra.caller = authenticated;
        return true;
      },
      onSubscribe: (ctx) => {
        // graphql-ws registers the new operation's id before calling onSubscribe: it is counted.
        if (Object.keys(ctx.subscriptions).length > options.maxSubscriptionsPerConnection) {
          // Thrown errors close the socket; the limit is better reported per operation.
          return [
            new GraphQLError(`at most ${options.maxSubscriptionsPerConnection} subscriptions per connection`, {
              extensions: { code: 'BAD_USER_INPUT', limit: options.maxSubscriptionsPerConnection },
            }),
          ];
        }
        return undefined;
      },
      context: (ctx) => {
        const who = caller(ctx);
        if (!who) throw new Error('connection is not authenticated');
        return options.context(who) as Record<string, unknown>;
      },
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: formatGraphQLErrors(result.errors, options.formatError) } : undefined,
      onError: (_ctx, _id, _payload, errors) => formatGraphQLErrors(errors, options.formatError),
    },
    wss,
    options.logger,
  );
  return {
    wss,
    async close(): Promise<void> {
      for (const client of wss.clients) client.close(1001, 'server shutting down');
      await cleanup.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
