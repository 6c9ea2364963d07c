import type { IncomingMessage } from 'node:http';
import { ApolloServer, type ApolloServerOptions } from '@apollo/server';
import type { TraceHeaders } from '../tracing/tracing';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { GraphQLError, specifiedRules, validate } from 'graphql';
import type { Config } from '../config';
import type { Caller } from '../domain/caller';
import { createExportHandler } from './export-route';
import { createImportHandler } from './import-route';
import { createHttpIngestHandler } from './ingest-route';
import type { LogFields, Logger } from '../logger';
import type { GraphQLContext, Services } from '../resolvers/context';
import { createLoaders } from '../resolvers/loaders';
import { buildTelemetrySchema } from '../schema/build-schema';
import type { Store } from '../store/store';
import { ApiKeyAuthenticator, bearerToken } from './auth';
import { createErrorFormatter } from './errors';
import { createGraphQLExecutor, staticSchemaGateway } from './graphql-executor';
import { CompiledOperations } from './compiled-operations';
import { CompiledHttpPath } from './compiled-http-path';
import { createGraphQLHttpHandler } from './graphql-http';
import { GracefulClose } from './graceful-close';
import type { HealthProbes } from './health';
import { createHttpServer } from './http-server';
import { clientOriginOf } from './client-origin';
import { parseTrustedProxies } from '../domain/trusted-proxies';
import { httpSemanticsPlugin } from './http-semantics';
import { listen } from './listen';
import { NoIntrospectionRule } from './introspection-rule';
import { createOidcVerifier, looksLikeJwt } from './oidc';
import { checkCost, checkDocument, costLimitPlugin, createDocumentGuard, parseDocument, type QueryLimits } from './query-limits';
import { RateGuard } from './rate-limit';
import { createWebRoute } from './web-route';
import { createOidcConsoleRoute } from './oidc-console-route';
import { attachWebSocketServer } from './websocket';
import type { CohortStats } from './subscription-cohorts';
import { slowSubscriber } from '../subscriptions/resumable-feed';
import type { TelemetryError } from '../domain/errors';
import type { ApiMetrics, RateLimitedTransport } from '../metrics/api-metrics';
import { metricsPlugin } from './metrics-plugin';
import { requestIdOf, requestIdPlugin } from './request-id';
import { createMqttBroker, hardPacketLimit, type ConnectionPresence, type MqttBroker } from './mqtt/mqtt-broker';
import { startMqttListener, type MqttListener } from './mqtt/mqtt-listener';
import { mqttOverWebSocket } from './mqtt/mqtt-websocket';
import { routeUpgrades } from './upgrade-router';
import type { Command } from '../domain/command';

/** What each subscription field delivers, as its SLOW_SUBSCRIBER message names it (as its feed does). */
const SUBSCRIPTION_NOUNS: Readonly<Record<string, string>> = {
  readingAdded: 'readings',
  anomalyDetected: 'anomalies',
  deviceStatusChanged: 'status changes',
  commandUpdated: 'command changes',
};

export interface ApiServerOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** Everything resolvers use. */
  readonly services: Services;
  readonly store: Store;
  /** GET /healthz and /readyz. */
  readonly probes: HealthProbes;
  /** Where requests, operations, deliveries and refusals are counted; none: not counted. */
  readonly metrics?: ApiMetrics;
  /** Told of devices' MQTT connections opening and closing; none: connections change no status. */
  readonly presence?: ConnectionPresence;
}

