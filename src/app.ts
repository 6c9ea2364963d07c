import 'reflect-metadata';
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { GraphQLError, parse, specifiedRules, validate } from 'graphql';
import type { Config } from './config';
import { ConsumerThread } from './consumers/consumer-thread';
import { replayDeadLetter } from './consumers/dead-letters';
import { ReadingHub } from './consumers/reading-hub';
import { TenantHub } from './consumers/tenant-hub';
import type { Anomaly, DeviceStatusChange } from './domain/anomalies/anomaly';
import { LivenessSweep } from './consumers/liveness-sweep';
import { WebhookDeliverer } from './consumers/webhook-deliverer';
import { ReadingPersister, type DetectionEvents } from './consumers/reading-persister';
import type { Caller } from './domain/caller';
import type { PersistedReading } from './domain/reading';
import { DeviceDirectory } from './ingest/device-directory';
import { createHttpIngestHandler } from './ingest/http-ingest';
import { IngestService } from './ingest/ingest-service';
import type { Logger } from './logger';
import type { GraphQLContext, Services } from './resolvers/context';
import { createLoaders } from './resolvers/loaders';
import { buildTelemetrySchema } from './schema/build-schema';
import { ApiKeyAuthenticator, bearerToken, generateApiKey, hashApiKey, newApiKey } from './server/auth';
import { TelemetryError } from './domain/errors';
import { depthLimit } from './server/depth-limit';
import { checkCost, costLimitPlugin, maxAliasesRule } from './server/query-limits';
import { RateGuard } from './server/rate-limit';
import { createOidcVerifier, looksLikeJwt } from './server/oidc';
import { createErrorFormatter } from './server/errors';
import { createGraphQLHttpHandler } from './server/graphql-http';
import { createHttpServer } from './server/http-server';
import { attachWebSocketServer } from './server/websocket';
import { SqliteStore } from './store/sqlite/sqlite-store';
import type { Store } from './store/store';
import { EmbeddedStream } from './stream/embedded/embedded-stream';

/**
 * The composition root: the ONE place that picks implementations (embedded SQLite store and
 * stream today) and wires them into the API, the ingest path and the consumer.
 */

export const DEFAULT_TENANT_ID = 'default';

export function storeFile(config: Config): string {
  return path.join(config.dataDir, 'telemetry.db');
}

export function streamFile(config: Config): string {
  return path.join(config.dataDir, 'stream.db');
}

export function openStore(config: Config): SqliteStore {
  mkdirSync(config.dataDir, { recursive: true });
  return new SqliteStore({ file: storeFile(config) });
}

export function openStream(config: Config): EmbeddedStream {
  mkdirSync(config.dataDir, { recursive: true });
  return new EmbeddedStream({ file: streamFile(config), partitions: config.partitions, synchronous: config.stream.synchronous });
}

/**
 * Makes sure the tenant has an admin key. With TELEMETRY_ADMIN_KEY set, that key is
 * registered (hashed) if new. Without it, a key is generated on first start only and
 * returned so the caller can show it once; it is never stored in clear.
 */
export async function bootstrapAdminKey(store: Store, config: Config): Promise<string | undefined> {
  await store.ensureTenant(DEFAULT_TENANT_ID, 'Default tenant');
  if (config.adminKey !== undefined) {
    if (!(await store.findApiKeyBySecretHash(hashApiKey(config.adminKey)))) {
      await store.createApiKey({ id: crypto.randomUUID(), tenantId: DEFAULT_TENANT_ID, role: 'admin', label: 'TELEMETRY_ADMIN_KEY', secretHash: hashApiKey(config.adminKey) });
    }
    return undefined;
  }
  if ((await store.countAdminKeys()) > 0) return undefined;
  const key = generateApiKey();
  await store.createApiKey({ id: crypto.randomUUID(), tenantId: DEFAULT_TENANT_ID, role: 'admin', label: 'bootstrap', secretHash: hashApiKey(key) });
  return key;
}

export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;

/**
 * Creates a tenant with its first admin key and returns the key's secret (to show once).
 * Refuses an existing tenant: its keys are managed through the API by its own admins.
 */
export async function createTenant(store: Store, id: string, name: string): Promise<string> {
  if (!TENANT_ID_PATTERN.test(id)) throw new TelemetryError('BAD_USER_INPUT', 'a tenant id is 1-64 characters of [a-z0-9-]');
  if (!(await store.createTenant(id, name))) throw new TelemetryError('ALREADY_EXISTS', `tenant "${id}" exists already`);
  const { secret, record } = newApiKey(id, 'admin', 'create-tenant');
  await store.createApiKey(record);
  return secret;
}

