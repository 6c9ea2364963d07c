import 'reflect-metadata';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Config } from './config';
import { ConsumerThread } from './consumers/consumer-thread';
import { replayDeadLetter } from './consumers/dead-letters';
import { ReadingHub } from './consumers/reading-hub';
import { TenantHub } from './consumers/tenant-hub';
import type { Anomaly, DeviceStatusChange } from './domain/anomalies/anomaly';
import { LivenessSweep } from './consumers/liveness-sweep';
import { WebhookDeliverer } from './consumers/webhook-deliverer';
import { PERSISTER_GROUP, ReadingPersister, type DetectionEvents } from './consumers/reading-persister';
import type { PersistedReading } from './domain/reading';
import { DeviceDirectory } from './ingest/device-directory';
import { IngestService } from './ingest/ingest-service';
import type { Logger } from './logger';
import { generateApiKey, hashApiKey, newApiKey } from './server/auth';
import { listen, startApiServer } from './server/api-server';
import { AnomalyOrder } from './consumers/anomaly-order';
import { EventPublisher, EventTail } from './consumers/event-fanout';
import type { Stream } from './stream/stream';
import { createServer } from 'node:http';
import { TelemetryError } from './domain/errors';
import { SqliteStore } from './store/sqlite/sqlite-store';
import { OracleStore } from './store/oracle/oracle-store';
import type { Store } from './store/store';
import { EmbeddedStream } from './stream/embedded/embedded-stream';
import { ociAuthentication } from './stream/oci/oci-auth';
import { OciStream } from './stream/oci/oci-stream';

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

/** The store: Oracle Autonomous Database when configured (TELEMETRY_STORE=oracle), SQLite otherwise. */
export async function openStore(config: Config): Promise<Store> {
  if (config.oracle) return OracleStore.connect(config.oracle);
  mkdirSync(config.dataDir, { recursive: true });
  return new SqliteStore({ file: storeFile(config) });
}

/** The stream: OCI Streaming when configured (TELEMETRY_STREAM=oci), the embedded log otherwise. */
export async function openStream(config: Config): Promise<Stream> {
  const oci = config.stream.oci;
  if (oci) {
    return new OciStream({
      messagesEndpoint: oci.messagesEndpoint,
      streamIds: { readings: oci.readingsStreamId, events: oci.eventsStreamId },
      partitions: config.partitions,
      auth: await ociAuthentication(oci),
      tailReadsPerSecondPerPartition: oci.tailReadsPerSecond,
    });
  }
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
  /** Partitions taken over from another consumer (see ReadingPersisterOptions.onPartitionsGained). */
  readonly partitionsGained?: (partitions: readonly number[]) => Promise<void>;
}

/**
 * Starts the persister and the liveness sweep with their own store and stream connections
 * (they run in the consumer thread, the only writer of readings, anomalies and statuses).
 */
