import type { Logger } from '../logger';
import type { MetricsJson } from './consumer-metrics';

/** What the once-a-minute line reports, read from the process's metrics. */
export interface TrafficTotals {
  readonly accepted: number;
  readonly rejected: number;
  readonly applied: number;
  readonly requests: number;
  /** HTTP 5xx answers, and GraphQL operations that ended INTERNAL_SERVER_ERROR or UNAVAILABLE. */
  readonly errors: number;
  readonly deadLetters: number;
  /** Anomalies opened or escalated (every kind and severity). */
  readonly anomalies: number;
  readonly retries: number;
  readonly connections: number;
  readonly lagMessages: number;
  /** The oldest unapplied message's age, seconds, over all partitions. */
  readonly lagSeconds: number;
}

const SERVER_FAULTS = new Set(['INTERNAL_SERVER_ERROR', 'UNAVAILABLE']);

/** Sums (or, with `max`, the largest of) the samples of a metric, optionally filtered by a sample predicate. */
function read(metrics: MetricsJson, name: string, keep: (sample: MetricsJson[number]['values'][number]) => boolean = () => true, max = false): number {
  const values = metrics
    .filter((metric) => metric.name === name)
    .flatMap((metric) => metric.values)
    .filter(keep)
    .map((sample) => sample.value);
  return max ? Math.max(0, ...values) : values.reduce((sum, value) => sum + value, 0);
}

export function trafficTotals(metrics: MetricsJson): TrafficTotals {
  // A histogram's JSON samples name their series (_bucket, _sum, _count); prom-client's types leave it out.
  const countOf = (sample: object) => (sample as { readonly metricName?: string }).metricName?.endsWith('_count') === true;
  return {
    accepted: read(metrics, 'telemetry_ingest_readings_accepted_total'),
    rejected: read(metrics, 'telemetry_ingest_readings_rejected_total'),
    applied: read(metrics, 'telemetry_consumer_readings_applied_total'),
    requests: read(metrics, 'telemetry_http_requests_total'),
    errors:
      read(metrics, 'telemetry_http_requests_total', (sample) => String(sample.labels['code']).startsWith('5')) +
      read(metrics, 'telemetry_graphql_operation_duration_seconds', (sample) => countOf(sample) && SERVER_FAULTS.has(String(sample.labels['outcome']))),
    deadLetters: read(metrics, 'telemetry_consumer_dead_letters_total'),
    anomalies: read(metrics, 'telemetry_anomalies_raised_total'),
    retries: read(metrics, 'telemetry_consumer_retries_total'),
    connections: read(metrics, 'telemetry_websocket_connections'),
    lagMessages: read(metrics, 'telemetry_consumer_lag_messages'),
    lagSeconds: read(metrics, 'telemetry_consumer_lag_seconds', () => true, true),
  };
}

export const NO_TRAFFIC: TrafficTotals = {
  accepted: 0,
  rejected: 0,
  applied: 0,
  requests: 0,
  errors: 0,
  deadLetters: 0,
  anomalies: 0,
  retries: 0,
  connections: 0,
  lagMessages: 0,
  lagSeconds: 0,
};

/**
 * One line a minute while there is traffic, so that an operator reading the log at info level
 * sees the pipeline move: readings accepted, rejected and applied, requests and errors in the
 * interval; connections and lag now. A warning instead when the consumer lags more than
 * `lagWarnSeconds` or retried batches. Silent while nothing happens and nothing is pending.
 */
export class TrafficSummary {
  private last: TrafficTotals = NO_TRAFFIC;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly metrics: () => Promise<MetricsJson>,
    private readonly logger: Logger,
    private readonly lagWarnSeconds = 60,
  ) {}

  /** Writes the line for the interval since the previous call (if there was traffic). */
  async tick(): Promise<void> {
    const now = trafficTotals(await this.metrics());
    const since = (key: keyof TrafficTotals) => Math.max(0, now[key] - this.last[key]);
    const interval = {
      accepted: since('accepted'),
      rejected: since('rejected'),
      applied: since('applied'),
      requests: since('requests'),
      errors: since('errors'),
      deadLetters: since('deadLetters'),
      retries: since('retries'),
    };
    this.last = now;
    const traffic = Object.values(interval).some((count) => count > 0) || now.lagMessages > 0;
    if (!traffic) return;
    const fields = { ...interval, connections: now.connections, lagMessages: now.lagMessages, lagSeconds: Math.round(now.lagSeconds * 10) / 10 };
    const message =
      `readings accepted ${interval.accepted}, rejected ${interval.rejected}, applied ${interval.applied}; ` +
      `lag ${now.lagMessages} messages (${fields.lagSeconds} s); ${now.connections} WebSocket connections; ` +
      `${interval.requests} requests, ${interval.errors} errors; ${interval.deadLetters} dead letters, ${interval.retries} retries`;
    if (now.lagSeconds > this.lagWarnSeconds || interval.retries > 0) this.logger.warn(fields, `consumer behind or retrying: ${message}`);
    else this.logger.info(fields, message);
  }

  start(intervalMs = 60_000): void {
    this.timer = setInterval(() => {
      this.tick().catch((error: unknown) => this.logger.warn({ err: error }, 'could not summarise the last minute'));
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
