import 'reflect-metadata';
import { contextOf, inSpanSync, SpanKind } from './tracing/tracing';
import { AnomalyService } from './anomalies/anomaly-service';
import type { Config } from './config';
import { SubscriberCount } from './composition/subscriber-count';
import { ConsumerThread } from './composition/consumer-thread';
import { replayDeadLetter } from './dead-letters/dead-letter-service';
import { ReadingHub } from './subscriptions/reading-hub';
import { TenantHub } from './subscriptions/tenant-hub';
import type { Anomaly, DeviceStatusChange } from './domain/anomalies/anomaly';
import { DeviceDirectory } from './devices/device-directory';
import { DeviceService, deviceDeleted } from './devices/device-service';
import type { PersistedReading } from './domain/reading';
import { IngestService } from './ingest/ingest-service';
import { KeyService } from './keys/key-service';
import type { Logger } from './logger';
import { startApiServer, type ApiServer } from './server/api-server';
import { DevicePresence } from './devices/device-presence';
import { statusChangePublisher } from './composition/status-changes';
import type { CohortStats } from './server/subscription-cohorts';
import { createHealthProbes } from './server/health';
import { startHealthServer } from './server/health-server';
import { judgeConsumer, type ConsumerCondition } from './composition/consumer-health';
import { reportStats, type ReportedStats } from './composition/consumer-thread';
import { consumerCheck, storeCheck, streamCheck } from './composition/health-checks';
import { watchProduces } from './stream/produce-watch';
import { AnomalyOrder } from './subscriptions/anomaly-order';
import { anomalyChangePublisher } from './composition/anomaly-changes';
import { EventTail } from './subscriptions/event-tail';
import { openStore, openStream } from './composition/backends';
import { WakeSignal } from './stream/wake-signal';
import { startPublishingConsumer, type ConsumerRuntime } from './composition/consumer-runtime';
import { bootstrapAdminKey } from './tenants/tenant-service';
import type { Stream } from './stream/stream';
import { WebhookService } from './webhooks/webhook-service';
import { RetentionService } from './retention/retention-service';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { ApiMetrics } from './metrics/api-metrics';
import type { MetricsJson } from './metrics/consumer-metrics';
import { exposition } from './metrics/exposition';
import { TrafficSummary } from './metrics/traffic-summary';
import { startMetricsServer, type MetricsServer } from './server/metrics-server';
import { watchDataFiles } from './composition/data-file-metrics';
import { startOciMonitoring } from './composition/oci-monitoring';
import { createMqttBridge } from './composition/mqtt-bridge-runtime';
import { CommandService, type CommandWriter } from './commands/command-service';
import { commandChangePublisher } from './composition/command-changes';
import { revocationPublisher, type RevocationHandlers } from './composition/revocation-notices';
import { RevocationCheck } from './keys/revocation-check';
import type { Command } from './domain/command';

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
  /** The built-in MQTT broker (`mqtt://` or `mqtts://`); undefined when off, and on the consumer role. */
  readonly mqttUrl: string | undefined;
  /** GET /metrics, on TELEMETRY_METRICS_PORT; undefined when that is not set. */
  readonly metricsUrl: string | undefined;
  /** Set on first start when no admin key existed and none was configured: show it once. */
  readonly generatedAdminKey: string | undefined;
  readonly hub: ReadingHub;
  readonly anomalyHub: TenantHub<Anomaly>;
  readonly statusHub: TenantHub<DeviceStatusChange>;
  /** Status changes of commands to devices (commandUpdated). */
  readonly commandHub: TenantHub<Command>;
  /** WebSocket subscriptions sharing an execution (DESIGN §9): cohorts and their members. */
  subscriptionCohorts(): CohortStats;
  /**
   * Rejects if a part of the service dies on its own (the consumer thread). Accepted readings
   * are safe in the stream; exit and let the supervisor restart the process.
   */
  readonly failed: Promise<never>;
  close(): Promise<void>;
}

/**
 * What /healthz reports of the consumer: the consumer thread's last report (empty before the
 * first), or, on an API node, that committed events come from the events topic.
 */
