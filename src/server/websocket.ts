import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { getOperationAST, GraphQLError, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { Context } from 'graphql-ws';
import { WebSocketServer } from 'ws';
import type { Caller } from '../domain/caller';
import type { TelemetryError } from '../domain/errors';
import type { Logger } from '../logger';
import { bearerToken } from './auth';
import type { createErrorFormatter } from './errors';
import { formatGraphQLErrors } from './errors';
import { serveGraphQLOverWebSocket, type ConnectionExtra as TransportExtra } from './graphql-ws-transport';
import { SubscriptionCohorts, type CohortStats } from './subscription-cohorts';
import { SharedNextPayloads } from './shared-next-payload';
import { OperationCensus } from './operation-census';
import { operationOutlet } from './operation-outlet';
import type { NextFrameOutlet } from './outlet-member';
import { requestIdOf } from './request-id';

export interface WebSocketOptions<TContext> {
  readonly schema: GraphQLSchema;
  readonly authenticate: (token: string | undefined) => Promise<Caller | undefined>;
  /** `requestId`: the connection's (its upgrade request's). */
  readonly context: (caller: Caller, requestId: string) => TContext;
  readonly formatError: ReturnType<typeof createErrorFormatter>;
  readonly maxSubscriptionsPerConnection: number;
  /** Largest accepted WebSocket message, bytes. */
  readonly maxPayloadBytes: number;
  /** Open connections one key may hold. */
  readonly maxConnectionsPerKey: number;
  readonly logger: Logger;
  /** Rate limit per key: the error to refuse a new operation with, or undefined. */
  readonly admit: (caller: Caller) => TelemetryError | undefined;
  /** Parsing with the same token and nesting limits as HTTP. */
  readonly parse: (source: string) => DocumentNode;
  /** Document validation: the same document limits as HTTP, then graphql-js's rules. */
  readonly validate: (schema: GraphQLSchema, document: DocumentNode) => readonly GraphQLError[];
  readonly checkCost: (document: DocumentNode, variables: Record<string, unknown> | undefined, operationName: string | undefined) => GraphQLError | undefined;
  /** The SLOW_SUBSCRIBER error that ends a subscriber of this root field that fell `maxQueued` events behind. */
  readonly slowSubscriber: (rootField: string, maxQueued: number) => Error;
  /** Called for each result sent to a client (metrics). */
  readonly onDelivered?: () => void;
}

interface ConnectionExtra extends TransportExtra {
  caller?: Caller;
}

/**
 * Close codes. graphql-ws owns 4400-4409, 4429 and 4500; a refused or revoked key gets its
 * Forbidden (4403) with a reason that says which, a key over its connection limit the standard
 * Policy Violation (1008).
 */
export const CLOSE_KEY_REVOKED = 4403;
export const CLOSE_TOO_MANY_CONNECTIONS = 1008;
/** The 4403 reasons of a connection refused at `connection_init` (at most 123 bytes each). */
export const CLOSE_REASON_NO_KEY = 'no API key: send connectionParams {"authorization": "Bearer <key>"}';
export const CLOSE_REASON_UNKNOWN_KEY = 'unknown or revoked API key, or an invalid or expired token';

/**
 * graphql-ws for the upgrades the HTTP server routes to it (handleUpgrade: upgrade-router.ts). Credentials come in `connectionParams`
 * (`{ authorization: "Bearer <key>" }` or `{ apiKey: "<key>" }`) and are checked in onConnect;
 * a refused connection is closed with 4403 and a reason saying whether the key was missing or
 * unknown, one over the key's connection limit with 1008, and every connection of a key that
 * gets revoked with 4403 "API key revoked".
 */
export function attachWebSocketServer<TContext>(options: WebSocketOptions<TContext>) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes });
  const caller = (ctx: Context<Record<string, unknown> | undefined, ConnectionExtra>) => ctx.extra.caller;
  const socketsByKey = new Map<string, Set<TransportExtra['socket']>>();
  // Who each operation's context was made for: its tenant and role decide which cohort it may join.
  const callerOfContext = new WeakMap<object, Caller>();
  // Where each operation's frames go when a cohort writes them itself (outlet-member.ts).
  const outletOfContext = new WeakMap<object, NextFrameOutlet>();
  const census = new OperationCensus();
  const nextPayloads = new SharedNextPayloads((result) =>
    result.errors ? { ...result, errors: formatGraphQLErrors(result.errors, options.formatError) } : result,
  );
  const cohorts = new SubscriptionCohorts({
    scopeOf: (contextValue) => {
      const who = callerOfContext.get(contextValue as object);
      if (!who) throw new Error('subscription context without a caller');
      return JSON.stringify([who.tenantId, who.role, who.deviceId]);
    },
    slowMember: options.slowSubscriber,
    // Read once, at the operation's subscribe: a cohort keeps its first member's context, which
    // must not keep that member's socket alive after it left.
    outletOf: (contextValue) => {
      const outlet = outletOfContext.get(contextValue as object);
      outletOfContext.delete(contextValue as object);
      return outlet;
    },
  });
  const cleanup = serveGraphQLOverWebSocket<ConnectionExtra>(
    {
      schema: options.schema,
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        const token =
          typeof params['apiKey'] === 'string'
            ? params['apiKey']
            : bearerToken(typeof params['authorization'] === 'string' ? params['authorization'] : undefined);
        const authenticated = await options.authenticate(token);
        if (!authenticated) {
          // graphql-ws would close with a bare "Forbidden": the reason says what to fix. Its own
          // close after `false` finds this one under way and changes nothing.
          ctx.extra.socket.close(CLOSE_KEY_REVOKED, token === undefined ? CLOSE_REASON_NO_KEY : CLOSE_REASON_UNKNOWN_KEY);
          return false;
        }
        const sockets = socketsByKey.get(authenticated.keyId) ?? new Set();
        if (sockets.size >= options.maxConnectionsPerKey) {
          ctx.extra.socket.close(CLOSE_TOO_MANY_CONNECTIONS, `at most ${options.maxConnectionsPerKey} connections per API key`);
          return false;
        }
        sockets.add(ctx.extra.socket);
        socketsByKey.set(authenticated.keyId, sockets);
        // A signed-in user's token expires: so does the connection it opened.
        const expiry =
          authenticated.expiresAt === undefined
            ? undefined
            : setTimeout(
                () => ctx.extra.socket.close(CLOSE_KEY_REVOKED, 'token expired'),
                Math.min(2 ** 31 - 1, Math.max(0, authenticated.expiresAt - Date.now())),
              );
        census.opened(ctx);
        ctx.extra.socket.once('close', () => {
          census.closed(ctx);
          clearTimeout(expiry);
          sockets.delete(ctx.extra.socket);
          if (sockets.size === 0 && socketsByKey.get(authenticated.keyId) === sockets) socketsByKey.delete(authenticated.keyId);
        });
        ctx.extra.caller = authenticated;
        return true;
      },
      // Every refusal is an error message for this operation (a thrown error would close the
      // whole socket); the checks are the HTTP ones, in the same order.
      onSubscribe: (ctx, id, payload) => {
        // graphql-ws registers the new operation's id before calling onSubscribe: it is counted.
        if (Object.keys(ctx.subscriptions).length > options.maxSubscriptionsPerConnection) {
          return [
            new GraphQLError(`at most ${options.maxSubscriptionsPerConnection} subscriptions per connection`, {
              extensions: { code: 'BAD_USER_INPUT', limit: options.maxSubscriptionsPerConnection },
            }),
          ];
        }
        const refused = options.admit(caller(ctx)!);
        if (refused) return [new GraphQLError(refused.message, { originalError: refused })];
        let document: DocumentNode;
        try {
          document = options.parse(payload.query);
        } catch (error) {
          if (error instanceof GraphQLError) return [new GraphQLError(error.message, { extensions: { ...error.extensions, code: 'GRAPHQL_PARSE_FAILED' } })];
          throw error;
        }
        const invalid = options.validate(options.schema, document);
        if (invalid.length > 0)
          return invalid.map((error) =>
            error.extensions['code'] ? error : new GraphQLError(error.message, { nodes: error.nodes, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }),
          );
        // As Apollo does over HTTP: graphql-js would report it as a bare execution error.
        if (!getOperationAST(document, payload.operationName ?? undefined)) {
          const message = payload.operationName
            ? `Unknown operation named "${payload.operationName}".`
            : 'Must provide operation name if query contains multiple operations.';
          return [new GraphQLError(message, { extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } })];
        }
        const tooCostly = options.checkCost(document, payload.variables ?? undefined, payload.operationName ?? undefined);
        if (tooCostly) return [tooCostly];
        census.started(ctx, id, document, payload.operationName ?? undefined);
        return { schema: options.schema, document, variableValues: payload.variables, operationName: payload.operationName };
      },
      context: (ctx, id) => {
        const who = caller(ctx);
        if (!who) throw new Error('connection is not authenticated');
        const contextValue = options.context(who, requestIdOf(ctx.extra.request)) as Record<string, unknown>;
        callerOfContext.set(contextValue, who);
        outletOfContext.set(contextValue, operationOutlet(ctx, id, nextPayloads, options.onDelivered));
        return contextValue;
      },
      subscribe: cohorts.subscribe,
      onNext: (ctx, id, _payload, _args, result) => {
        options.onDelivered?.();
        return nextPayloads.standIn(ctx.extra.nextPayloads, id, result);
      },
      onError: (ctx, _id, _payload, errors) => formatGraphQLErrors(errors, options.formatError, requestIdOf(ctx.extra.request)),
    },
    wss,
    options.logger,
  );
  return {
    /** Completes an upgrade request routed here. */
    handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
      wss.handleUpgrade(request, socket, head, (webSocket) => wss.emit('connection', webSocket, request));
    },
    /** Subscriptions sharing an execution: cohorts and their members. */
    get cohorts(): CohortStats {
      return cohorts.stats;
    },
    /** Authenticated connections and their live operations by kind (metrics). */
    census,
    /** The keys that hold connections open now. */
    connectedKeyIds(): IterableIterator<string> {
      return socketsByKey.keys();
    },
    /** Closes every connection authenticated with these keys (they were revoked). */
    closeConnectionsOf(keyIds: readonly string[]): void {
      for (const keyId of keyIds) for (const socket of socketsByKey.get(keyId) ?? []) socket.close(CLOSE_KEY_REVOKED, 'API key revoked');
    },
    async close(): Promise<void> {
      for (const client of wss.clients) client.close(1001, 'server shutting down');
      await cleanup.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
