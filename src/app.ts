import 'reflect-metadata';
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { GraphQLError, specifiedRules, validate } from 'graphql';
import type { Config } from './config';
import { replayDeadLetter } from './consumers/dead-letters';
import { ReadingHub } from './consumers/reading-hub';
import { ReadingPersister } from './consumers/reading-persister';
import type { Caller } from './domain/caller';
import type { PersistedReading } from './domain/reading';
import { DeviceDirectory } from './ingest/device-directory';
import { createHttpIngestHandler } from './ingest/http-ingest';
import { IngestService } from './ingest/ingest-service';
import type { Logger } from './logger';
import type { GraphQLContext, Services } from './resolvers/context';
import { createLoaders } from './resolvers/loaders';
import { buildTelemetrySchema } from './schema/build-schema';
import { ApiKeyAuthenticator, bearerToken, generateApiKey, hashApiKey } from './server/auth';
import { depthLimit } from './server/depth-limit';
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

export interface ConsumerRuntime {
  readonly persister: ReadingPersister;
  close(): Promise<void>;
}

/** Starts the persister with its own store and stream connections (it runs in its own thread). */
export async function startConsumer(config: Config, publish: (readings: PersistedReading[]) => void, logger: Logger): Promise<ConsumerRuntime> {
  const store = openStore(config);
  const stream = openStream(config);
  const persister = new ReadingPersister({
    stream,
    store,
    devices: new DeviceDirectory(store),
    publish,
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
  return {
    persister,
    async close() {
      clearInterval(retention);
      await persister.stop();
      await stream.close();
      await store.close();
    },
  };
}

/** Messages between the API thread and the consumer worker. */
export type ToConsumer = { readonly type: 'wake' } | { readonly type: 'stop' };
export type FromConsumer =
  | { readonly type: 'ready' }
  /** JSON text of PersistedReading[]: one native stringify/parse beats structured clone of thousands of objects. */
  | { readonly type: 'persisted'; readonly readingsJson: string }
  | { readonly type: 'stats'; readonly stats: object }
  | { readonly type: 'stopped' }
  | { readonly type: 'failed'; readonly message: string };

/**
 * Runs the consumer in a worker thread: better-sqlite3 is synchronous, so the heavy batch
 * writes must not share the event loop that serves requests.
 */
class ConsumerWorker {
  private readonly worker: Worker;
  private wakePending = false;
  private lastStats: object = {};

  constructor(config: Config, onPersisted: (readingsJson: string) => void, private readonly logger: Logger) {
    this.worker = new Worker(path.join(__dirname, 'consumers', 'consumer-worker.js'), { workerData: { config } });
    this.worker.on('message', (message: FromConsumer) => {
      if (message.type === 'persisted') onPersisted(message.readingsJson);
      else if (message.type === 'stats') this.lastStats = message.stats;
    });
    this.worker.on('error', (error) => logger.error({ err: error }, 'consumer worker crashed'));
  }

  ready(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onMessage = (message: FromConsumer) => {
        if (message.type === 'ready') done(resolve);
        if (message.type === 'failed') done(() => reject(new Error(`consumer failed to start: ${message.message}`)));
      };
      const onExit = (code: number) => done(() => reject(new Error(`consumer worker exited with code ${code}`)));
      const done = (settle: () => void) => {
        this.worker.off('message', onMessage);
        this.worker.off('exit', onExit);
        settle();
      };
      this.worker.on('message', onMessage);
      this.worker.on('exit', onExit);
    });
  }

  /** Coalesced: one wake message per event-loop turn however many produces finished. */
  wake(): void {
    if (this.wakePending) return;
    this.wakePending = true;
    setImmediate(() => {
      this.wakePending = false;
      this.worker.postMessage({ type: 'wake' } satisfies ToConsumer);
    });
  }

  stats(): object {
    return this.lastStats;
  }

  async stop(): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage({ type: 'stop' } satisfies ToConsumer);
    const timeout = setTimeout(() => void this.worker.terminate(), 10_000);
    await stopped;
    clearTimeout(timeout);
    this.logger.debug('consumer stopped');
  }
}

export interface RunningApp {
  readonly port: number;
  readonly url: string;
  readonly wsUrl: string;
  /** Set on first start when no admin key existed and none was configured: show it once. */
  readonly generatedAdminKey: string | undefined;
  readonly hub: ReadingHub;
  close(): Promise<void>;
}

export async function startApp(config: Config, logger: Logger): Promise<RunningApp> {
  const store = openStore(config);
  const stream = openStream(config);
  const generatedAdminKey = await bootstrapAdminKey(store, config);
  const hub = new ReadingHub();
  // With nobody subscribed there is nothing to route: skip parsing (a new subscriber starts
  // from the database watermark, so it needs none of these).
  const consumer = new ConsumerWorker(config, (json) => hub.activeSubscriptions > 0 && hub.publish(JSON.parse(json) as PersistedReading[]), logger);
  await consumer.ready();

  const devices = new DeviceDirectory(store);
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
    replayDeadLetter: (tenantId, id) => replayDeadLetter({ store, stream, eventTypePrefix: config.eventTypePrefix }, tenantId, id).finally(() => consumer.wake()),
    partitions: await stream.partitions('readings'),
    limits: { maxPageSize: config.limits.maxPageSize, maxBatchSize: config.limits.maxBatchSize },
  };
  const contextFor = (caller: Caller): GraphQLContext => ({ caller, services, loaders: createLoaders(store, caller) });
  const authenticator = new ApiKeyAuthenticator(store);
  const authenticate = (token: string | undefined) => authenticator.authenticate(token);
  const formatError = createErrorFormatter(logger);
  const schema = buildTelemetrySchema();
  const validationRules = [depthLimit(config.limits.maxQueryDepth)];

  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    formatError,
    includeStacktraceInErrorResponses: false,
    // Explicit, so behaviour does not depend on NODE_ENV (see production-defaults.ts).
    introspection: true,
    validationRules,
    // Cache hints are unused (and cost ~40% on large lists); the landing page is Apollo Sandbox.
    plugins: [ApolloServerPluginCacheControlDisabled(), ApolloServerPluginLandingPageLocalDefault({ embed: true })],
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
          return contextFor(caller);
        },
      }),
      ingest: createHttpIngestHandler({ ingest: services.ingest, maxBodyBytes: config.limits.maxBodyBytes }),
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
    logger,
    validate: (s, document) => validate(s, document, [...specifiedRules, ...validationRules]),
  });

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
