import { fromEnvelope } from '../domain/cloud-event';
import type { FanoutMessage } from '../domain/events-topic';
import type { PersistedReading } from '../domain/reading';
import { DEFAULT_RETRY_POLICY, retry } from '../domain/retry';
import type { Logger } from '../logger';
import type { AnomalyStore } from '../store/ports/anomaly-store';
import type { FanoutProgressStore } from '../store/ports/fanout-progress-store';
import type { ReadingStore } from '../store/ports/reading-store';
import type { Stream } from '../stream/stream';
import type { DetectionEvents } from './batch-applier';
import type { TraceCarrier } from '../domain/cloud-event';
import { activeContext, startSend, withContext } from '../tracing/tracing';

/**
 * Fan-out for split deployments: the consumer publishes what it committed to the `events`
 * topic (here), and every API node tails that topic into its own hubs
 * (subscriptions/event-tail.ts), so a subscriber on one node sees readings ingested through
 * another.
 *
 * Order: readings are keyed by their readings partition (so one device's readings stay in
 * order), anomalies by a single key (seq order). Loss: the consumer records how far it
 * published (fanout_progress) after each publish and, on start, republishes what was
 * committed but not yet published; the API side drops what it already delivered (readings
 * by stream position, anomalies by seq), so a crash costs neither a gap nor a duplicate.
 */

/** Upper bound of one events message (OCI Streaming refuses messages over 1 MB). */
const MAX_MESSAGE_BYTES = 512 * 1024;

/** Splits items into JSON messages of at most MAX_MESSAGE_BYTES each. */
function chunk<T>(items: readonly T[], wrap: (part: T[]) => FanoutMessage, trace: TraceCarrier | undefined): string[] {
  const messages: string[] = [];
  let part: T[] = [];
  let size = 0;
  for (const item of items) {
    const itemSize = JSON.stringify(item).length + 1;
    if (part.length > 0 && size + itemSize > MAX_MESSAGE_BYTES) {
      messages.push(JSON.stringify({ ...wrap(part), ...trace }));
      part = [];
      size = 0;
    }
    part.push(item);
    size += itemSize;
  }
  if (part.length > 0) messages.push(JSON.stringify({ ...wrap(part), ...trace }));
  return messages;
}

