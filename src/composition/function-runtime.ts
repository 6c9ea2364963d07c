import type { Config } from '../config';
import { BatchApplier } from '../consumers/batch-applier';
import { DeliveredBatchConsumer, type DeliveredBatchResult } from '../consumers/delivered-batch-consumer';
import { EventPublisher } from '../consumers/event-publisher';
import { DeviceDirectory } from '../devices/device-directory';
import { parseConnectorBatch } from '../domain/connector-hub-batch';
import { TelemetryError } from '../domain/errors';
import type { RetryPolicy } from '../domain/retry';
import type { Logger } from '../logger';
import type { Store } from '../store/store';
import type { Stream } from '../stream/stream';
import { openStore, openStream } from './backends';

/** The consumer as a function: one call per batch a Connector Hub connector delivers. */
export interface ConsumerFunction {
  /**
   * Applies one delivered batch (the parsed JSON body) and resolves once it is committed and
   * published; rejects when it could not be (the connector delivers it again).
   */
  invoke(body: unknown): Promise<DeliveredBatchResult>;
  close(): Promise<void>;
}

export interface ConsumerFunctionOptions {
  /** Backends to use instead of those the configuration names; they stay the caller's to close. */
  readonly backends?: { readonly store: Store; readonly stream: Stream };
  /**
   * Attempts at a batch while the database is unavailable, within one invocation; then the
   * invocation fails and the connector retries it later. @default 3
   */
  readonly maxAttempts?: number;
  readonly retryPolicy?: RetryPolicy;
  /** Most messages one invocation reads from the stream to fill gaps (DeliveredBatchConsumerOptions). @default 5000 */
  readonly maxFilledMessages?: number;
}

/**
 * Wires the function consumer: the same batch pipeline as the long-running consumer
 * (BatchApplier -> applyBatch), the watermarks it keeps, and the events-topic publisher. The
 * backends are opened on the first invocation, not at load: the function's container answers
 * the platform's first call sooner. That first invocation also republishes what an earlier
 * instance committed but did not publish (it may have been frozen or killed in between).
 */
export function createConsumerFunction(config: Config, logger: Logger, options: ConsumerFunctionOptions = {}): ConsumerFunction {
  const maxAttempts = options.maxAttempts ?? 3;
  let ready: Promise<{ consumer: DeliveredBatchConsumer; store: Store; stream: Stream }> | undefined;
  /** Database attempts in the current invocation (the platform sends one call at a time per container). */
  let attempts = 0;

  const start = async () => {
    const store = options.backends?.store ?? (await openStore(config));
    let stream: Stream | undefined;
    try {
      stream = options.backends?.stream ?? (await openStream(config, logger.child({ component: 'stream' })));
      const publisher = new EventPublisher(stream, store, logger.child({ component: 'events' }), config.eventTypePrefix);
      await publisher.recover(await stream.partitions('readings'));
      const applier = new BatchApplier({
        store,
        devices: new DeviceDirectory(store),
        logger: logger.child({ component: 'consumer' }),
        eventTypePrefix: config.eventTypePrefix,
        detection: config.anomalies,
        retryPolicy: options.retryPolicy,
        // Counted per invocation: the connector's own retry takes over after.
        shouldStopRetrying: () => attempts >= maxAttempts - 1,
        onRetry: () => {
          attempts++;
        },
      });
      const consumer = new DeliveredBatchConsumer({
        applier,
        store,
        stream,
        publisher,
        logger: logger.child({ component: 'consumer' }),
        maxFilledMessages: options.maxFilledMessages,
      });
      return { consumer, store, stream };
    } catch (error) {
      if (!options.backends) {
        await stream?.close();
        await store.close();
      }
      throw error;
    }
  };

  return {
    async invoke(body) {
      const parsed = parseConnectorBatch(body);
      if (!parsed.ok) throw new TelemetryError('BAD_USER_INPUT', `not a Connector Hub batch: ${parsed.reason}`);
      // A failed start is not kept: the next invocation tries again.
      ready ??= start().catch((error: unknown) => {
        ready = undefined;
        throw error;
      });
      const { consumer } = await ready;
      attempts = 0;
      return consumer.consume(parsed.messages);
    },
    async close() {
      if (!ready || options.backends) return;
      const { store, stream } = await ready.catch(() => ({ store: undefined, stream: undefined }));
      await stream?.close();
      await store?.close();
    },
  };
}
