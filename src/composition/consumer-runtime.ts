import type { Config } from '../config';
import { EventPublisher } from '../consumers/event-publisher';
import type { DetectionEvents } from '../consumers/batch-applier';
import { ReadingPersister } from '../consumers/reading-persister';
import type { Command } from '../domain/command';
import { commandChangePublisher } from './command-changes';
import type { PersistedReading } from '../domain/reading';
import { DeviceDirectory } from '../devices/device-directory';
import type { Logger } from '../logger';
import { EmbeddedStream } from '../stream/embedded/embedded-stream';
import type { Store } from '../store/store';
import type { Stream } from '../stream/stream';
import { openStore, openStream, storeFile } from './backends';
import { consumerJobs } from './consumer-jobs';
import { startCheckpointThread } from './checkpoint-thread';
import { ConsumerMetrics } from '../metrics/consumer-metrics';
import { embeddedStreamLag } from './stream-lag';

export interface Backends {
  readonly store: Store;
  readonly stream: Stream;
}

export interface ConsumerRuntime {
  readonly persister: ReadingPersister;
  /** The consumer's metrics (a registry of their own, merged into the process's scrape). */
  readonly metrics: ConsumerMetrics;
  /** The runtime's store connection (for health checks). */
  readonly store: Store;
  close(): Promise<void>;
}

export interface ConsumerOutputs {
  readonly readings: (readings: PersistedReading[]) => void;
  readonly events: (events: DetectionEvents) => void;
  /** Commands the expiry sweep moved to EXPIRED, for commandUpdated. */
  readonly commands: (commands: Command[]) => void;
  /** Partitions taken over from another consumer (see ReadingPersisterOptions.onPartitionsGained). */
  readonly partitionsGained?: (partitions: readonly number[]) => Promise<void>;
}

/**
 * Starts the persister and the background jobs (composition/consumer-jobs.ts: liveness sweep, webhook deliveries, retention, the
 * removal of deleted devices' data, command expiry, embedded stream trimming, each on its timer) with their own store and stream connections (they run in the consumer thread,
 * the only writer of readings, anomalies and statuses).
 * `logger` is the root logger: each part gets a child with its own component.
 */
export async function startConsumer(config: Config, outputs: ConsumerOutputs, logger: Logger, backends?: Backends): Promise<ConsumerRuntime> {
  // Backends passed in belong to the caller, which closes them; otherwise they are ours.
  const store = backends?.store ?? (await openStore(config));
  const stream = backends?.stream ?? (await openStream(config, logger.child({ component: 'stream' })));
  const consumerLogger = logger.child({ component: 'consumer' });
  // The persister is made below: the metrics read it only when a scrape asks, once this runtime is returned.
  const metrics = new ConsumerMetrics(
    () => persister.snapshot(),
    stream instanceof EmbeddedStream ? () => embeddedStreamLag(stream, persister.snapshot().positions) : undefined,
  );
  const jobs = await consumerJobs(
    config,
    { store, stream },
    {
      events: (events) => publishEvents(events),
      commands: outputs.commands,
      webhookAttempt: (outcome) => metrics.webhookAttempt(outcome),
      retentionRemoved: (kind, rows) => metrics.retentionRemoved(kind, rows),
      deletedDeviceDataRemoved: (rows) => metrics.deletedDeviceDataRemoved(rows),
    },
    logger,
  );
  const publishEvents = (events: DetectionEvents) => {
    metrics.anomaliesRaised(events.anomalies);
    outputs.events(events);
    if (events.anomalies.length > 0) jobs.webhooks.wake();
  };
  const persister = new ReadingPersister({
    stream,
    store,
    devices: new DeviceDirectory(store),
    publish: outputs.readings,
    publishEvents,
    logger: consumerLogger,
    batchSize: config.consumer.batchSize,
    pollIntervalMs: config.consumer.pollIntervalMs,
    lingerMs: config.consumer.lingerMs,
    lingerAboveMessages: config.consumer.lingerAboveMessages,
    instance: config.consumer.instance,
    eventTypePrefix: config.eventTypePrefix,
    onPartitionsGained: outputs.partitionsGained,
    onBatchApplied: (seconds) => metrics.batchApplied(seconds),
    detection: config.anomalies,
  });
  await persister.start();
  // The embedded store's log is copied back by a thread of its own, not inside the batches' commits.
  const checkpoints = config.oracle ? undefined : startCheckpointThread(storeFile(config), consumerLogger);
  jobs.start();
  return {
    persister,
    metrics,
    store,
    async close() {
      try {
        await jobs.stop();
        await persister.stop();
      } finally {
        await checkpoints?.stop();
        if (!backends) {
          await stream.close();
          await store.close();
        }
      }
    },
  };
}

/**
 * A consumer that publishes what it commits to the `events` topic, for API nodes to tail (the
 * consumer role, and role `all` on a shared stream). First republishes whatever a previous run
 * committed but did not publish; a consumer taking partitions over does the same for them.
 */
export async function startPublishingConsumer(config: Config, logger: Logger): Promise<ConsumerRuntime> {
  const store = await openStore(config);
  let stream: Stream | undefined;
  try {
    stream = await openStream(config, logger.child({ component: 'stream' }));
    return await publishingConsumer(config, logger, store, stream);
  } catch (error) {
    // A failed start leaves no connection open.
    await stream?.close();
    await store.close();
    throw error;
  }
}

async function publishingConsumer(config: Config, logger: Logger, store: Store, stream: Stream): Promise<ConsumerRuntime> {
  const publisher = new EventPublisher(stream, store, logger.child({ component: 'events' }), config.eventTypePrefix);
  await publisher.recover(await stream.partitions('readings'));
  const publishCommand = commandChangePublisher({ viaEventsTopic: true, stream, local: () => {}, logger: logger.child({ component: 'events' }) });
  const runtime = await startConsumer(
    config,
    {
      readings: (readings) => publisher.publish(readings),
      events: (events) => publisher.publish([], events),
      commands: (commands) => commands.forEach((command) => void publishCommand(command)),
      partitionsGained: (partitions) => publisher.recover(partitions),
    },
    logger,
    { store, stream },
  );
  return {
    persister: runtime.persister,
    metrics: runtime.metrics,
    store,
    async close() {
      await runtime.close();
      await publisher.flushed();
      await stream.close();
      await store.close();
    },
  };
}
