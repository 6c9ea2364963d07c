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
import { isJobsOnlyInvocation } from '../domain/function-invocation';
import { openStore, openStream } from './backends';
import { commandChangePublisher } from './command-changes';
import { consumerJobs, type ConsumerJobs, type JobOutcomes } from './consumer-jobs';

/**
 * The function's answer: what the batch did (absent on a jobs-only invocation), and how each
 * background job went (consumer-jobs.ts: 'ran', 'more', 'not-due', 'running' or 'failed').
 */
/**
 * Longest the background jobs may run in one invocation, ms, after its batch (func.yaml gives an
 * invocation 120 s): a pass under way stops at its next unit, and jobs not started are deferred
 * to the next invocation. A unit already started (one webhook POST, up to
 * TELEMETRY_WEBHOOK_TIMEOUT_MS) is not cut short.
 */
export const JOBS_TIME_PER_INVOCATION_MS = 30_000;

export type ConsumerFunctionAnswer = Partial<DeliveredBatchResult> & { readonly jobs: JobOutcomes };

/** The consumer as a function: one call per batch a Connector Hub connector delivers, and jobs-only calls. */
export interface ConsumerFunction {
  /**
   * Applies one delivered batch (the parsed JSON body) and resolves once it is committed and
   * published, then runs the background jobs that are due, each pass bounded; rejects when the
   * batch could not be applied (the connector delivers it again). A failing job is logged and
   * reported in the answer, never fails the call. A jobs-only body (domain/function-invocation.ts)
   * runs the due jobs alone.
   */
  invoke(body: unknown): Promise<ConsumerFunctionAnswer>;
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
 * (BatchApplier -> applyBatch), the watermarks it keeps, the events-topic publisher, and the
 * same background jobs (consumer-jobs.ts), driven here by the invocations instead of timers:
 * when each last ran is known to this process only, so a cold start finds them all due. The
 * backends are opened on the first invocation, not at load: the function's container answers
 * the platform's first call sooner. That first invocation also republishes what an earlier
 * instance committed but did not publish (it may have been frozen or killed in between).
 */
export function createConsumerFunction(config: Config, logger: Logger, options: ConsumerFunctionOptions = {}): ConsumerFunction {
  const maxAttempts = options.maxAttempts ?? 3;
  let ready: Promise<{ consumer: DeliveredBatchConsumer; jobs: ConsumerJobs; published: () => Promise<void>; store: Store; stream: Stream }> | undefined;
  /** Database attempts in the current invocation (the platform sends one call at a time per container). */
  let attempts = 0;

  const start = async () => {
    const store = options.backends?.store ?? (await openStore(config));
    let stream: Stream | undefined;
    try {
      stream = options.backends?.stream ?? (await openStream(config, logger.child({ component: 'stream' })));
      const eventsLogger = logger.child({ component: 'events' });
      const publisher = new EventPublisher(stream, store, eventsLogger, config.eventTypePrefix);
      await publisher.recover(await stream.partitions('readings'));
      // What the jobs commit goes to the events topic as in the consumer role; the invocation
      // waits for it before answering (the platform may freeze the container after).
      const publishCommand = commandChangePublisher({ viaEventsTopic: true, stream, local: () => {}, logger: eventsLogger });
      let commandsPublished: Promise<unknown>[] = [];
      const jobs = await consumerJobs(
        config,
        { store, stream },
        {
          events: (events) => publisher.publish([], events),
          commands: (commands) => commandsPublished.push(...commands.map(publishCommand)),
        },
        logger,
      );
      const published = async () => {
        const pending = commandsPublished;
        commandsPublished = [];
        await Promise.all([publisher.flushed(), ...pending]);
      };
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
        publisher: {
          publish(readings, events) {
            publisher.publish(readings, events);
            // Their webhook deliveries are due now, not at the job's next interval.
            if (events && events.anomalies.length > 0) jobs.webhooks.wake();
          },
          flushed: () => publisher.flushed(),
        },
        logger: logger.child({ component: 'consumer' }),
        maxFilledMessages: options.maxFilledMessages,
      });
      return { consumer, jobs, published, store, stream };
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
      const jobsOnly = isJobsOnlyInvocation(body);
      const parsed = jobsOnly ? undefined : parseConnectorBatch(body);
      if (parsed && !parsed.ok) throw new TelemetryError('BAD_USER_INPUT', `not a Connector Hub batch: ${parsed.reason}`);
      // A failed start is not kept: the next invocation tries again.
      ready ??= start().catch((error: unknown) => {
        ready = undefined;
        throw error;
      });
      const { consumer, jobs, published } = await ready;
      attempts = 0;
      const batch = parsed ? await consumer.consume(parsed.messages) : {};
      // The batch is committed and published: from here on nothing fails the call.
      // Bounded in time as well as in work, so the invocation answers well within its timeout.
      const outcomes = await jobs.runDue(Date.now(), AbortSignal.timeout(JOBS_TIME_PER_INVOCATION_MS));
      await published().catch((error: unknown) =>
        logger.warn({ err: error }, 'could not publish what the background jobs committed (the next start republishes anomalies)'),
      );
      return { ...batch, jobs: outcomes };
    },
    async close() {
      if (!ready) return;
      const started = await ready.catch(() => undefined);
      await started?.jobs.stop();
      if (options.backends) return;
      await started?.stream.close();
      await started?.store.close();
    },
  };
}
