import type { PersistedReading } from '../domain/reading';
import type { RetryPolicy } from '../domain/retry';
import type { DeviceDirectory } from '../devices/device-directory';
import type { Logger } from '../logger';
import type { PartitionBatch } from '../domain/consumer-batch';
import type { BatchStore } from '../store/ports/batch-store';
import type { ReadingStore } from '../store/ports/reading-store';
import { BatchApplier, READINGS_SOURCE, type DetectionEvents } from './batch-applier';
import type { DetectionOptions } from './pipeline/detection';
import { lingerBeforeNextRound, type RoundCadence } from './round-cadence';
import { randomUUID } from 'node:crypto';
import type { ConsumerGroupMember, Stream } from '../stream/stream';
import type { TraceCarrier } from '../domain/cloud-event';
import { inSpan, inSpanSync, linksTo, NEW_TRACE, SpanKind } from '../tracing/tracing';

export interface ReadingPersisterOptions {
  readonly stream: Stream;
  readonly store: BatchStore & ReadingStore;
  readonly devices: DeviceDirectory;
  /** Receives what a batch made visible, strictly after its transaction committed. */
  readonly publish: (readings: PersistedReading[]) => void;
  /** Receives the anomalies and device status changes a batch committed, after the commit. */
  readonly publishEvents?: (events: DetectionEvents) => void;
  readonly logger: Logger;
  /** What detection takes from the configuration. @default DEFAULT_DETECTION_OPTIONS */
  readonly detection?: DetectionOptions;
  /** Most messages read from one partition per round. @default 1000 */
  readonly batchSize?: number;
  /** Sleep between empty polls, ms (a wake() ends it early). @default 10 */
  readonly pollIntervalMs?: number;
  /** This consumer's name in the stream's consumer group. @default persister-<pid>-<random> */
  readonly instance?: string;
  /** How often the partition assignment is renewed, ms (well under the group timeout). @default 5000 */
  readonly assignmentRefreshMs?: number;
  /**
   * After a round of at least `lingerAboveMessages`, shortest time between its start and the
   * next round's, ms: under load messages gather into larger transactions (round-cadence.ts).
   * A quiet stream never waits. @default 30
   */
  readonly lingerMs?: number;
  /** A round of at least this many messages makes the next one linger. @default 1000 */
  readonly lingerAboveMessages?: number;
  /**
   * Starts a timer that calls `fire` after `ms`; returns its cancel. Tests pass a fake one to
   * see which waits the persister asks for. @default setTimeout
   */
  readonly setTimer?: (ms: number, fire: () => void) => () => void;
  readonly eventTypePrefix: string;
  readonly retryPolicy?: RetryPolicy;
  /**
   * Called when this instance takes partitions over after it started, before it reads them:
   * the previous owner may have committed batches it never published (it died in between).
   */
  readonly onPartitionsGained?: (partitions: readonly number[]) => Promise<void>;
  /** Called once per batch applied, with the time its transaction took, retries included (metrics). */
  readonly onBatchApplied?: (seconds: number) => void;
}

/** What the persister has done since it started. */
export interface PersisterCounters {
  /** Readings stored. */
  readonly appliedReadings: number;
  /** Dead letters stored: malformed messages, readings of a device that does not exist or was deleted, readings the database refused. */
  readonly deadLetters: number;
  /** Messages whose event id was stored already (a device or client retrying). */
  readonly duplicates: number;
  /** Attempts at a batch repeated because the database was unavailable. */
  readonly retries: number;
}

/** The persister's counters and progress, as health probes and the consumer thread report them. */
export interface PersisterStats extends PersisterCounters, PersisterProgress {
  /** Next offset to read, per partition. */
  readonly positions: ReadonlyMap<number, number>;
}

/** Where the persister is in its loop, for health checks (times in ms since the epoch). */
export interface PersisterProgress {
  /** When the round in progress (poll, apply, publish) started; null between rounds. */
  readonly roundStartedAt: number | null;
  /** When the current run of failed attempts began (a batch being retried); null when the last attempt succeeded. */
  readonly failingSince: number | null;
  /** What the last failed attempt said, while failing; null otherwise. */
  readonly lastError: string | null;
  /** When a round last completed, whether it applied a batch or found every partition read to its end. */
  readonly lastRoundAt: number | null;
}

/**
 * The group's offsets in the stream are mirrored at most this often (and once more on stop):
 * they only trail the database watermark, the record of
 * progress, and each mirror is a write (an fsync on the embedded log) competing with ingest.
 */
const COMMIT_EVERY_MS = 1000;
/** Longest pause after failed rounds (the pause doubles from the poll interval), ms. */
const FAILED_ROUND_MAX_PAUSE_MS = 5000;

const realTimer = (ms: number, fire: () => void) => {
  const timer = setTimeout(fire, ms);
  return () => clearTimeout(timer);
};
/** The persisters' consumer group on the readings topic. */
export const PERSISTER_GROUP = 'persister';