export async function startConsumer(config: Config, outputs: ConsumerOutputs, logger: Logger): Promise<ConsumerRuntime> {
  const store = await openStore(config);
  const stream = await openStream(config);
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
    instance: config.consumer.instance,
    eventTypePrefix: config.eventTypePrefix,
    onPartitionsGained: outputs.partitionsGained,
  });
  await persister.start();
  // The embedded log trims itself here; OCI Streaming keeps messages for the stream's own
  // retention period (set when the stream is created).
  const retention = setInterval(() => {
    if (!(stream instanceof EmbeddedStream)) return;
    try {
      const deleted = stream.deleteOlderThan(Date.now() - config.stream.retentionMs, { readings: PERSISTER_GROUP });
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

export type Role = 'all' | 'api' | 'consumer';

export interface RunningApp {
  readonly role: Role;
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

/** How committed events reach this process's hubs, and how the consumer is woken. */
interface Fanout {
  wake(): void;
  stats(): object;
  readonly failed: Promise<never>;
  stop(): Promise<void>;
}

/**
 * Starts the service in one of its roles:
 *  - `all` (default): API and consumer in one process; the consumer runs in a worker thread
 *    and hands committed events to the API thread in memory;
 *  - `api`: the API only; committed events arrive through the `events` topic;
 *  - `consumer`: the consumer only (see startConsumerRole), publishing to the `events` topic.
 */
export async function startApp(config: Config, logger: Logger, role: Role = 'all'): Promise<RunningApp> {
  if (role === 'consumer') return startConsumerRole(config, logger);
  const store = await openStore(config);
  const stream = await openStream(config);
  const generatedAdminKey = await bootstrapAdminKey(store, config);
  const hub = new ReadingHub();
  const anomalyHub = new TenantHub<Anomaly>();
  const statusHub = new TenantHub<DeviceStatusChange>();
  const fanout = role === 'all' ? await inProcessConsumer(config, logger, { hub, anomalyHub, statusHub }) : await eventsTopicTail(stream, store, logger, { hub, anomalyHub, statusHub });

  const devices = new DeviceDirectory(store);
  const api = await startApiServer({
    config,
    logger,
    store,
    services: {
      ingest: new IngestService({
        stream,
        devices,
        rules: config.validation,
        maxBatchSize: config.limits.maxBatchSize,
        eventTypePrefix: config.eventTypePrefix,
        onProduced: () => fanout.wake(),
      }),
      store,
      devices,
      hub,
      anomalyHub,
      statusHub,
      defaultHeartbeatTimeoutMs: config.liveness.defaultHeartbeatTimeoutMs,
      allowPrivateWebhooks: config.webhooks.allowPrivateNetworks,
      replayDeadLetter: (tenantId, id) => replayDeadLetter({ store, stream, eventTypePrefix: config.eventTypePrefix }, tenantId, id).finally(() => fanout.wake()),
      partitions: await stream.partitions('readings'),
      limits: config.limits,
    },
    health: async () => ({ status: 'ok', role, consumer: fanout.stats(), subscriptions: hub.activeSubscriptions }),
  });

  let closing: Promise<void> | undefined;
  return {
    role,
    ...api,
    generatedAdminKey,
    hub,
    anomalyHub,
    statusHub,
    failed: fanout.failed,
    close() {
      closing ??= (async () => {
        await api.close();
        await fanout.stop();
        await stream.close();
        await store.close();
      })();
      return closing;
    },
  };
}

interface Hubs {
  readonly hub: ReadingHub;
  readonly anomalyHub: TenantHub<Anomaly>;
  readonly statusHub: TenantHub<DeviceStatusChange>;
}

async function inProcessConsumer(config: Config, logger: Logger, hubs: Hubs): Promise<Fanout> {
  const consumer = new ConsumerThread(
    config,
    // With nobody subscribed there is nothing to route: skip parsing (a new subscriber starts
    // from the database watermark, so it needs none of these).
    (json) => hubs.hub.activeSubscriptions > 0 && hubs.hub.publish(JSON.parse(json) as PersistedReading[]),
    (events) => {
      hubs.anomalyHub.publish(events.anomalies);
      hubs.statusHub.publish(events.statusChanges);
    },
    logger,
  );
  await consumer.ready();
  return { wake: () => consumer.wake(), stats: () => consumer.stats(), failed: consumer.crashed, stop: () => consumer.stop() };
}

async function eventsTopicTail(stream: Stream, store: Store, logger: Logger, hubs: Hubs): Promise<Fanout> {
  const anomalies = new AnomalyOrder(store, (ordered) => hubs.anomalyHub.publish(ordered), logger);
  await anomalies.start();
  const tail = new EventTail(
    stream,
    {
      readings: (readings) => hubs.hub.activeSubscriptions > 0 && hubs.hub.publish(readings),
      anomalies: (published) => anomalies.push(published),
      statusChanges: (changes) => hubs.statusHub.publish(changes),
    },
    logger,
  );
  await tail.start();
  const stop = async () => {
    await tail.stop();
    await anomalies.settled();
  };
  // An API node has no consumer to wake: the consumer process polls the stream.
  return { wake: () => {}, stats: () => ({ fanout: 'events topic' }), failed: new Promise<never>(() => {}), stop };
}

/**
 * The consumer role: persister, liveness sweep and webhook deliveries, publishing what it
 * commits to the `events` topic for the API nodes; GET /healthz on the configured port for
 * probes. Republishes whatever a previous run committed but did not publish before it starts.
 */
async function startConsumerRole(config: Config, logger: Logger): Promise<RunningApp> {
  const store = await openStore(config);
  const stream = await openStream(config);
  const publisher = new EventPublisher(stream, store, logger, config.eventTypePrefix);
  await publisher.recover(await stream.partitions('readings'));
  const runtime = await startConsumer(
    config,
    { readings: (readings) => publisher.publish(readings), events: (events) => publisher.publish([], events), partitionsGained: (partitions) => publisher.recover(partitions) },
    logger,
  );
  const server = createServer((request, response) => {
    const status = request.url === '/healthz' ? 200 : 404;
    const snapshot = runtime.persister.snapshot();
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(status === 200 ? { status: 'ok', role: 'consumer', consumer: { ...snapshot, positions: Object.fromEntries(snapshot.positions) } } : { error: { code: 'NOT_FOUND' } }));
  });
  const address = await listen(server, config);
  let closing: Promise<void> | undefined;
  return {
    role: 'consumer',
    ...address,
    url: address.url.replace(/\/graphql$/, '/healthz'),
    generatedAdminKey: undefined,
    hub: new ReadingHub(),
    anomalyHub: new TenantHub<Anomaly>(),
    statusHub: new TenantHub<DeviceStatusChange>(),
    failed: new Promise<never>(() => {}),
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await runtime.close();
        await publisher.flushed();
        await stream.close();
        await store.close();
      })();
      return closing;
    },
  };
}