type ConsumerStats = Partial<ReportedStats> | { readonly fanout: 'events topic' };

/** What /healthz adds to its checks, for people and benchmarks. */
interface HealthDetails {
  /** Absent on the consumer role until its consumer has started. */
  readonly consumer?: ConsumerStats;
  /** Readings-hub listeners on this process (the API roles): one per cohort of identical subscriptions, one per resuming subscription. */
  readonly subscriptions?: number;
  /** WebSocket subscriptions sharing an execution (DESIGN §9): cohorts and their members (subscribers). */
  readonly cohorts?: CohortStats;
}

/** How committed events reach this process's hubs, and how the consumer is woken. */
interface Fanout {
  wake(): void;
  stats(): ConsumerStats;
  /** The metrics of the consumer this process runs in a thread (none on an API node). */
  metrics(): Promise<MetricsJson>;
  /** The consumer this process runs, if any: is it making progress? */
  condition?(): ConsumerCondition;
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
  const service = logger.child({ component: 'service' });
  // What start-up opened, closed in reverse order if a later step fails: a failed start leaves
  // no thread, connection or listening socket behind.
  const opened: (() => Promise<void>)[] = [];
  try {
    const store = await openStore(config, { logger: logger.child({ component: 'store' }) });
    opened.push(() => store.close());
    // Role `all` on the embedded log: its writer thread wakes this process's consumer once a
    // produce is durable, so the API thread (which produced) neither waits for nor pays that wake.
    const readingsAppended = role === 'all' && !config.stream.oci ? new WakeSignal() : undefined;
    const rawStream = await openStream(config, logger.child({ component: 'stream' }), { readingsAppended });
    opened.push(() => rawStream.close());
    const { stream, health: produceHealth } = watchProduces(rawStream);
    const subscribers = new SubscriberCount();
    const hub = new ReadingHub((count) => subscribers.set(count));
    const anomalyHub = new TenantHub<Anomaly>();
    const statusHub = new TenantHub<DeviceStatusChange>();
    const commandHub = new TenantHub<Command>();
    // Anomalies reach subscribers in seq order, from the consumer and from admins' transitions.
    const anomalyOrder = new AnomalyOrder(store, (ordered) => anomalyHub.publish(ordered), logger.child({ component: 'events' }));
    await anomalyOrder.start();
    // Commands are written through the MQTT broker, which the API server starts below: until
    // then (and with MQTT off) no device is connected here, and a command stays PENDING.
    let writeCommand: CommandWriter = () => false;
    const viaEventsTopic = role === 'api' || config.stream.oci !== undefined;
    const publishCommand = commandChangePublisher({
      viaEventsTopic,
      stream,
      local: (changed) => commandHub.publish(changed),
      logger: logger.child({ component: 'commands' }),
    });
    const commands = new CommandService(
      store,
      (command) => writeCommand(command),
      (command) => void publishCommand(command),
    );
    const offerCommand = (command: Command) =>
      void commands.offer(command).catch((error: unknown) => service.warn({ err: error, commandId: command.id }, 'could not offer a command to its device'));
    // The API listens before the consumer starts, so that a port in use or a wrong HOST stops
    // start-up before anything was read or applied; readings ingested meanwhile wait in the stream.
    // Set once started; the probes and callbacks below may read it before (undefined: starting).
    let fanout: Fanout | undefined = undefined;
    // Set once the API server started (health details may be asked for before).
    let cohortStats = (): CohortStats | undefined => undefined;
    const consumerCondition = (): ConsumerCondition => fanout?.condition?.() ?? { state: 'starting' };
    const consumerChecks = role === 'api' ? {} : { consumer: consumerCheck(consumerCondition) };
    const probes = createHealthProbes<HealthDetails>({
      role,
      live: consumerChecks,
      ready: {
        store: storeCheck(store),
        stream: streamCheck(produceHealth),
        ...(role === 'api' ? {} : { consumer: consumerCheck(consumerCondition, { ready: true }) }),
      },
      details: () => ({ consumer: fanout?.stats() ?? {}, subscriptions: hub.activeSubscriptions, cohorts: cohortStats() }),
    });

    // A device's MQTT connections drive its status too (the broker's last-will moment).
    const presence = new DevicePresence(
      store,
      statusChangePublisher({
        viaEventsTopic,
        stream,
        local: (changes) => statusHub.publish(changes),
        logger: service,
      }),
      logger.child({ component: 'liveness' }),
    );
    opened.push(() => presence.settled());
    const metrics = new ApiMetrics();
    watchDataFiles(metrics.registry, config);
    const directory = new DeviceDirectory(store);
    const keys = new KeyService(store, directory);
    // The connections this node serves; set once the API server started (nothing to close before).
    let serving: Pick<ApiServer, 'closeRevokedKeys' | 'closeDeletedDevice'> | undefined = undefined;
    // What this node does with a revocation, its own or one another API node announces.
    const revokedHere: RevocationHandlers = {
      revokedKeys: (keyIds) => serving?.closeRevokedKeys(keyIds),
      deviceDeleted: (tenantId, deviceId) => {
        directory.forget(tenantId, deviceId);
        hub.endDevice(tenantId, deviceId, deviceDeleted(deviceId));
        serving?.closeDeletedDevice(tenantId, deviceId);
      },
    };
    // Revocations read from the events topic (another node's, or this node's own again): a
    // deviceDeleted notice read after the id was registered again (a quick delete and register,
    // a late notice) must not end the new device's subscriptions and connections, so the store
    // is asked first, as the periodic check does. If it cannot answer, the notice is obeyed.
    const revokedElsewhere: RevocationHandlers = {
      revokedKeys: revokedHere.revokedKeys,
      deviceDeleted: (tenantId, deviceId) => {
        directory.forget(tenantId, deviceId);
        store.getDevices(tenantId, [deviceId]).then(
          ([again]) => {
            if (!again) revokedHere.deviceDeleted(tenantId, deviceId);
          },
          (error: unknown) => {
            service.warn({ err: error, tenantId, deviceId }, 'could not check a deleted device against the store; ending its subscriptions');
            revokedHere.deviceDeleted(tenantId, deviceId);
          },
        );
      },
    };
    // Revocations made here: handled here at once, and announced to the other API nodes.
    const revocations = revocationPublisher({ viaEventsTopic, stream, local: revokedHere, logger: service });
    keys.onRevoked(revocations.revokedKeys);
    const devices = new DeviceService({
      store,
      directory,
      keys,
      publishStatus: (changes) => statusHub.publish(changes),
      // Its keys stop working and their connections close; its readings subscriptions and MQTT connections end.
      onDeleted: (tenantId, deviceId, revokedKeyIds) => {
        keys.announceRevoked(revokedKeyIds);
        revocations.deviceDeleted(tenantId, deviceId);
      },
    });
    // One ingest service for every transport: GraphQL, POST /ingest and the MQTT bridge.
    const retention = new RetentionService(store, config.retention.defaults);
    const ingest = new IngestService({
      rawRetentionMs: (tenantId) => retention.rawReadingsRetentionMs(tenantId),
      stream,
      devices: directory,
      rules: config.validation,
      maxBatchSize: config.limits.maxBatchSize,
      eventTypePrefix: config.eventTypePrefix,
      // The writer thread rings it already (above).
      ...(readingsAppended ? {} : { onProduced: () => fanout?.wake() }),
      observer: metrics,
    });
    const bridge = createMqttBridge(config, ingest, metrics, logger.child({ component: 'mqtt-bridge' }));
    if (bridge) opened.push(() => bridge.close());
    const api = await startApiServer({
      config,
      logger: logger.child({ component: 'api' }),
      store,
      services: {
        ingest,
        store,
        devices,
        keys,
        anomalies: new AnomalyService(store, directory, anomalyChangePublisher({ viaEventsTopic, stream, order: anomalyOrder, logger: service })),
        hub,
        anomalyHub,
        anomaliesPublishedThrough: () => anomalyOrder.publishedThrough,
        statusHub,
        commands,
        commandHub,
        defaultHeartbeatTimeoutMs: config.liveness.defaultHeartbeatTimeoutMs,
        webhooks: new WebhookService(store, { allowPrivateNetworks: config.webhooks.allowPrivateNetworks }),
        retention,
        replayDeadLetter: (tenantId, id) =>
          replayDeadLetter({ store, stream, eventTypePrefix: config.eventTypePrefix }, tenantId, id).finally(() => fanout?.wake()),
        partitions: await stream.partitions('readings'),
        feedObserver: metrics,
        limits: config.limits,
      },
      probes,
      metrics,
      presence,
    });
    opened.push(() => api.close());
    writeCommand = (command) => api.writeCommand(command);
    serving = api;
    // Covers a revocation notice lost or late: what this node serves (the keys holding its
    // connections, the devices its readings subscriptions listen to) is checked against the store.
    const revocationCheck =
      config.revocationCheckMs === undefined
        ? undefined
        : new RevocationCheck({
            store,
            connectedKeyIds: () => api.connectedKeyIds(),
            revoked: (keyIds) => api.closeRevokedKeys(keyIds),
            subscribedDevices: () => hub.subscribedDevices(),
            // As revokedHere.deviceDeleted, but only for the subscriptions the check counted. The
            // device's MQTT connections close with its keys, which were revoked with it.
            deleted: (tenantId, deviceIds, mark) => {
              for (const deviceId of deviceIds) {
                directory.forget(tenantId, deviceId);
                hub.endDevice(tenantId, deviceId, deviceDeleted(deviceId), mark);
              }
            },
            intervalMs: config.revocationCheckMs,
            logger: logger.child({ component: 'api' }),
          });
    revocationCheck?.start();
    if (revocationCheck) opened.push(() => revocationCheck.stop());
    const hubs: Hubs = { hub, subscribers, anomalyHub, statusHub, anomalyOrder, commandHub, offerCommand, revocations: revokedElsewhere };
    const consumerMetrics = async () => [await (fanout?.metrics() ?? Promise.resolve([]))];
    const metricsServer = await startMetricsEndpoint(config, metrics.registry, consumerMetrics, logger);
    if (metricsServer) opened.push(() => metricsServer.close());
    const processMetrics = async () => [...(await metrics.registry.getMetricsAsJSON()), ...(await consumerMetrics()).flat()];
    const summary = new TrafficSummary(processMetrics, service);
    // Before the consumer: a wrong OCI identity stops start-up before anything is read.
    const monitoring = config.ociMonitoring ? await startOciMonitoring(config.ociMonitoring, processMetrics, metrics.registry, role, logger) : undefined;
    if (monitoring) opened.push(() => monitoring.stop());
    cohortStats = () => api.subscriptionCohorts();
    // Only once listening: a key generated by a start that then failed would never be shown.
    const generatedAdminKey = await bootstrapAdminKey(store, config.adminKey);
    const started =
      role === 'api'
        ? await eventsTopicTail(rawStream, logger, hubs)
        : config.stream.oci
          ? await consumerThreadOnSharedStream(config, rawStream, logger, hubs)
          : await inProcessConsumer(config, logger, hubs, readingsAppended);
    fanout = started;
    summary.start();
    // Once the consumer runs: what the bridge ingests is then applied as it arrives.
    bridge?.start();

    let closing: Promise<void> | undefined;
    return {
      role,
      ...api,
      metricsUrl: metricsServer?.url,
      generatedAdminKey,
      hub,
      anomalyHub,
      statusHub,
      commandHub,
      failed: started.failed,
      close() {
        // Requests in flight are answered first (they need the stream), then the consumer stops.
        closing ??= (async () => {
          summary.stop();
          await revocationCheck?.stop();
          // First: a message it is handing to the stream stays unacknowledged, for the broker to redeliver.
          await bridge?.close();
          await metricsServer?.close();
          await api.close();
          // The connections just closed took their devices OFFLINE: written before the store closes.
          await presence.settled();
          // After the last requests, before the consumer stops: the final minute is published with both threads' counts.
          await monitoring?.stop();
          await started.stop();
          await rawStream.close();
          await store.close();
        })();
        return closing;
      },
    };
  } catch (error) {
    for (const close of opened.reverse())
      await close().catch((closeError: unknown) => service.warn({ err: closeError }, 'could not close after a failed start'));
    throw error;
  }
}