export interface ApiServer {
  readonly port: number;
  readonly url: string;
  readonly wsUrl: string;
  /** The built-in MQTT broker's URL (`mqtt://` or `mqtts://`); undefined when TELEMETRY_MQTT_PORT is off. */
  readonly mqttUrl: string | undefined;
  /** WebSocket subscriptions sharing an execution (DESIGN §9): cohorts and their members. */
  subscriptionCohorts(): CohortStats;
  /** Writes a command to its device's MQTT connections on this node; false when it has none here (or MQTT is off). */
  writeCommand(command: Command): boolean;
  /**
   * Stops serving keys revoked (here or on another node): they fail authentication on this node
   * at once, their WebSockets close with 4403 "API key revoked" and their MQTT connections close.
   */
  closeRevokedKeys(keyIds: readonly string[]): void;
  /** The ids of the keys holding connections (WebSocket, MQTT) on this node now (a key with several, once or more). */
  connectedKeyIds(): string[];
  /** Closes the MQTT connections of a deleted device on this node, whatever key they used. */
  closeDeletedDevice(tenantId: string, deviceId: string): void;
  /**
   * Stops taking connections, closes WebSockets (1001) and MQTT connections, answers the requests already received
   * (for at most TELEMETRY_SHUTDOWN_DRAIN_SECONDS), then stops.
   */
  close(): Promise<void>;
}

/**
 * The API on one port: GraphQL over HTTP (Apollo Server) and over WebSocket (graphql-ws) on
 * /graphql, POST /ingest, GET /healthz and /readyz, MQTT over WebSocket on /mqtt, with
 * authentication, rate, cost and document limits; and the MQTT broker on its own port.
 */