/**
 * Stream -> store, exactly-once in effect. Each round polls a batch from every partition it
 * holds and applies all of them in ONE store transaction together with the partitions'
 * watermarks; only after the commit are the new readings published and the consumer group's
 * offsets committed. Resumes from the database watermark, the one record of progress, so a
 * crash at any point replays nothing twice. Poison goes to dead letters; a failing database
 * is retried with backoff and jitter while the stream buffers.
 */
export class ReadingPersister {
  private readonly next = new Map<number, number>();
  private running = false;
  private member: ConsumerGroupMember | undefined;
  private lastAssignment = 0;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  /** A wake() since the current round started: its poll may have missed the new messages. */
  private woken = false;
  private lastCommit = 0;
  private readonly cadence: RoundCadence;
  private readonly setTimer: (ms: number, fire: () => void) => () => void;
  private stats: { -readonly [K in keyof PersisterCounters]: PersisterCounters[K] } = { appliedReadings: 0, deadLetters: 0, duplicates: 0, retries: 0 };
  private progress: { -readonly [K in keyof PersisterProgress]: PersisterProgress[K] } = {
    roundStartedAt: null,
    failingSince: null,
    lastError: null,
    lastRoundAt: null,
  };

  private readonly applier: BatchApplier;

  constructor(private readonly options: ReadingPersisterOptions) {
    this.applier = new BatchApplier({
      store: options.store,
      devices: options.devices,
      logger: options.logger,
      eventTypePrefix: options.eventTypePrefix,
      detection: options.detection,
      retryPolicy: options.retryPolicy,
      // A database that stays down must not hold up a shutdown: the batch is replayed on restart.
      shouldStopRetrying: () => !this.running,
      onRetry: (error) => {
        this.stats.retries++;
        this.failed(error);
      },
    });
    this.cadence = { lingerMs: options.lingerMs ?? 30, lingerAboveMessages: options.lingerAboveMessages ?? 1000 };
    this.setTimer = options.setTimer ?? realTimer;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.member = await this.options.stream.joinGroup(
      PERSISTER_GROUP,
      'readings',
      this.options.instance ?? `persister-${process.pid}-${randomUUID().slice(0, 8)}`,
    );
    await this.refreshAssignment();
    this.running = true;
    this.loop = this.run();
  }

  /**
   * Takes the partitions the stream now assigns to this instance. A newly assigned partition
   * resumes from the database watermark (another instance may have advanced it); one taken
   * away is simply no longer read. Two instances briefly reading one partition during a
   * hand-over stay correct: the watermark check in applyBatch lets each offset apply once.
   */
  private async refreshAssignment(): Promise<void> {
    this.lastAssignment = Date.now();
    let assigned: readonly number[];
    try {
      assigned = await this.member!.assigned();
    } catch (error) {
      this.options.logger.warn({ err: error }, 'could not renew the partition assignment; keeping the current one');
      return;
    }
    const gained = assigned.filter((partition) => !this.next.has(partition));
    for (const partition of [...this.next.keys()]) if (!assigned.includes(partition)) this.next.delete(partition);
    if (gained.length > 0) {
      const watermarks = await this.options.store.watermarks(READINGS_SOURCE);
      for (const partition of gained) this.next.set(partition, (watermarks.get(partition) ?? -1) + 1);
      if (this.running) await this.takeOver(gained);
    }
    if (gained.length > 0 || this.next.size !== assigned.length) this.options.logger.info({ partitions: assigned }, 'partition assignment changed');
  }

  private async takeOver(partitions: readonly number[]): Promise<void> {
    try {
      await this.options.onPartitionsGained?.(partitions);
    } catch (error) {
      this.options.logger.warn({ err: error, partitions }, 'could not republish what the previous owner of these partitions left unpublished');
    }
  }