interface Hubs {
  readonly hub: ReadingHub;
  /** What `hub` counts, shared with the consumer thread. */
  readonly subscribers: SubscriberCount;
  readonly anomalyHub: TenantHub<Anomaly>;
  readonly statusHub: TenantHub<DeviceStatusChange>;
  /** The way into anomalyHub: puts anomalies in seq order first. */
  readonly anomalyOrder: AnomalyOrder;
  readonly commandHub: TenantHub<Command>;
  /** A command heard from elsewhere (the events topic): written if its device is connected here and it is still PENDING. */
  readonly offerCommand: (command: Command) => void;
  /** A revocation announced on the events topic (by any API node, this one included). */
  readonly revocations: RevocationHandlers;
}

async function inProcessConsumer(config: Config, logger: Logger, hubs: Hubs, readingsAppended = new WakeSignal()): Promise<Fanout> {
  const consumer = new ConsumerThread(
    config,
    // With nobody subscribed there is nothing to route: skip parsing (a new subscriber starts
    // from the database watermark, so it needs none of these).
    (json, trace) =>
      hubs.hub.activeSubscriptions > 0 &&
      inSpanSync('deliver readings', { kind: SpanKind.CONSUMER }, () => hubs.hub.publish(JSON.parse(json) as PersistedReading[]), contextOf(trace)),
    (events) => {
      hubs.anomalyOrder.push(events.anomalies);
      hubs.statusHub.publish(events.statusChanges);
    },
    (expired) => hubs.commandHub.publish(expired),
    logger.child({ component: 'consumer' }),
    hubs.subscribers,
    readingsAppended,
  );
  await startedOrStopped(consumer);
  return {
    wake: () => consumer.wake(),
    stats: () => consumer.stats(),
    metrics: () => consumer.metrics(),
    condition: () => consumer.condition(),
    failed: consumer.crashed,
    stop: async () => {
      await consumer.stop();
      await hubs.anomalyOrder.settled();
    },
  };
}