export async function startApiServer({ config, logger, services, store, probes, metrics, presence }: ApiServerOptions): Promise<ApiServer> {
  const authenticator = new ApiKeyAuthenticator(store, { onTouchFailed: (error) => logger.warn({ err: error }, 'could not record API key use') });
  const contextFor = (caller: Caller, requestId: string, traceHeaders?: TraceHeaders): GraphQLContext => ({
    caller,
    services,
    loaders: createLoaders(store, caller),
    requestId,
    traceHeaders,
  });
  const verifyToken = config.oidc ? await createOidcVerifier(config.oidc, (id) => store.tenantExists(id)) : undefined;
  // API keys start with tk_; anything shaped like a JWT goes to the OIDC verifier when enabled.
  const authenticate = (token: string | undefined) =>
    token !== undefined && verifyToken && looksLikeJwt(token) ? verifyToken(token) : authenticator.authenticate(token);
  const formatError = createErrorFormatter(logger, { hideSchemaHints: !config.introspection });
  const schema = buildTelemetrySchema();
  const queryLimits: QueryLimits = {
    maxTokens: config.limits.maxQueryTokens,
    maxDepth: config.limits.maxQueryDepth,
    maxAliases: config.limits.maxAliases,
    maxCost: config.limits.maxQueryCost,
    maxListSize: config.limits.maxPageSize,
  };
  // One rule refuses introspection over HTTP (Apollo's validationRules) and WebSocket alike,
  // with a message that names the setting (Apollo's own would name its constructor option).
  const introspectionRules = config.introspection ? [] : [NoIntrospectionRule];
  const webSocketRules = [...specifiedRules, ...introspectionRules];
  const rateGuard = new RateGuard({ ratePerSecond: config.limits.ratePerSecond, burst: config.limits.rateBurst });
  const admitOn =
    (transport: RateLimitedTransport) =>
    (caller: Caller): TelemetryError | undefined => {
      const refused = rateGuard.check(caller);
      if (refused) metrics?.rateLimited(transport);
      return refused;
    };

  // A GraphQL-over-HTTP request's context: its caller, refused when unknown or over the rate limit.
  const graphqlContext = async (request: IncomingMessage): Promise<GraphQLContext> => {
    const caller = await authenticate(bearerToken(request.headers.authorization));
    if (!caller) {
      throw new GraphQLError('send a valid API key as "Authorization: Bearer <key>"', {
        extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
      });
    }
    const limited = rateGuard.checkGraphQL(caller);
    if (limited) {
      metrics?.rateLimited('graphql');
      throw limited;
    }
    return contextFor(caller, requestIdOf(request), request.headers);
  };
  // Ingest mutations compiled after Apollo validated them: its executor runs them, and the
  // HTTP path answers them without Apollo's pipeline when it would add nothing.
  const compiledOperations = new CompiledOperations(schema);

  const apollo = new ApolloServer<GraphQLContext>({
    // The schema, with the executor that runs ingest mutations compiled (graphql-executor.ts).
    gateway: staticSchemaGateway(schema, createGraphQLExecutor(schema, compiledOperations)),
    formatError,
    // Apollo's own messages (e.g. an unexpected error in its pipeline) go to our JSON log.
    logger: apolloLogger(logger),
    includeStacktraceInErrorResponses: false,
    // Explicit, so behaviour does not depend on NODE_ENV (see production-defaults.ts); when
    // TELEMETRY_INTROSPECTION is off, NoIntrospectionRule refuses it instead.
    introspection: true,
    validationRules: introspectionRules,
    // Document limits are checked before Apollo parses (createDocumentGuard); cost once variables are known.
    parseOptions: { maxLexicalTokens: config.limits.maxQueryTokens },
    // Credentials travel only in the Authorization header (or connectionParams), which no
    // cross-site page can set: CSRF prevention has nothing to protect (README, "GraphQL over HTTP").
    csrfPrevention: false,
    // main.ts owns SIGINT and SIGTERM: Apollo's own handlers would stop it, then re-raise the
    // signal and kill the process in the middle of the graceful shutdown.
    stopOnTerminationSignals: false,
    // Cache hints are unused (and cost ~40% on large lists). A browser's GET /graphql gets the
    // bundled GraphiQL from web-route.ts; Apollo's landing page (Sandbox, from Apollo's CDN)
    // only when TELEMETRY_GRAPHQL_IDE asks for it.
    plugins: [
      ApolloServerPluginCacheControlDisabled(),
      httpSemanticsPlugin(),
      costLimitPlugin(schema, queryLimits),
      requestIdPlugin<GraphQLContext>(),
      ...(metrics ? [metricsPlugin<GraphQLContext>(metrics)] : []),
      config.graphqlIde === 'sandbox' ? ApolloServerPluginLandingPageLocalDefault({ embed: true }) : ApolloServerPluginLandingPageDisabled(),
    ],
  });
  await apollo.start();

  const server = createHttpServer({
    logger,
    authenticate,
    timeouts: config.http,
    metrics,
    accessLog: config.accessLog,
    clientOrigin: clientOriginOf(parseTrustedProxies(config.trustedProxies)),
    routes: {
      graphql: createGraphQLHttpHandler({
        apollo,
        maxBodyBytes: config.limits.maxBodyBytes,
        checkDocument: createDocumentGuard(queryLimits),
        context: graphqlContext,
        compiledPath: new CompiledHttpPath({
          operations: compiledOperations,
          context: graphqlContext,
          checkCost: (document, variables, operationName) => checkCost(schema, document, variables, operationName, queryLimits),
          metrics,
        }),
      }),
      ingest: createHttpIngestHandler({ ingest: services.ingest, maxBodyBytes: config.limits.maxBodyBytes, admit: admitOn('http') }),
      export: createExportHandler({ store: services.store, devices: services.devices, admit: admitOn('http') }),
      import: createImportHandler({ ingest: services.ingest, batchSize: config.limits.maxBatchSize, admit: admitOn('http') }),
      probes,
      web: createWebRoute(),
      graphiql: config.graphqlIde === 'graphiql',
      oidcConsole: config.oidc?.clientId ? createOidcConsoleRoute({ ...config.oidc, clientId: config.oidc.clientId }) : undefined,
    },
  });
  const shutdown = new GracefulClose(server);
  const websocket = attachWebSocketServer({
    schema,
    authenticate,
    context: contextFor,
    formatError,
    maxSubscriptionsPerConnection: config.limits.maxSubscriptionsPerConnection,
    maxPayloadBytes: config.limits.maxBodyBytes,
    maxConnectionsPerKey: config.limits.maxConnectionsPerKey,
    logger,
    admit: admitOn('websocket'),
    parse: (source) => parseDocument(source, queryLimits),
    validate: (s, document) => {
      const overLimit = checkDocument(document, queryLimits);
      return overLimit ? [overLimit] : validate(s, document, webSocketRules);
    },
    checkCost: (document, variables, operationName) => checkCost(schema, document, variables, operationName, queryLimits),
    slowSubscriber: (rootField, maxQueued) => {
      metrics?.slowSubscriberEnded();
      return slowSubscriber(maxQueued, SUBSCRIPTION_NOUNS[rootField] ?? 'events');
    },
    ...(metrics ? { onDelivered: () => metrics.delivered() } : {}),
  });
  metrics?.watchWebSockets(
    () => websocket.census.connections,
    () => websocket.census.operations(),
  );
  const mqtt: MqttBroker | undefined = config.mqtt
    ? await createMqttBroker({
        authenticate: (secret) => authenticator.authenticate(secret),
        ingest: services.ingest,
        admit: admitOn('mqtt'),
        maxPayloadBytes: config.mqtt.maxPayloadBytes,
        maxConnectionsPerTenant: config.mqtt.maxConnectionsPerTenant,
        keepAliveLimitSeconds: config.mqtt.keepAliveLimitSeconds,
        presence,
        commands: services.commands,
        logger,
      })
    : undefined;
  const mqttWebSocket = mqtt && config.mqtt ? mqttOverWebSocket(mqtt, hardPacketLimit(config.mqtt.maxPayloadBytes)) : undefined;
  routeUpgrades(server, {
    '/graphql': (request, socket, head) => websocket.handleUpgrade(request, socket, head),
    ...(mqttWebSocket ? { '/mqtt': (request, socket, head) => mqttWebSocket.handleUpgrade(request, socket, head) } : {}),
  });
  const closeRevokedKeys = (keyIds: readonly string[]) => {
    authenticator.forget(keyIds);
    websocket.closeConnectionsOf(keyIds);
    mqtt?.closeConnectionsOf(keyIds);
  };
  // listen() reports the errors of start-up (port in use, bad host); later ones (accept
  // failing with EMFILE) are logged and the server goes on.
  let listening = false;
  server.on('error', (error) => {
    if (listening) logger.error({ err: error }, 'HTTP server error');
  });

  let mqttListener: MqttListener | undefined;
  try {
    if (mqtt && config.mqtt) mqttListener = await startMqttListener(mqtt, { host: config.host, port: config.mqtt.port, tls: config.mqtt.tls });
    const address = await listen(server, config);
    listening = true;
    return {
      ...address,
      mqttUrl: mqttListener?.url,
      subscriptionCohorts: () => websocket.cohorts,
      writeCommand: (command) => mqtt?.writeCommand(command) ?? false,
      closeRevokedKeys,
      connectedKeyIds: () => [...websocket.connectedKeyIds(), ...(mqtt?.connectedKeyIds() ?? [])],
      closeDeletedDevice: (tenantId, deviceId) => mqtt?.closeDeviceConnections(tenantId, deviceId),
      async close() {
        const drained = shutdown.close(config.http.drainTimeoutMs);
        await mqttListener?.close();
        await mqttWebSocket?.close();
        await mqtt?.close();
        await websocket.close();
        await drained;
        await apollo.stop();
      },
    };
  } catch (error) {
    // A port in use: nothing this start opened stays behind.
    await mqttListener?.close();
    await mqtt?.close();
    await websocket.close();
    await apollo.stop();
    throw error;
  }
}

/** Apollo logs a bare message (a string, sometimes an Error): ours takes fields, then the message. */
function apolloLogger(logger: Logger): NonNullable<ApolloServerOptions<GraphQLContext>['logger']> {
  const line = (write: (fields: LogFields, message: string) => void) => (message?: unknown) =>
    message instanceof Error ? write({ err: message }, message.message) : write({}, String(message));
  return {
    debug: line(logger.debug.bind(logger)),
    info: line(logger.info.bind(logger)),
    warn: line(logger.warn.bind(logger)),
    error: line(logger.error.bind(logger)),
  };
}