export interface ConsumerRuntime {
  readonly persister: ReadingPersister;
  close(): Promise<void>;
}

export interface ConsumerOutputs {
  readonly readings: (readings: PersistedReading[]) => void;
  readonly events: (events: DetectionEvents) => void;
}

/**
 * Starts the persister and the liveness sweep with their own store and stream connections
 * (they run in the consumer thread, the only writer of readings, anomalies and statuses).
 */
export async function startConsumer(config: Config, outputs: ConsumerOutputs, logger: Logger): Promise<ConsumerRuntime> {
  const store = openStore(config);
  const stream = openStream(config);
  const webhooks = new WebhookDeliverer(
    store,
    {
      pollIntervalMs: config.webhooks.pollIntervalMs,
      maxAttempts: config.webhooks.maxAttempts,
      timeoutMs: config.webhooks.timeoutMs,
      allowPrivateNetworks: config.webhooks.allowPrivateNetworks,
      // Doubling from the base (full jitter), capped at one hour: at the default base, 8 attempts
      // are spread over at most about 4 minutes.
      retry: { initialDelayMs: config.webhooks.retryBaseMs, multiplier: 2, maxDelayMs: 3_600_000 },
    },
    logger,
  );
  const publishEvents = (events: DetectionEvents) => {
    outputs.events(events);
    if (events.anomalies.length > 0) webhooks.wake();
  };
  const persister = new ReadingPersister({
    stream,
    store,
    devices: new DeviceDirectory(store),
    publish: outputs.readings,
    publishEvents,
    logger,
    batchSize: config.consumer.batchSize,
    pollIntervalMs: config.consumer.pollIntervalMs,
    eventTypePrefix: config.eventTypePrefix,
  });
  await persister.start();
  const retention = setInterval(() => {
    try {
      const deleted = stream.deleteOlderThan(Date.now() - config.stream.retentionMs);
      if (deleted > 0) logger.info({ deleted }, 'stream retention removed old messages');
    } catch (error) {
      logger.warn({ err: error }, 'stream retention failed');
    }
  }, 60_000);
  retention.unref();
  const liveness = new LivenessSweep(store, config.liveness, publishEvents, logger);
  liveness.start();
  webhooks.start();
  return {
    persister,
    async close() {
      clearInterval(retention);
      await liveness.stop();
      await webhooks.stop();
      await persister.stop();
      await stream.close();
      await store.close();
    },
  };
}

export interface RunningApp {
  readonly port: number;
  readonly url: string;
  readonly wsUrl: string;
  /** Set on first start when no admin key existed and none was configured: show it once. */
  readonly generatedAdminKey: string | undefined;
  readonly hub: ReadingHub;
  readonly anomalyHub: TenantHub<Anomaly>;
  readonly statusHub: TenantHub<DeviceStatusChange>;
  /**
   * Rejects if a part of the service dies on its own (the consumer thread). Accepted readings
   * are safe in the stream; exit and let the supervisor restart the process.
   */
  readonly failed: Promise<never>;
  close(): Promise<void>;
}