/**
 * Role `all` on a shared stream (OCI Streaming): other processes may hold some partitions, so
 * subscribers are fed from the events topic like on API nodes, and the consumer thread
 * publishes there (consumer-worker.ts), never only to this process.
 */
async function consumerThreadOnSharedStream(config: Config, stream: Stream, logger: Logger, hubs: Hubs): Promise<Fanout> {
  const tail = await eventsTopicTail(stream, logger, hubs);
  const consumer = new ConsumerThread(
    config,
    () => {},
    () => {},
    () => {},
    logger.child({ component: 'consumer' }),
  );
  try {
    await startedOrStopped(consumer);
  } catch (error) {
    await tail.stop();
    throw error;
  }
  return {
    wake: () => consumer.wake(),
    stats: () => consumer.stats(),
    metrics: () => consumer.metrics(),
    condition: () => consumer.condition(),
    failed: consumer.crashed,
    stop: async () => {
      await consumer.stop();
      await tail.stop();
    },
  };
}

async function eventsTopicTail(stream: Stream, logger: Logger, hubs: Hubs): Promise<Fanout> {
  const events = logger.child({ component: 'events' });
  const anomalies = hubs.anomalyOrder;
  const tail = new EventTail(
    stream,
    {
      readings: (readings) => hubs.hub.activeSubscriptions > 0 && hubs.hub.publish(readings),
      anomalies: (published) => anomalies.push(published),
      statusChanges: (changes) => hubs.statusHub.publish(changes),
      commands: (changed) => {
        hubs.commandHub.publish(changed);
        for (const command of changed) if (command.status === 'PENDING') hubs.offerCommand(command);
      },
      revokedKeys: (keyIds) => hubs.revocations.revokedKeys(keyIds),
      deviceDeleted: (tenantId, deviceId) => hubs.revocations.deviceDeleted(tenantId, deviceId),
    },
    events,
  );
  await tail.start();
  const stop = async () => {
    await tail.stop();
    await anomalies.settled();
  };
  // An API node has no consumer to wake: the consumer process polls the stream.
  return { wake: () => {}, stats: () => ({ fanout: 'events topic' }), metrics: async () => [], failed: new Promise<never>(() => {}), stop };
}

