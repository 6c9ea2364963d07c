import type { Config } from '../config';
import { CommandExpiry } from '../commands/command-expiry';
import { CommandService } from '../commands/command-service';
import type { DetectionEvents } from '../consumers/batch-applier';
import { LivenessSweep } from '../consumers/liveness-sweep';
import { PERSISTER_GROUP } from '../consumers/reading-persister';
import type { Command } from '../domain/command';
import type { RetentionKind } from '../domain/retention';
import { PeriodicJob, type JobOutcome } from '../jobs/periodic-job';
import type { Logger } from '../logger';
import { RetentionEnforcer } from '../retention/retention-enforcer';
import { DeletedDeviceDataRemover } from '../devices/deleted-device-data-remover';
import type { Store } from '../store/store';
import { EmbeddedStream } from '../stream/embedded/embedded-stream';
import type { Stream } from '../stream/stream';
import { WebhookDeliverer, type DeliveryAttemptOutcome } from '../webhooks/webhook-deliverer';
import { openNotifications } from './backends';

/** The consumer's background jobs, by the name logs and the function's answer give them. */
export type ConsumerJobName =
  /** Online devices silent past their heartbeat timeout go OFFLINE (consumers/liveness-sweep.ts). */
  | 'liveness'
  /** Due webhook and OCI Notifications deliveries are sent (webhooks/webhook-deliverer.ts). */
  | 'webhooks'
  /** What the retention settings let go is deleted (retention/retention-enforcer.ts). */
  | 'retention'
  /** Commands past their deadline become EXPIRED (commands/command-expiry.ts). */
  | 'command-expiry'
  /** The readings, rollups and event ids of devices deleted with keepData: false go (devices/deleted-device-data-remover.ts). */
  | 'deleted-device-data'
  /** The embedded stream log drops old messages (OCI Streaming trims itself: no such job there). */
  | 'stream-trim';

/** What one round of runDue did, per job. */
export type JobOutcomes = Partial<Record<ConsumerJobName, JobOutcome>>;

/**
 * Most work one bounded pass does (runIfDue, the OCI Function's mode), in each job's own unit.
 * Sized so that the jobs of one invocation take a few seconds at most against a healthy database
 * (the function's timeout is 120 s): what is left is done by the next invocations, since a job
 * that stopped at its limit stays due.
 */
const FUNCTION_PASS_LIMITS: Record<ConsumerJobName, number> = {
  /** Devices taken offline (one transaction). */
  liveness: 1000,
  /** Deliveries sent, 20 at a time, each at most TELEMETRY_WEBHOOK_TIMEOUT_MS. */
  webhooks: 60,
  /** Rows deleted, in batches of TELEMETRY_RETENTION_BATCH_ROWS. */
  retention: 20_000,
  /** Commands expired, one compare-and-set each. */
  'command-expiry': 500,
  /** Rows deleted, in steps of TELEMETRY_RETENTION_BATCH_ROWS per table. */
  'deleted-device-data': 20_000,
  /** Messages dropped from the embedded log. */
  'stream-trim': 50_000,
};

/** How often the embedded stream log is trimmed, ms (its retention is counted in hours). */
const STREAM_TRIM_INTERVAL_MS = 60_000;

/** Most commands one expiry batch moves (each is its own small write). */
const COMMAND_EXPIRY_BATCH = 100;

export interface ConsumerJobOutputs {
  /** What the liveness sweep committed (devices gone offline, their SILENCE anomalies). */
  readonly events: (events: DetectionEvents) => void;
  /** Commands the expiry sweep moved to EXPIRED, for commandUpdated. */
  readonly commands: (commands: Command[]) => void;
  /** Told how each delivery attempt ended (metrics). */
  readonly webhookAttempt?: (outcome: DeliveryAttemptOutcome) => void;
  /** Told the rows each retention batch removed (metrics). */
  readonly retentionRemoved?: (kind: RetentionKind, rows: number) => void;
  /** Told the rows each step of removing deleted devices' data removed (metrics). */
  readonly deletedDeviceDataRemoved?: (rows: number) => void;
}

/** The consumer's background jobs, in the order runDue runs them. */
export interface ConsumerJobs {
  readonly all: readonly PeriodicJob<ConsumerJobName>[];
  /** The webhooks job, to wake when a batch or a sweep raised anomalies. */
  readonly webhooks: PeriodicJob<ConsumerJobName>;
  /** Long-running mode: every job on its own timer. */
  start(): void;
  /** Stops every timer and waits for the passes under way. */
  stop(): Promise<void>;
  /** Driven mode: runs each job that is due, one after the other, each pass bounded. */
  /**
   * Driven mode: runs each job that is due, one after the other, each pass bounded; once
   * `deadline` aborts, the pass under way stops between units and the jobs not started are
   * `deferred` (they stay due).
   */
  runDue(now?: number, deadline?: AbortSignal): Promise<JobOutcomes>;
}

