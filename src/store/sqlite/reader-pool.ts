import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { BackendError, TelemetryError } from '../../domain/errors';
import type { ReadArgs, ReadName, ReadResult } from './read-operations';
import { decodeError, type FromReader, type ToReader } from './reader-protocol';
import { decodeResult } from './result-codecs';
import { TenantFairQueue } from './tenant-fair-queue';

export interface SqliteReaderPoolOptions {
  /** The database file, created and migrated already (by the writer's SqliteStore). */
  readonly file: string;
  /** Reader threads, each with its own connection. */
  readonly size: number;
  /**
   * Most reads waiting for a reader; more are refused with UNAVAILABLE (retry later). One
   * tenant may hold three quarters of these places (at least one): the rest stay free for
   * the other tenants.
   */
  readonly maxQueued: number;
  /** @default 5000 */
  readonly busyTimeoutMs?: number;
  /** Told when a reader thread stops on its own (it is replaced). */
  readonly onReaderFailure?: (error: Error) => void;
  /**
   * How many nice steps below the calling thread's CPU priority the readers run (Linux; 0-19).
   * On a busy machine a long scan then yields its core to the threads that serve sockets and
   * persist readings, instead of delaying live deliveries and ingest acknowledgements; it
   * still gets whatever CPU they leave. @default 0
   */
  readonly niceIncrement?: number;
  /** Told, once, why the readers' priority could not be lowered (not Linux, refused). */
  readonly onPriorityKept?: (reason: string) => void;
}

/** Where reads run when the store has no connection of its own to spare for them. */
export interface ReadRunner {
  run<K extends ReadName>(name: K, args: ReadArgs<K>): Promise<ReadResult<K>>;
  close(): Promise<void>;
}

interface Job {
  readonly id: number;
  readonly tenantId: string;
  readonly name: ReadName;
  readonly args: readonly unknown[];
  readonly resolve: (value: never) => void;
  readonly reject: (error: Error) => void;
}

interface Reader {
  readonly worker: Worker;
  readonly exited: Promise<void>;
  /** Opened its connection: a reader that dies before that is not respawned at once. */
  ready: boolean;
  job: Job | undefined;
}

/** How long a reader that could not even open waits before it is started again, ms. */
const RESPAWN_DELAY_MS = 1000;
/** The Retry-After hint of a refused read, seconds: a heavy scan takes tens of ms, a queue of them about a second. */
const SATURATED_RETRY_AFTER_SECONDS = 1;

/**
 * Runs the store's named reads (read-operations.ts) on a few reader threads, each with its own
 * SQLite connection, so that a heavy query (a raw scan of millions of rows) holds a reader
 * thread, not the API's event loop. Each reader runs one read at a time; reads wait in a
 * bounded queue, served tenant by tenant in turn (tenant-fair-queue.ts), for the first free reader, and past the bound are refused as the service
 * refuses any overload (UNAVAILABLE, retryable, with Retry-After). A reader that dies fails
 * the read it was running with a retryable BackendError and is replaced.
 */
export class SqliteReaderPool implements ReadRunner {
  private readonly readers: (Reader | undefined)[];
  private readonly queue: TenantFairQueue<Job>;
  private nextId = 1;
  private closed = false;
  private toldPriorityKept = false;

  constructor(private readonly options: SqliteReaderPoolOptions) {
    if (!Number.isInteger(options.size) || options.size < 1) throw new RangeError('a reader pool needs at least one reader');
    this.readers = Array.from({ length: options.size }, () => undefined);
    this.queue = new TenantFairQueue(options.maxQueued, Math.max(1, Math.ceil((options.maxQueued * 3) / 4)));
    for (let slot = 0; slot < options.size; slot++) this.start(slot);
  }

  /** Reads waiting for a free reader. */
  get queued(): number {
    return this.queue.size;
  }

  run<K extends ReadName>(name: K, args: ReadArgs<K>): Promise<ReadResult<K>> {
    if (this.closed) return Promise.reject(new BackendError('the store is closed', true));
    return new Promise<ReadResult<K>>((resolve, reject) => {
      // Every read names its tenant first (read-operations.ts).
      const tenantId = args[0];
      const job: Job = { id: this.nextId++, tenantId, name, args, resolve, reject };
      const idle = this.readers.find((reader) => reader !== undefined && reader.job === undefined);
      if (idle) {
        this.dispatch(idle, job);
        return;
      }
      const refusal = this.queue.refusal(tenantId);
      if (refusal === undefined) {
        this.queue.push(tenantId, job);
        return;
      }
      const why =
        refusal === 'full'
          ? `${this.queue.size} queries are waiting for a reader`
          : `this tenant already has ${Math.ceil((this.options.maxQueued * 3) / 4)} queries waiting for a reader`;
      reject(new TelemetryError('UNAVAILABLE', `the database is busy: ${why}; retry later`, { details: { retryAfterSeconds: SATURATED_RETRY_AFTER_SECONDS } }));
    });
  }

