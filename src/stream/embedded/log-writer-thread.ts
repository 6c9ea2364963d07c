import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { BackendError } from '../../domain/errors';
import type { ProduceRecord, RecordPosition, TopicName } from '../stream';
import type { AppendRun } from './log-append';
import type { LogConnectionOptions } from './log-connection';
import type { FromLogWriter, LogWriterData, ToLogWriter } from './log-writer-messages';
import { offsetOfPosition, partitionOfPosition } from './log-positions';

interface PendingProduce {
  readonly topic: TopicName;
  readonly records: readonly ProduceRecord[];
  readonly resolve: (positions: RecordPosition[]) => void;
  readonly reject: (error: unknown) => void;
}

/** How long close() lets the thread finish before terminating it. */
const CLOSE_DEADLINE_MS = 10_000;

/**
 * The log's writer in a worker thread, fed by group commit: produces of one event-loop turn
 * travel as one message and commit in one transaction; while that commit (and its fsync) is in
 * flight, the produces that arrive wait and form the next group. Under load groups grow and
 * commits per second stay bounded by the disk, not by the request rate.
 *
 * A produce resolves once the thread answered that its group committed. If the thread dies,
 * every produce it had not answered rejects (retryable: the group either committed entirely
 * or not at all, and the consumer drops duplicates by event id), and so does every later one:
 * `stopped` tells the owner to start another thread.
 */
export class LogWriterThread {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  private pending: PendingProduce[] = [];
  private inFlight: readonly PendingProduce[] | undefined;
  private sendScheduled = false;
  private closeRequested = false;
  private closing: Promise<void> | undefined;
  /** Why appends are refused: the thread died, or was closed. */
  private refusal: BackendError | undefined;
  /** Whether the thread keeps the process alive: only while produces await it. */
  private referenced = false;
  private committed = 0;
  private stoppedAt = 0;

  /** Bytes of record values waiting for the next group (bounded by maxPendingBytes). */
  private pendingBytes = 0;

  /**
   * `maxPendingBytes`: most record bytes that may wait while a commit is in flight. A disk
   * whose fsync stalls would otherwise let every request pile up in memory without an answer
   * (a synchronous commit used to push back by blocking the event loop); past it, produces
   * fail at once, retryable, and ingest answers "retry later".
   */
  constructor(
    connection: LogConnectionOptions,
    partitions: ReadonlyMap<TopicName, number>,
    private readonly maxPendingBytes = 64 * 1024 * 1024,
    /** Rung by the thread after each commit that appended readings (EmbeddedStreamOptions). */
    readingsAppended?: SharedArrayBuffer,
  ) {
    const workerData: LogWriterData = { connection, partitions: [...partitions], ...(readingsAppended ? { readingsAppended } : {}) };
    this.worker = new Worker(path.join(__dirname, 'log-writer-worker.js'), { workerData });
    // An idle writer must not keep a process alive that has nothing else to do.
    this.worker.unref();
    this.worker.on('message', (message: FromLogWriter) => this.answered(message));
    this.worker.on('error', (error) => this.stop(new BackendError(`the stream's writer thread failed: ${error.message}`, true, error)));
    this.exited = new Promise((resolve) => {
      this.worker.once('exit', (code) => {
        this.stop(new BackendError(`the stream's writer thread exited (code ${code})`, true));
        resolve();
      });
    });
  }

  /** Whether this thread takes no more appends (it died or was closed). */
  get stopped(): boolean {
    return this.refusal !== undefined;
  }

  /** Why it takes no more appends, and since when (ms since the epoch); undefined while it runs. */
  get stoppedBecause(): { readonly reason: BackendError; readonly at: number } | undefined {
    return this.refusal && { reason: this.refusal, at: this.stoppedAt };
  }

  /** Transactions committed so far: one per group, however many produces it held. */
  get commits(): number {
    return this.committed;
  }

  append(topic: TopicName, records: readonly ProduceRecord[]): Promise<RecordPosition[]> {
    if (this.refusal) return Promise.reject(this.refusal);
    if (this.closeRequested) return Promise.reject(new BackendError('stream is closed', true));
    let bytes = 0;
    for (const record of records) bytes += record.key.length + record.value.length;
    // One group may always wait, however large: a single big produce is never refused forever.
    if (this.pending.length > 0 && this.pendingBytes + bytes > this.maxPendingBytes) {
      const waiting = Math.round(this.pendingBytes / 1024 / 1024);
      return Promise.reject(new BackendError(`the stream's disk is behind (${waiting} MiB waiting for a commit); retry`, true));
    }
    this.pendingBytes += bytes;
    return new Promise((resolve, reject) => {
      this.pending.push({ topic, records, resolve, reject });
      this.hold(true);
      if (this.inFlight === undefined && !this.sendScheduled) {
        this.sendScheduled = true;
        // Every produce issued in this turn of the event loop joins the group.
        setImmediate(() => {
          this.sendScheduled = false;
          this.pump();
        });
      }
    });
  }

  /** Commits what is pending, then ends the thread (terminated if it takes over 10 s). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closeRequested = true;
      this.hold(true);
      this.pump();
      const deadline = setTimeout(() => void this.worker.terminate(), CLOSE_DEADLINE_MS);
      await this.exited;
      clearTimeout(deadline);
    })();
    return this.closing;
  }

  /** One group in flight at most: the next leaves when the thread answers the current one. */
  private pump(): void {
    if (this.refusal || this.inFlight !== undefined) return;
    if (this.pending.length > 0) {
      const group = this.pending;
      this.pending = [];
      this.pendingBytes = 0;
      this.inFlight = group;
      const runs: AppendRun[] = [];
      const keys: string[] = [];
      const values: string[] = [];
      for (const produce of group) {
        runs.push({ topic: produce.topic, count: produce.records.length });
        for (const record of produce.records) {
          keys.push(record.key);
          values.push(record.value);
        }
      }
      this.worker.postMessage({ type: 'append', group: { runs, keys, values } } satisfies ToLogWriter);
    } else if (this.closeRequested) {
      this.refusal = new BackendError('stream is closed', true);
      this.worker.postMessage({ type: 'close' } satisfies ToLogWriter);
    } else {
      this.hold(false);
    }
  }

  private answered(message: FromLogWriter): void {
    const group = this.inFlight;
    if (group === undefined) return; // the thread was declared dead meanwhile: its produces already rejected
    this.inFlight = undefined;
    if (message.type === 'appended') {
      this.committed++;
      let at = 0;
      for (const produce of group) {
        const positions = Array.from(message.positions.subarray(at, at + produce.records.length), (position) => ({
          partition: partitionOfPosition(position),
          offset: offsetOfPosition(position),
        }));
        at += produce.records.length;
        produce.resolve(positions);
      }
    } else {
      const cause = Object.assign(new Error(message.message), message.code === undefined ? {} : { code: message.code });
      const failure = new BackendError(`stream append failed: ${message.message}`, true, cause);
      for (const produce of group) produce.reject(failure);
    }
    this.pump();
  }

  /** The thread is gone (or going): nothing it has not answered will be. */
  private stop(reason: BackendError): void {
    if (!this.refusal) {
      this.refusal = reason;
      this.stoppedAt = Date.now();
    }
    const unanswered = [...(this.inFlight ?? []), ...this.pending];
    this.inFlight = undefined;
    this.pending = [];
    this.pendingBytes = 0;
    for (const produce of unanswered) produce.reject(reason);
    this.hold(false);
  }

  private hold(referenced: boolean): void {
    if (referenced === this.referenced) return;
    this.referenced = referenced;
    if (referenced) this.worker.ref();
    else this.worker.unref();
  }
}