/**
 * Builds the consumer's background jobs from the configuration, the store and stream, and
 * where their results go: the same jobs, settings and passes for the long-running consumer
 * (consumer-runtime.ts: timers) and the OCI Function (function-runtime.ts: after each batch,
 * and on jobs-only invocations). They write readings' neighbours (statuses, anomalies,
 * deliveries, commands) and delete rows, so they run where the consumer does.
 */
export async function consumerJobs(
  config: Config,
  backends: { store: Store; stream: Stream },
  outputs: ConsumerJobOutputs,
  logger: Logger,
): Promise<ConsumerJobs> {
  const { store, stream } = backends;
  const job = (name: ConsumerJobName, intervalMs: number, pass: (limit: number | undefined, signal: AbortSignal) => Promise<boolean>, jobLogger: Logger) =>
    new PeriodicJob<ConsumerJobName>({ name, intervalMs, limit: FUNCTION_PASS_LIMITS[name] }, pass, jobLogger);

  const webhooksLogger = logger.child({ component: 'webhooks' });
  const deliverer = new WebhookDeliverer(
    store,
    {
      pollIntervalMs: config.webhooks.pollIntervalMs,
      maxAttempts: config.webhooks.maxAttempts,
      timeoutMs: config.webhooks.timeoutMs,
      allowPrivateNetworks: config.webhooks.allowPrivateNetworks,
      notifications: await openNotifications(config, webhooksLogger),
      // Doubling from the base (full jitter), capped at one hour: at the default base, 8 attempts
      // are spread over at most about 4 minutes.
      retry: { initialDelayMs: config.webhooks.retryBaseMs, multiplier: 2, maxDelayMs: 3_600_000 },
    },
    webhooksLogger,
    outputs.webhookAttempt,
  );
  const webhooks = job('webhooks', config.webhooks.pollIntervalMs, (limit, signal) => deliverer.run(limit, signal), webhooksLogger);

  const liveness = new LivenessSweep(store, config.liveness, (events) => {
    outputs.events(events);
    if (events.anomalies.length > 0) webhooks.wake();
  });
  // Removals pause between their steps where writers queue for one lock: the embedded store.
  const paced = !config.oracle;
  const enforcer = new RetentionEnforcer(
    store,
    { ...config.retention, pacedBatches: paced },
    logger.child({ component: 'retention' }),
    outputs.retentionRemoved,
  );
  const remover = new DeletedDeviceDataRemover(
    store,
    { batchRows: config.retention.batchRows, paced },
    logger.child({ component: 'retention' }),
    outputs.deletedDeviceDataRemoved,
  );
  // The consumer holds no device connection: this service only expires commands.
  const commands = new CommandService(
    store,
    () => false,
    (command) => outputs.commands([command]),
  );
  const commandsLogger = logger.child({ component: 'commands' });
  const expiry = new CommandExpiry(commands, { intervalMs: config.commands.expiryCheckMs, batchSize: COMMAND_EXPIRY_BATCH }, commandsLogger);

  const all = [
    job('liveness', config.liveness.checkIntervalMs, (limit) => liveness.run(limit), logger.child({ component: 'liveness' })),
    job('command-expiry', config.commands.expiryCheckMs, (limit, signal) => expiry.run(limit, signal), commandsLogger),
    webhooks,
    job('retention', config.retention.intervalMs, (limit, signal) => enforcer.run(limit, signal), logger.child({ component: 'retention' })),
    job(
      'deleted-device-data',
      config.retention.deletedDeviceDataCheckMs,
      (limit, signal) => remover.run(limit, signal),
      logger.child({ component: 'retention' }),
    ),
  ];
  // The embedded log trims itself here; OCI Streaming keeps messages for the stream's own
  // retention period (set when the stream is created).
  if (stream instanceof EmbeddedStream) {
    const consumerLogger = logger.child({ component: 'consumer' });
    all.push(job('stream-trim', STREAM_TRIM_INTERVAL_MS, streamTrim(stream, config, consumerLogger), consumerLogger));
  }

  return {
    all,
    webhooks,
    start() {
      for (const each of all) each.start();
    },
    async stop() {
      await Promise.all(all.map((each) => each.stop()));
    },
    async runDue(now = Date.now(), deadline?: AbortSignal) {
      const outcomes: JobOutcomes = {};
      // One after the other: each takes the database's write lock in turns with the others.
      for (const each of all) outcomes[each.name] = await each.runIfDue(now, deadline);
      return outcomes;
    },
  };
}

/** One pass of stream trimming: the embedded log's messages past its retention, those the persister has not committed excepted. */
function streamTrim(stream: EmbeddedStream, config: Config, logger: Logger) {
  return async (limit: number | undefined): Promise<boolean> => {
    const deleted = stream.deleteOlderThan(Date.now() - config.stream.retentionMs, { readings: PERSISTER_GROUP }, limit);
    if (deleted > 0) logger.info({ deleted }, 'stream retention removed old messages');
    return limit !== undefined && deleted >= limit;
  };
}
