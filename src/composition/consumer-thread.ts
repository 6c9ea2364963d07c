import path from 'node:path';
import type { TraceCarrier } from '../domain/cloud-event';
import { Worker } from 'node:worker_threads';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { judgeConsumer, type ConsumerCondition } from './consumer-health';
import type { DetectionEvents } from '../consumers/batch-applier';
import type { Command } from '../domain/command';
import type { PersisterStats } from '../consumers/reading-persister';
import { WakeSignal } from '../stream/wake-signal';
import { SubscriberCount } from './subscriber-count';
import type { MetricsJson } from '../metrics/consumer-metrics';

/** How long a scrape waits for the consumer thread's metrics before it goes without them. */
const METRICS_TIMEOUT_MS = 2000;

/** PersisterStats as it crosses the thread boundary (a Map does not survive JSON). */
export type ReportedStats = Omit<PersisterStats, 'positions'> & { readonly positions: Record<number, number> };

export function reportStats(stats: PersisterStats): ReportedStats {
  return { ...stats, positions: Object.fromEntries(stats.positions) };
}

/** Messages between the API thread and the consumer worker. */
export type ToConsumer = { readonly type: 'stop' } | { readonly type: 'metrics'; readonly id: number };

/** What the worker starts with. */
export interface ConsumerWorkerData {
  readonly config: Config;
  /** The WakeSignal rung after each produce (by the embedded log's writer thread, or the API thread). */
  readonly wakeBuffer: SharedArrayBuffer;
  /** The API thread's SubscriberCount: with no subscriber, persisted readings are not posted. */
  readonly subscribersBuffer: SharedArrayBuffer;
}
export type FromConsumer =
  | { readonly type: 'ready' }
  /** JSON text of PersistedReading[]: one native stringify/parse beats structured clone of thousands of objects. */
  | { readonly type: 'persisted'; readonly readingsJson: string; /** The consumer's publish span, when tracing. */ readonly trace?: TraceCarrier }
  /** Anomalies and device status changes, committed (DetectionEvents). */
  | { readonly type: 'events'; readonly events: DetectionEvents }
  /** Commands the expiry sweep moved to EXPIRED. */
  | { readonly type: 'commands'; readonly commands: Command[] }
  | { readonly type: 'stats'; readonly stats: ReportedStats }
  /** The answer to a 'metrics' request: the consumer's registry as prom-client JSON. */
  | { readonly type: 'metrics'; readonly id: number; readonly metrics: MetricsJson }
  | { readonly type: 'stopped' }
  | { readonly type: 'failed'; readonly message: string };

/**
 * Runs the consumer in a worker thread: better-sqlite3 is synchronous, so the heavy batch
 * writes must not share the event loop that serves requests.
 */
export class ConsumerThread {
  private readonly worker: Worker;
  private stopping = false;
  private lastStats: ReportedStats | undefined;
  private reportedAt = Date.now();
  private readonly startedAt = Date.now();
  private readonly exited: Promise<void>;
  private readonly stuckAfterMs: number;
  private metricsRequests = 0;
  private readonly metricsWaiting = new Map<number, (metrics: MetricsJson) => void>();
  /** Rejects if the consumer dies on its own: the process should then exit and be restarted. */
  readonly crashed: Promise<never>;

  constructor(
    config: Config,
    onPersisted: (readingsJson: string, trace: TraceCarrier | undefined) => void,
    onEvents: (events: DetectionEvents) => void,
    onCommands: (commands: Command[]) => void,
    private readonly logger: Logger,
    /** Kept by the API thread's ReadingHub; a consumer whose readings nobody takes gets a count that stays 0. */
    subscribers: SubscriberCount = new SubscriberCount(),
    /** Rung when readings were produced: by wake(), and by whoever else holds it (the embedded log's writer). */
    private readonly wakeSignal: WakeSignal = new WakeSignal(),
  ) {
    this.stuckAfterMs = config.consumer.stuckAfterMs;
    this.worker = new Worker(path.join(__dirname, 'consumer-worker.js'), {
      workerData: { config, wakeBuffer: this.wakeSignal.buffer, subscribersBuffer: subscribers.buffer } satisfies ConsumerWorkerData,
    });
    this.exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.on('message', (message: FromConsumer) => {
      if (message.type === 'persisted') onPersisted(message.readingsJson, message.trace);
      else if (message.type === 'events') onEvents(message.events);
      else if (message.type === 'commands') onCommands(message.commands);
      else if (message.type === 'metrics') this.metricsWaiting.get(message.id)?.(message.metrics);
      else if (message.type === 'stats') {
        this.lastStats = message.stats;
        this.reportedAt = Date.now();
      }
    });
    this.crashed = new Promise<never>((_resolve, reject) => {
      this.worker.on('error', (error) => {
        logger.error({ err: error }, 'consumer worker crashed');
        reject(error);
      });
      this.worker.on('exit', (code) => {
        if (!this.stopping) reject(new Error(`consumer worker exited unexpectedly with code ${code}`));
      });
    });
    this.crashed.catch(() => {}); // observed by whoever awaits it; never an unhandled rejection
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

  /** New messages were produced: the consumer applies them now rather than at its next poll. */
  wake(): void {
    this.wakeSignal.ring();
  }

  /** The worker's last report (every 250 ms); empty before the first. */
  stats(): Partial<ReportedStats> {
    return this.lastStats ?? {};
  }

  /**
   * The consumer's metrics, asked for when a scrape comes (nothing is sent otherwise). A
   * thread too busy to answer within 2 s, or stopped, gives none: the scrape still answers
   * with the API thread's metrics, and the consumer's health says why.
   */
  metrics(): Promise<MetricsJson> {
    const id = ++this.metricsRequests;
    return new Promise((resolve) => {
      const done = (metrics: MetricsJson) => {
        clearTimeout(timeout);
        this.metricsWaiting.delete(id);
        resolve(metrics);
      };
      const timeout = setTimeout(() => done([]), METRICS_TIMEOUT_MS);
      timeout.unref();
      this.metricsWaiting.set(id, done);
      if (this.stopping) done([]);
      else this.worker.postMessage({ type: 'metrics', id } satisfies ToConsumer);
    });
  }

  /** Whether the consumer makes progress, from its last report and how old that report is. */
  condition(now = Date.now()): ConsumerCondition {
    return judgeConsumer(this.lastStats, this.reportedAt, this.startedAt, now, this.stuckAfterMs);
  }

  /** Asks the worker to finish its round and close; terminates it after 10 s. Also after a failed start. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.worker.postMessage({ type: 'stop' } satisfies ToConsumer);
    const timeout = setTimeout(() => void this.worker.terminate(), 10_000);
    await this.exited;
    clearTimeout(timeout);
    this.logger.debug({}, 'consumer stopped');
  }
}