  /**
   * Fault injection for tests: the reader in `slot` dies as a native crash would, before it
   * runs anything sent to it after this call. Nothing in the service calls it.
   */
  crashReader(slot: number): void {
    this.readers[slot]?.worker.postMessage({ type: 'crash' } satisfies ToReader);
  }

  /** Lets the reads in flight finish, fails those still waiting, and ends every reader. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const job of this.queue.drain()) job.reject(new BackendError('the store is closed', true));
    const readers = this.readers.filter((reader): reader is Reader => reader !== undefined);
    for (const reader of readers) reader.worker.postMessage({ type: 'close' } satisfies ToReader);
    const stopped = Promise.all(readers.map((reader) => reader.exited));
    // A read stuck past this (it cannot be interrupted) is not worth a hung shutdown.
    const timeout = setTimeout(() => readers.forEach((reader) => void reader.worker.terminate()), 10_000);
    await stopped;
    clearTimeout(timeout);
  }

  private start(slot: number): void {
    const worker = new Worker(path.join(__dirname, 'reader-worker.js'), {
      workerData: { file: this.options.file, busyTimeoutMs: this.options.busyTimeoutMs ?? 5000, niceIncrement: this.options.niceIncrement ?? 0 },
    });
    // Readers never keep the process alive on their own: the store's owner closes them.
    worker.unref();
    let failure: Error | undefined;
    const reader: Reader = { worker, ready: false, job: undefined, exited: new Promise((resolve) => worker.once('exit', () => resolve())) };
    this.readers[slot] = reader;
    worker.on('message', (message: FromReader) => {
      if (message.type === 'ready') {
        reader.ready = true;
        if (message.priorityKept !== undefined && !this.toldPriorityKept) this.options.onPriorityKept?.(message.priorityKept);
        this.toldPriorityKept ||= message.priorityKept !== undefined;
        return;
      }
      const job = reader.job;
      if (job === undefined || job.id !== message.id) return;
      reader.job = undefined;
      this.queue.finished(job.tenantId);
      try {
        if (message.type === 'result') job.resolve(decodeResult(job.name, message.value) as never);
        else job.reject(decodeError(message.error));
      } catch (error) {
        job.reject(new BackendError(`a database read's answer could not be decoded: ${(error as Error).message}`, false, error));
      }
      this.next(reader);
    });
    worker.on('error', (error) => (failure = error));
    worker.on('exit', (code) => this.lost(slot, reader, failure ?? new Error(`reader thread exited with code ${code}`)));
  }

  private dispatch(reader: Reader, job: Job): void {
    try {
      reader.worker.postMessage({ type: 'read', id: job.id, name: job.name, args: job.args } satisfies ToReader);
      reader.job = job;
      this.queue.started(job.tenantId);
    } catch (error) {
      // Arguments that cannot cross to a thread: this read fails, the reader stays free.
      job.reject(new BackendError(`a database read could not be sent to a reader: ${(error as Error).message}`, false, error));
      this.next(reader);
    }
  }

  private next(reader: Reader): void {
    const job = this.queue.shift();
    if (job) this.dispatch(reader, job);
  }

  /** A reader ended: its read fails (retryable: it may well succeed on another reader), a new one takes its slot. */
  private lost(slot: number, reader: Reader, cause: Error): void {
    if (this.readers[slot] === reader) this.readers[slot] = undefined;
    if (reader.job) {
      this.queue.finished(reader.job.tenantId);
      reader.job.reject(new BackendError(this.closed ? 'the store is closed' : `a database reader stopped (${cause.message}); retry`, true, cause));
    }
    reader.job = undefined;
    if (this.closed) return;
    this.options.onReaderFailure?.(cause);
    if (reader.ready) {
      this.start(slot);
      this.next(this.readers[slot]!);
      return;
    }
    // It could not even open the database: starting it again at once would spin. The reads
    // waiting fail now if no reader can take them.
    if (!this.readers.some((other) => other?.ready)) {
      for (const job of this.queue.drain()) job.reject(new BackendError(`no database reader could open the database (${cause.message}); retry`, true, cause));
    }
    setTimeout(() => {
      if (this.closed || this.readers[slot] !== undefined) return;
      this.start(slot);
      this.next(this.readers[slot]!);
    }, RESPAWN_DELAY_MS).unref();
  }
}