export class EventPublisher {
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly stream: Stream,
    private readonly store: FanoutProgressStore & ReadingStore & AnomalyStore,
    private readonly logger: Logger,
    private readonly eventTypePrefix: string,
  ) {}

  /** Queues a committed batch for publication (in commit order). */
  publish(readings: readonly PersistedReading[], events: DetectionEvents = { anomalies: [], statusChanges: [] }): void {
    if (readings.length === 0 && events.anomalies.length === 0 && events.statusChanges.length === 0) return;
    // Sent later, in the trace of the batch that committed them (the caller's span).
    const ctx = activeContext();
    this.chain = this.chain.then(() => withContext(ctx, () => this.send(readings, events)));
  }

  /** Resolves when everything queued so far is published. */
  flushed(): Promise<void> {
    return this.chain;
  }

  private async send(readings: readonly PersistedReading[], events: DetectionEvents): Promise<void> {
    const span = startSend('events', readings.length + events.anomalies.length + events.statusChanges.length);
    try {
      await this.sendIn(readings, events, span.carrier);
      span.end();
    } catch (error) {
      span.end(error);
      throw error;
    }
  }

  private async sendIn(readings: readonly PersistedReading[], events: DetectionEvents, trace: TraceCarrier | undefined): Promise<void> {
    const byPartition = new Map<number, PersistedReading[]>();
    for (const reading of readings) byPartition.set(reading.partition, [...(byPartition.get(reading.partition) ?? []), reading]);
    const records: { key: string; value: string }[] = [];
    const progress = new Map<string, number>();
    for (const [partition, group] of byPartition) {
      for (const value of chunk(group, (part) => ({ kind: 'readings', readings: part }), trace)) records.push({ key: `readings/${partition}`, value });
      progress.set(`readings:${partition}`, group[group.length - 1]!.offset);
    }
    for (const value of chunk(events.anomalies, (part) => ({ kind: 'anomalies', anomalies: part }), trace)) records.push({ key: 'anomalies', value });
    if (events.anomalies.length > 0) progress.set('anomalies', events.anomalies[events.anomalies.length - 1]!.seq);
    for (const value of chunk(events.statusChanges, (part) => ({ kind: 'status', changes: part }), trace)) records.push({ key: 'status', value });
    // The stream shares the readings' fate: while it is down, ingest is refused too. Keep trying.
    await retry(() => this.stream.produce('events', records), {
      policy: DEFAULT_RETRY_POLICY,
      isRetryable: () => true,
      onRetry: (error, attempt) => this.logger.warn({ err: error, attempt }, 'publishing to the events topic failed; retrying'),
    });
    if (progress.size > 0) {
      await this.store
        .recordFanoutProgress(progress)
        .catch((error: unknown) => this.logger.warn({ err: error }, 'could not record fan-out progress (a restart may republish)'));
    }
  }

  /**
   * At start, before the consumer runs, and when it takes partitions over from another
   * consumer: republishes what was committed but not published (a crash between the
   * database commit and the publication).
   */
  async recover(partitions: readonly number[]): Promise<void> {
    const progress = await this.store.fanoutProgress();
    const watermarks = await this.store.watermarks('readings');
    for (const partition of partitions) {
      const watermark = watermarks.get(partition) ?? -1;
      let next = (progress.get(`readings:${partition}`) ?? watermark) + 1;
      while (next <= watermark) {
        const messages = await this.stream.read('readings', partition, next, Math.min(1000, watermark - next + 1));
        if (messages.length === 0) break;
        next = messages[messages.length - 1]!.offset + 1;
        const wanted = new Map<string, Set<number>>();
        const eventIds = new Map<string, string[]>();
        for (const message of messages) {
          const decoded = fromEnvelope(message.value, this.eventTypePrefix);
          if (!decoded.ok) continue;
          const { tenantId, eventId } = decoded.reading;
          eventIds.set(tenantId, [...(eventIds.get(tenantId) ?? []), eventId]);
          wanted.set(`${tenantId}\u0000${eventId}`, (wanted.get(`${tenantId}\u0000${eventId}`) ?? new Set()).add(message.offset));
        }
        const persisted: PersistedReading[] = [];
        for (const [tenantId, ids] of eventIds) {
          for (const event of await this.store.readingEventsByIds(tenantId, ids)) {
            // Only the message that stored the event republishes it (not a later duplicate).
            if (event.partition === partition && wanted.get(`${tenantId}\u0000${event.eventId}`)?.has(event.offset) && event.metrics.length > 0)
              persisted.push(event);
          }
        }
        persisted.sort((a, b) => a.offset - b.offset);
        this.publish(persisted);
      }
    }
    let lastSeq = progress.get('anomalies');
    if (lastSeq !== undefined) {
      for (;;) {
        const anomalies = await this.store.anomaliesOfAllTenantsAfter(lastSeq, 500);
        if (anomalies.length === 0) break;
        this.publish([], { anomalies, statusChanges: [] });
        lastSeq = anomalies[anomalies.length - 1]!.seq;
      }
    }
    await this.flushed();
    // A first start has no progress yet: what is stored now counts as published (API nodes
    // started later replay history from the database), and from here on every commit is tracked.
    const initial = new Map<string, number>();
    for (const partition of partitions) if (!progress.has(`readings:${partition}`)) initial.set(`readings:${partition}`, watermarks.get(partition) ?? -1);
    if (!progress.has('anomalies')) initial.set('anomalies', await this.store.lastAnomalySeq());
    if (initial.size > 0) await this.store.recordFanoutProgress(initial);
    this.logger.info({ partitions: partitions.length }, 'fan-out recovered');
  }
}
