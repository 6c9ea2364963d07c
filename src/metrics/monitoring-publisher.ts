import type { Logger } from '../logger';
import type { MetricsJson } from './consumer-metrics';
import { NO_TRAFFIC, trafficTotals, type TrafficTotals } from './traffic-summary';

/**
 * Publishes the pipeline's key metrics as custom metrics of a monitoring service (OCI
 * Monitoring's PostMetricData, composition/oci-monitoring.ts): once an interval it reads the
 * process's metrics (the same scrape as /metrics), turns them into one datapoint per metric
 * and queues the batch; a send that fails is tried again at the next interval, a batch that
 * failed `maxAttempts` times is dropped, and at most `maxQueued` batches wait (the oldest go
 * first). Nothing here runs on the ingest or consumer path: a slow or unreachable service
 * costs only this timer's own requests.
 */

/** One metric stream of a post: OCI's MetricDataDetails. */
export interface MetricDatum {
  readonly namespace: string;
  readonly compartmentId: string;
  readonly name: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly datapoints: readonly { readonly timestamp: Date; readonly value: number }[];
}

/** Sends one batch; resolves with the number of metric streams the service refused. */
export type PostMetricData = (metricData: readonly MetricDatum[]) => Promise<{ readonly failedMetricsCount: number }>;

export type PostOutcome = 'sent' | 'failed' | 'dropped';

export interface MonitoringPublisherOptions {
  readonly namespace: string;
  readonly compartmentId: string;
  /** On every datapoint (OCI requires at least one): which node and role published it. */
  readonly dimensions: Readonly<Record<string, string>>;
  /** Attempts at one batch before it is dropped. @default 3 */
  readonly maxAttempts?: number;
  /** Batches waiting at most; past it the oldest is dropped. @default 10 */
  readonly maxQueued?: number;
  readonly logger: Logger;
  /** Told of each attempt's outcome (a metric of the publisher itself). */
  readonly onOutcome?: (outcome: PostOutcome) => void;
  readonly now?: () => number;
}

/** The published metrics: counters as their increase over the interval, gauges as they are now. */
const PUBLISHED: readonly { readonly name: string; readonly of: (now: TrafficTotals, last: TrafficTotals) => number }[] = [
  { name: 'ReadingsAccepted', of: (now, last) => Math.max(0, now.accepted - last.accepted) },
  { name: 'ReadingsApplied', of: (now, last) => Math.max(0, now.applied - last.applied) },
  { name: 'DeadLetters', of: (now, last) => Math.max(0, now.deadLetters - last.deadLetters) },
  { name: 'AnomaliesRaised', of: (now, last) => Math.max(0, now.anomalies - last.anomalies) },
  { name: 'ConsumerLagMessages', of: (now) => now.lagMessages },
  { name: 'ConsumerLagSeconds', of: (now) => now.lagSeconds },
];

interface QueuedBatch {
  readonly metricData: MetricDatum[];
  attempts: number;
}

export class MonitoringPublisher {
  private last: TrafficTotals = NO_TRAFFIC;
  private readonly queue: QueuedBatch[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** The tick in progress: ticks never overlap, and stop() waits for it. */
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly metrics: () => Promise<MetricsJson>,
    private readonly post: PostMetricData,
    private readonly options: MonitoringPublisherOptions,
  ) {}

  start(intervalMs = 60_000): void {
    this.timer = setInterval(() => {
      this.running = this.running.then(() => this.tick());
    }, intervalMs);
    this.timer.unref();
  }

  /** Publishes the last interval once more, then stops (on shutdown: its readings are counted too). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    await this.tick();
  }

  /** Reads the metrics into a batch, then sends what is queued, oldest first. Never throws. */
  async tick(): Promise<void> {
    try {
      this.enqueue(await this.metrics());
    } catch (error) {
      this.options.logger.warn({ err: error }, 'could not read the metrics to publish to OCI Monitoring');
    }
    while (this.queue.length > 0) {
      const batch = this.queue[0]!;
      batch.attempts++;
      try {
        const { failedMetricsCount } = await this.post(batch.metricData);
        // Refused streams (a name or dimension the service rejects) will not pass on a retry either.
        if (failedMetricsCount > 0) this.options.logger.warn({ failedMetricsCount }, 'OCI Monitoring refused some metric streams');
        this.queue.shift();
        this.options.onOutcome?.('sent');
      } catch (error) {
        const maxAttempts = this.options.maxAttempts ?? 3;
        const dropped = batch.attempts >= maxAttempts;
        if (dropped) this.queue.shift();
        this.options.onOutcome?.(dropped ? 'dropped' : 'failed');
        this.options.logger.warn(
          { err: error, attempts: batch.attempts, queued: this.queue.length },
          dropped
            ? `posting metrics to OCI Monitoring failed ${maxAttempts} times; dropping that minute`
            : 'posting metrics to OCI Monitoring failed; will retry',
        );
        // The service is failing: the rest waits for the next interval.
        if (!dropped) return;
      }
    }
  }

  private enqueue(metrics: MetricsJson): void {
    const now = trafficTotals(metrics);
    const timestamp = new Date((this.options.now ?? Date.now)());
    const { namespace, compartmentId, dimensions } = this.options;
    const metricData = PUBLISHED.map(({ name, of }) => ({
      namespace,
      compartmentId,
      name,
      dimensions,
      datapoints: [{ timestamp, value: of(now, this.last) }],
    }));
    this.last = now;
    this.queue.push({ metricData, attempts: 0 });
    const maxQueued = this.options.maxQueued ?? 10;
    while (this.queue.length > maxQueued) {
      this.queue.shift();
      this.options.onOutcome?.('dropped');
      this.options.logger.warn({ maxQueued }, 'OCI Monitoring unreachable for too long; dropping the oldest waiting minute');
    }
  }
}