export async function startApp(config: Config, logger: Logger): Promise<RunningApp> {
  const store = openStore(config);
  const stream = openStream(config);
  const generatedAdminKey = await bootstrapAdminKey(store, config);
  const hub = new ReadingHub();
  // With nobody subscribed there is nothing to route: skip parsing (a new subscriber starts
  // from the database watermark, so it needs none of these).
  const anomalyHub = new TenantHub<Anomaly>();
  const statusHub = new TenantHub<DeviceStatusChange>();
  const consumer = new ConsumerThread(
    config,
    (json) => hub.activeSubscriptions > 0 && hub.publish(JSON.parse(json) as PersistedReading[]),
    (events) => {
      anomalyHub.publish(events.anomalies);
      statusHub.publish(events.statusChanges);
    },
    logger,
  );
  await consumer.ready();

  const devices = new DeviceDirectory(store);
  const authenticator = new ApiKeyAuthenticator(store, { onTouchFailed: (error) => logger.warn({ err: error }, 'could not record API key use') });
  let closeConnectionsOf: (keyIds: readonly string[]) => void = () => {};
  const services: Services = {
    ingest: new IngestService({
      stream,
      devices,
      rules: config.validation,
      maxBatchSize: config.limits.maxBatchSize,
      eventTypePrefix: config.eventTypePrefix,
      onProduced: () => consumer.wake(),
    }),
    store,
    devices,
    hub,
    anomalyHub,
    statusHub,
    defaultHeartbeatTimeoutMs: config.liveness.defaultHeartbeatTimeoutMs,
    allowPrivateWebhooks: config.webhooks.allowPrivateNetworks,
    keysRevoked: (keyIds) => {
      authenticator.forget(keyIds);
      closeConnectionsOf(keyIds);
    },
    replayDeadLetter: (tenantId, id) => replayDeadLetter({ store, stream, eventTypePrefix: config.eventTypePrefix }, tenantId, id).finally(() => consumer.wake()),
    partitions: await stream.partitions('readings'),
    limits: config.limits,
  };
  const contextFor = (caller: Caller): GraphQLContext => ({ caller, services, loaders: createLoaders(store, caller) });
  const verifyToken = config.oidc ? await createOidcVerifier(config.oidc, (id) => store.tenantExists(id)) : undefined;
  // API keys start with tk_; anything shaped like a JWT goes to the OIDC verifier when enabled.
  const authenticate = (token: string | undefined) =>
    token !== undefined && verifyToken && looksLikeJwt(token) ? verifyToken(token) : authenticator.authenticate(token);
  const formatError = createErrorFormatter(logger, { hideSchemaHints: !config.introspection });
  const schema = buildTelemetrySchema();
  const validationRules = [depthLimit(config.limits.maxQueryDepth), maxAliasesRule(config.limits.maxAliases)];
  const costSettings = { maxCost: config.limits.maxQueryCost, maxListSize: config.limits.maxPageSize };
  const rateGuard = new RateGuard({ ratePerSecond: config.limits.ratePerSecond, burst: config.limits.rateBurst });

  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    formatError,
    includeStacktraceInErrorResponses: false,
    // Explicit, so behaviour does not depend on NODE_ENV (see production-defaults.ts).
    introspection: config.introspection,
    validationRules,
    parseOptions: { maxTokens: config.limits.maxQueryTokens },
    csrfPrevention: false,
    // Cache hints are unused (and cost ~40% on large lists); the landing page is Apollo Sandbox.
    plugins: [
      ApolloServerPluginCacheControlDisabled(),
      costLimitPlugin(schema, costSettings),
      config.introspection ? ApolloServerPluginLandingPageLocalDefault({ embed: true }) : ApolloServerPluginLandingPageDisabled(),
    ],
  });
  await apollo.start();

  const server = createHttpServer({
    logger,
    authenticate,
    routes: {
      graphql: createGraphQLHttpHandler({
        apollo,
        maxBodyBytes: config.limits.maxBodyBytes,
        context: async (request) => {
          const caller = await authenticate(bearerToken(request.headers.authorization));
          if (!caller) {
            throw new GraphQLError('send a valid API key as "Authorization: Bearer <key>"', {
              extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
            });
          }
          const limited = rateGuard.checkGraphQL(caller);
          if (limited) throw limited;
          return contextFor(caller);
        },
      }),
      ingest: createHttpIngestHandler({ ingest: services.ingest, maxBodyBytes: config.limits.maxBodyBytes, admit: (caller) => rateGuard.check(caller) }),
      health: async () => ({ status: 'ok', consumer: consumer.stats(), subscriptions: hub.activeSubscriptions }),
    },
  });
  const websocket = attachWebSocketServer({
    server,
    path: '/graphql',
    schema,
    authenticate,
    context: contextFor,
    formatError,
    maxSubscriptionsPerConnection: config.limits.maxSubscriptionsPerConnection,
    maxPayloadBytes: config.limits.maxBodyBytes,
    maxConnectionsPerKey: config.limits.maxConnectionsPerKey,
    logger,
    admit: (caller) => rateGuard.check(caller),
    parse: (source) => parse(source, { maxTokens: config.limits.maxQueryTokens }),
    validate: (s, document) => validate(s, document, [...specifiedRules, ...validationRules]),
    checkCost: (document, variables, operationName) => checkCost(schema, document, variables, operationName, costSettings),
  });

  closeConnectionsOf = (keyIds) => websocket.closeConnectionsOf(keyIds);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;

  let closing: Promise<void> | undefined;
  return {
    port,
    url: `http://${host}:${port}/graphql`,
    wsUrl: `ws://${host}:${port}/graphql`,
    generatedAdminKey,
    hub,
    anomalyHub,
    statusHub,
    failed: consumer.crashed,
    close() {
      closing ??= (async () => {
        await websocket.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await apollo.stop();
        await consumer.stop();
        await stream.close();
        await store.close();
      })();
      return closing;
    },
  };
}
