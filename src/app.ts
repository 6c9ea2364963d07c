import 'reflect-metadata';
import type { Config } from './config';
import { ConsumerThread } from './consumers/consumer-thread';
import { replayDeadLetter } from './consumers/dead-letters';
import { ReadingHub } from './consumers/reading-hub';
import { TenantHub } from './consumers/tenant-hub';
import type { Anomaly, DeviceStatusChange } from './domain/anomalies/anomaly';
import { DeviceDirectory } from './ingest/device-directory';
import type { PersistedReading } from './domain/reading';
import { IngestService } from './ingest/ingest-service';
import type { Logger } from './logger';
import { listen, startApiServer } from './server/api-server';
import { AnomalyOrder } from './consumers/anomaly-order';
import { EventTail } from './consumers/event-fanout';
import { openStore, openStream } from './composition/backends';
import { startPublishingConsumer } from './composition/consumer-runtime';
import { bootstrapAdminKey } from './composition/tenants';
import type { Stream } from './stream/stream';
import { createServer } from 'node:http';
import { applyTimeouts } from './server/http-server';
import type { Store } from './store/store';

/**
 * The composition root: starts the service in its role and wires the API, the ingest path
 * and the consumer (backends are picked in composition/backends.ts).
 */

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
  const stream = await openStream(config, logger);
  const generatedAdminKey = await bootstrapAdminKey(store, config);
  const hub = new ReadingHub();
  const anomalyHub = new TenantHub<Anomaly>();
  const statusHub = new TenantHub<DeviceStatusChange>();
  const hubs = { hub, anomalyHub, statusHub };
  const fanout =
    role === 'api'
      ? await eventsTopicTail(stream, store, logger, hubs)
      : config.stream.oci
        ? await consumerThreadOnSharedStream(config, stream, store, logger, hubs)
        : await inProcessConsumer(config, logger, hubs);

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

/**
 * Role `all` on a shared stream (OCI Streaming): other processes may hold some partitions, so
 * subscribers are fed from the events topic like on API nodes, and the consumer thread
 * publishes there (consumer-worker.ts), never only to this process.
 */
async function consumerThreadOnSharedStream(config: Config, stream: Stream, store: Store, logger: Logger, hubs: Hubs): Promise<Fanout> {
  const tail = await eventsTopicTail(stream, store, logger, hubs);
  const consumer = new ConsumerThread(config, () => {}, () => {}, logger);
  await consumer.ready();
  return {
    wake: () => consumer.wake(),
    stats: () => consumer.stats(),
    failed: consumer.crashed,
    stop: async () => {
      await consumer.stop();
      await tail.stop();
    },
  };
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
  const runtime = await startPublishingConsumer(config, logger);
  const server = createServer((request, response) => {
    const status = request.url === '/healthz' ? 200 : 404;
    const snapshot = runtime.persister.snapshot();
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(status === 200 ? { status: 'ok', role: 'consumer', consumer: { ...snapshot, positions: Object.fromEntries(snapshot.positions) } } : { error: { code: 'NOT_FOUND' } }));
  });
  applyTimeouts(server, config.http);
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
      })();
      return closing;
    },
  };
}