/** Serves GET /metrics when TELEMETRY_METRICS_PORT is set: this thread's registry and the others' JSON. */
async function startMetricsEndpoint(
  config: Config,
  registry: Registry,
  others: () => Promise<MetricsJson[]>,
  logger: Logger,
): Promise<MetricsServer | undefined> {
  if (config.metricsPort === undefined) return undefined;
  return startMetricsServer({ ...config, port: config.metricsPort }, async () => exposition(registry, await others()), logger.child({ component: 'service' }));
}

/** Waits for the consumer thread to start; stops the thread if it could not. */
async function startedOrStopped(consumer: ConsumerThread): Promise<void> {
  try {
    await consumer.ready();
  } catch (error) {
    await consumer.stop();
    throw error;
  }
}

/**
 * The consumer role: persister, liveness sweep and webhook deliveries, publishing what it
 * commits to the `events` topic for the API nodes; GET /healthz and /readyz on the configured
 * port for probes (listening first, so that a port in use fails start-up before the consumer
 * reads anything). Republishes whatever a previous run committed but did not publish before it starts.
 */
async function startConsumerRole(config: Config, logger: Logger): Promise<RunningApp> {
  let runtime: ConsumerRuntime | undefined;
  const startedAt = Date.now();
  const condition = (): ConsumerCondition => {
    const now = Date.now();
    // Same thread: its report is always current (a blocked thread cannot answer a probe at all).
    return judgeConsumer(runtime?.persister.snapshot(), now, startedAt, now, config.consumer.stuckAfterMs);
  };
  const probes = createHealthProbes<HealthDetails>({
    role: 'consumer',
    live: { consumer: consumerCheck(condition) },
    ready: {
      consumer: consumerCheck(condition, { ready: true }),
      store: () => (runtime ? storeCheck(runtime.store)() : { ok: false, reason: 'the consumer is starting' }),
    },
    details: () => (runtime ? { consumer: reportStats(runtime.persister.snapshot()) } : {}),
  });
  const health = await startHealthServer(config, probes);
  // This thread runs the consumer: the process's default metrics and its own, in one scrape.
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  watchDataFiles(registry, config);
  let metricsServer: MetricsServer | undefined;
  let monitoring: { stop(): Promise<void> } | undefined;
  const processMetrics = async () => [...(await registry.getMetricsAsJSON()), ...(runtime ? await runtime.metrics.json() : [])];
  try {
    metricsServer = await startMetricsEndpoint(config, registry, async () => [runtime ? await runtime.metrics.json() : []], logger);
    if (config.ociMonitoring) monitoring = await startOciMonitoring(config.ociMonitoring, processMetrics, registry, 'consumer', logger);
    runtime = await startPublishingConsumer(config, logger);
  } catch (error) {
    await monitoring?.stop();
    await metricsServer?.close();
    await health.close();
    throw error;
  }
  const metricsEndpoint = metricsServer;
  const started = runtime;
  const summary = new TrafficSummary(processMetrics, logger.child({ component: 'consumer' }));
  summary.start();
  let closing: Promise<void> | undefined;
  return {
    role: 'consumer',
    port: health.port,
    url: health.url,
    wsUrl: health.url.replace(/^http/, 'ws'),
    mqttUrl: undefined,
    metricsUrl: metricsEndpoint?.url,
    generatedAdminKey: undefined,
    hub: new ReadingHub(),
    anomalyHub: new TenantHub<Anomaly>(),
    statusHub: new TenantHub<DeviceStatusChange>(),
    commandHub: new TenantHub<Command>(),
    subscriptionCohorts: () => ({ cohorts: 0, members: 0, catchingUp: 0 }),
    failed: new Promise<never>(() => {}),
    close() {
      closing ??= (async () => {
        summary.stop();
        await metricsEndpoint?.close();
        await health.close();
        await monitoring?.stop();
        await started.close();
      })();
      return closing;
    },
  };
}