  /** Ends the current empty-poll sleep, or the next one: new messages were produced. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
    await this.member?.leave();
  }

  snapshot(): PersisterStats {
    return { ...this.stats, ...this.progress, positions: new Map(this.next) };
  }

  private failed(error: unknown): void {
    this.progress.failingSince ??= Date.now();
    this.progress.lastError = error instanceof Error ? error.message : String(error);
  }

  private async run(): Promise<void> {
    const previous = { startedAt: 0, messages: 0 };
    let failedRounds = 0;
    while (this.running) {
      const linger = lingerBeforeNextRound(this.cadence, previous, Date.now());
      if (linger > 0) await this.linger(linger);
      previous.startedAt = Date.now();
      previous.messages = 0;
      this.woken = false;
      this.progress.roundStartedAt = previous.startedAt;
      if (previous.startedAt - this.lastAssignment >= (this.options.assignmentRefreshMs ?? 5000)) await this.refreshAssignment();
      try {
        previous.messages = await this.round();
        failedRounds = 0;
        this.progress = { roundStartedAt: null, failingSince: null, lastError: null, lastRoundAt: Date.now() };
        if (previous.messages === 0) await this.idle();
      } catch (error) {
        // The stream failing to answer a poll, a bug, or a stop during retries gets here: log,
        // keep the pipeline alive, and let health report it if it lasts.
        this.progress.roundStartedAt = null;
        this.failed(error);
        // stop() may have cleared `running` during the awaits above; TS keeps the loop's narrowing.
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- see above
        if (this.running) this.options.logger.error({ err: error }, 'persister round failed');
        // Backs off whatever wakes come meanwhile: under ingest a wake comes during nearly
        // every round, and a lasting failure would otherwise be retried (and logged) in a loop.
        failedRounds++;
        await this.linger(Math.min(FAILED_ROUND_MAX_PAUSE_MS, (this.options.pollIntervalMs ?? 10) * 2 ** Math.min(failedRounds, 16)));
      }
    }
    await this.commitProgress();
  }

  /** Waits for a wake() or the poll interval; not at all if a wake() came during the round. */
  private idle(): Promise<void> {
    if (this.woken || !this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const cancel = this.setTimer(this.options.pollIntervalMs ?? 10, resolve);
      this.wakeUp = () => {
        cancel();
        resolve();
      };
    });
  }

  /** Waits `ms` to let a backlog gather; a wake() does not end it (that is its point), stop() does. */
  private linger(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const cancel = this.setTimer(ms, resolve);
      this.wakeUp = () => {
        if (this.running) return;
        cancel();
        resolve();
      };
    });
  }

  /** One read-apply-publish round; the number of messages it read (0: every partition was empty). */
  async round(): Promise<number> {
    const slices: PartitionBatch[] = [];
    // The trace context of each message that carries one (its ingest request's send span).
    const carriers: TraceCarrier[] = [];
    let read = 0;
    const polled = await this.member!.poll(this.next, this.options.batchSize ?? 1000);
    for (const [partition, messages] of polled) {
      const expected = this.next.get(partition);
      if (messages.length === 0 || expected === undefined) continue;
      read += messages.length;
      if (messages[0]!.offset > expected) {
        // The stream's retention removed them before they were stored: say exactly what is gone.
        this.options.logger.error(
          { partition, firstLost: expected, lastLost: messages[0]!.offset - 1 },
          'messages expired from the stream before they were stored; continuing from the oldest one left',
        );
      }
      slices.push(await this.applier.decode(partition, messages, carriers));
    }
    if (slices.length === 0) {
      // Messages below the watermark may have been skipped: the group's offsets can move on
      // (at the same pace as after a batch: each write contends for the log's write lock).
      if (Date.now() - this.lastCommit >= COMMIT_EVERY_MS) await this.commitProgress();
      return 0;
    }

    // A batch mixes the messages of many requests: its span starts a trace of its own, linked
    // to each request's (the OpenTelemetry messaging conventions for batch receivers).
    await inSpan(
      'process readings',
      { kind: SpanKind.CONSUMER, links: linksTo(carriers), attributes: { 'messaging.operation.type': 'process', 'messaging.batch.message_count': read } },
      async () => {
        const applying = performance.now();
        const { persisted, events, duplicates, deadLetters } = await inSpan('apply batch', { kind: SpanKind.INTERNAL }, async (span) => {
          const round = await this.applier.apply(slices);
          span.setAttribute('telemetry.readings.applied', round.persisted.length);
          return round;
        });
        this.options.onBatchApplied?.((performance.now() - applying) / 1000);
        this.stats.appliedReadings += persisted.length;
        this.stats.duplicates += duplicates;
        this.stats.deadLetters += deadLetters;
        // Subscribers' delivery spans continue this one (the outputs carry its context).
        inSpanSync('publish committed', { kind: SpanKind.PRODUCER, attributes: { 'telemetry.readings.published': persisted.length } }, () => {
          this.options.publish(persisted);
          if (events.anomalies.length > 0 || events.statusChanges.length > 0) this.options.publishEvents?.(events);
        });
      },
      NEW_TRACE,
    );
    for (const slice of slices) this.next.set(slice.partition, slice.lastOffset + 1);
    if (Date.now() - this.lastCommit >= COMMIT_EVERY_MS) await this.commitProgress();
    return read;
  }

  /** Mirrors the database watermark into the stream's group offsets, after the commit. */
  private async commitProgress(): Promise<void> {
    this.lastCommit = Date.now();
    try {
      await this.member!.commit(new Map(this.next));
    } catch (error) {
      // Nothing is lost: the watermark is the record; the stream's offsets only lag behind it.
      this.options.logger.warn({ err: error }, 'could not commit the consumer group offsets; will retry after the next batch');
    }
  }
}
