import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AnomalyKind, Severity } from '../domain/anomalies/anomaly';
import type { DeliveryAttemptOutcome } from '../webhooks/webhook-deliverer';
import type { RetentionKind } from '../domain/retention';

/** What the persister has counted since it started (its own counters, read at scrape time). */
export interface ConsumerTotals {
  readonly appliedReadings: number;
  readonly deadLetters: number;
  readonly duplicates: number;
  readonly retries: number;
}

/** How far the consumer trails the stream on one partition. */
export interface PartitionLag {
  readonly partition: number;
  /** Messages in the stream not applied yet. */
  readonly messages: number;
  /** Age of the oldest of them, seconds (0 when there is none). */
  readonly seconds: number;
}

/** Metrics in the form that crosses a thread boundary (prom-client's JSON). */
export type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/**
 * The consumer's metrics, in a registry of their own: the consumer runs in a worker thread,
 * and the API thread merges this registry's JSON into its scrape (api-metrics.ts). No default
 * process metrics here: the API thread's registry has them, once per process.
 *
 * Counted per batch, never per reading: the readings applied, dead letters, duplicates and
 * retries are the persister's own counters, read when a scrape asks.
 */
export class ConsumerMetrics {
  readonly registry = new Registry();
  private readonly batches: Counter;
  private readonly applyDuration: Histogram;
  private readonly anomalies: Counter<'kind' | 'severity'>;
  private readonly webhookAttempts: Counter<'outcome'>;
  private readonly retentionRemovals: Counter<'kind'>;
  private readonly deletedDeviceDataRemovals: Counter;
  private readonly lagMessages: Gauge<'partition'>;
  private readonly lagSeconds: Gauge<'partition'>;

  constructor(totals: () => ConsumerTotals, lag?: () => Promise<readonly PartitionLag[]>) {
    const registers = [this.registry];
    const total = (name: string, help: string, read: (t: ConsumerTotals) => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read(totals()));
        },
      });
    total('telemetry_consumer_readings_applied_total', 'Readings stored by the consumer.', (t) => t.appliedReadings);
    total('telemetry_consumer_dead_letters_total', 'Messages set aside as dead letters (malformed, or for an unknown device).', (t) => t.deadLetters);
    total('telemetry_consumer_duplicates_total', 'Messages whose event id was stored already (a client retrying).', (t) => t.duplicates);
    total('telemetry_consumer_retries_total', 'Batch attempts repeated because the database was unavailable.', (t) => t.retries);
    this.batches = new Counter({ name: 'telemetry_consumer_batches_total', help: 'Batches applied (one store transaction each).', registers });
    this.applyDuration = new Histogram({
      name: 'telemetry_consumer_batch_apply_duration_seconds',
      help: 'Time to apply one batch to the store, retries included.',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.anomalies = new Counter({
      name: 'telemetry_anomalies_raised_total',
      help: 'Anomalies raised, by kind and severity.',
      labelNames: ['kind', 'severity'],
      registers,
    });
    this.webhookAttempts = new Counter({
      name: 'telemetry_webhook_deliveries_total',
      help: 'Webhook delivery attempts, by outcome (delivered, will_retry, gave_up).',
      labelNames: ['outcome'],
      registers,
    });
    this.retentionRemovals = new Counter({
      name: 'telemetry_retention_removed_rows_total',
      help: 'Rows removed by retention, by kind (RAW_READINGS, MINUTE_ROLLUPS, ..., EVENT_IDS).',
      labelNames: ['kind'],
      registers,
    });
    this.deletedDeviceDataRemovals = new Counter({
      name: 'telemetry_deleted_device_data_removed_rows_total',
      help: 'Rows of devices deleted with keepData: false (raw values, rollups, event ids) removed in the background.',
      registers,
    });
    const setLag = async () => {
      const partitions = lag ? await lag() : [];
      this.lagMessages.reset();
      this.lagSeconds.reset();
      for (const { partition, messages, seconds } of partitions) {
        this.lagMessages.set({ partition: String(partition) }, messages);
        this.lagSeconds.set({ partition: String(partition) }, seconds);
      }
    };
    // Computed once per scrape (both gauges come from one look at the stream).
    let pending: Promise<void> | undefined;
    const once = () => (pending ??= setLag().finally(() => (pending = undefined)));
    this.lagMessages = new Gauge({
      name: 'telemetry_consumer_lag_messages',
      help: 'Messages in the stream the consumer has not applied yet, per partition.',
      labelNames: ['partition'],
      registers,
      collect: once,
    });
    this.lagSeconds = new Gauge({
      name: 'telemetry_consumer_lag_seconds',
      help: 'Age of the oldest message the consumer has not applied yet, per partition (0: caught up).',
      labelNames: ['partition'],
      registers,
      collect: once,
    });
  }

  batchApplied(seconds: number): void {
    this.batches.inc();
    this.applyDuration.observe(seconds);
  }

  anomaliesRaised(anomalies: readonly { readonly kind: AnomalyKind; readonly severity: Severity }[]): void {
    for (const anomaly of anomalies) this.anomalies.inc({ kind: anomaly.kind, severity: anomaly.severity });
  }

  webhookAttempt(outcome: DeliveryAttemptOutcome): void {
    this.webhookAttempts.inc({ outcome });
  }

  retentionRemoved(kind: RetentionKind, rows: number): void {
    this.retentionRemovals.inc({ kind }, rows);
  }

  deletedDeviceDataRemoved(rows: number): void {
    this.deletedDeviceDataRemovals.inc(rows);
  }

  json(): Promise<MetricsJson> {
    return this.registry.getMetricsAsJSON();
  }
}
