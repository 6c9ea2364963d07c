import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import type { MetricPoint, PersistedReading } from '../../domain/reading';
import type { ApiKeyRecord, ApiKeyInfo, NewApiKey, KeyRevocation } from '../../domain/api-key';
import type { DeadLetter } from '../../domain/dead-letter';
import type { DeletedDeviceDataRemoval, Device, DeviceDeletion, DevicePatch, NewDevice } from '../../domain/device';
import type { DeviceFilter } from '../ports/device-store';
import type { EventReplayQuery, ReadingQuery, AggregateQuery, DeviceBuckets, SeriesColumns, SeriesQuery } from '../ports/reading-store';
import type { Store } from '../store';
import type { AnomalyFilter } from '../ports/anomaly-store';
import type { Page, PageRequest } from '../../domain/page';
import type { AnomalyTransition, SilenceSweep, Anomaly, DeviceStatusChange } from '../../domain/anomalies/anomaly';
import type { WebhookCreation, DeliveryOutcome, DueDelivery, Webhook, WebhookDelivery } from '../../domain/webhooks';
import type { AnomalyRule } from '../../domain/anomalies/rules';
import { migrate } from './migrate';
import { runSync, type Steps } from '../batch-steps';
import type { BatchTransaction } from '../batch-transaction';
import { sqliteBatchTransaction } from './sql/batch-transaction';
import { SeriesIds } from './series-ids';
import { runRead, type ReadArgs, type ReadName, type ReadResult } from './read-operations';
import type { ReadRunner } from './reader-pool';
import { toStoreError } from './store-error';
import { markSilentDevices } from './sql/liveness';
import * as keys from './sql/keys';
import * as devices from './sql/devices';
import * as readings from './sql/readings';
import * as anomalies from './sql/anomalies';
import * as webhooks from './sql/webhooks';
import * as deadLetters from './sql/dead-letters';
import * as fanout from './sql/fanout';
import * as retention from './sql/retention';
import type { ExpiredRows } from '../ports/retention-store';
import type { RetentionOverrides } from '../../domain/retention';
import type { Command, CommandStatus } from '../../domain/command';
import type { CommandPageRequest } from '../ports/command-store';
import * as commands from './sql/commands';

export interface SqliteStoreOptions {
  /** Path of the database file (created if missing), or ':memory:'. */
  readonly file: string;
  /** How long a writer waits for another connection's lock, ms. @default 5000 */
  readonly busyTimeoutMs?: number;
  /**
   * Where the reads of read-operations.ts run, given the migrated file (e.g. a
   * SqliteReaderPool, which the store then owns and closes); absent: on this connection.
   */
  readonly readers?: (file: string) => ReadRunner;
  /**
   * Log size, in pages, past which a commit of this connection copies the log back into the
   * file itself. Raised well above SQLite's default where a WalCheckpointer runs in another
   * thread: then it only bounds the log should that thread fall behind. @default 1000
   */
  readonly walAutocheckpointPages?: number;
}

/**
 * The embedded Store: one SQLite file in WAL mode; the consumer writes from another thread,
 * and the reads that serve queries may run on reader threads (options.readers).
 */
export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly readers: ReadRunner | undefined;
  /** The batch primitives, their statements prepared on first use. */
  private batchTransaction: BatchTransaction | undefined;
  /** The series ids the batch transactions resolved, kept across batches. */
  private seriesIds: SeriesIds | undefined;
  private readonly busyTimeoutMs: number;
  /** Last-used times not written yet (the write lock was taken): written by the next touch. */
  private readonly pendingTouches = new Map<string, number>();

  constructor(options: SqliteStoreOptions) {
    this.db = new Database(options.file);
    this.db.pragma('journal_mode = WAL');
    // The stream keeps accepted readings durable; the database can be rebuilt from it past the
    // watermark, so NORMAL (durable across process crashes, one fsync per checkpoint) is enough.
    this.db.pragma('synchronous = NORMAL');
    this.busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    this.db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
    this.db.pragma('foreign_keys = ON');
    // 64 MiB of page cache per connection: the hot index pages of a busy fleet stay in memory.
    this.db.pragma('cache_size = -65536');
    if (options.walAutocheckpointPages !== undefined) this.db.pragma(`wal_autocheckpoint = ${Math.max(0, Math.floor(options.walAutocheckpointPages))}`);
    migrate(this.db);
    try {
      this.readers = options.readers?.(options.file);
    } catch (error) {
      this.db.close();
      throw error;
    }
  }

  private run<T>(work: () => T): Promise<T> {
    try {
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(toStoreError(error));
    }
  }

  /**
   * A write that never holds this thread while another connection has the write lock
   * (better-sqlite3 waits synchronously, and on the API's connection that wait held every
   * request of the API thread): `work` runs in one IMMEDIATE transaction tried with
   * busy_timeout 0, and while the lock is taken it is tried again after a pause (1, 2, then 4 ms:
   * under batch ingest the consumer takes the lock again soon after it lets it go, and pauses
   * up to 50 ms left these writes 2x slower at p99), until the connection's busy timeout has
   * passed, then it fails as a wait would have. SQLITE_BUSY comes at BEGIN IMMEDIATE, before
   * anything is written: a retry repeats nothing. Measured: README, Benchmarks.
   */
  private async write<T>(work: () => T): Promise<T> {
    const giveUpAt = Date.now() + this.busyTimeoutMs;
    for (let pause = 1; ; pause = Math.min(4, pause * 2)) {
      try {
        return this.withoutWaiting(work);
      } catch (error) {
        if (!isBusy(error) || Date.now() >= giveUpAt) throw toStoreError(error);
      }
      await sleep(pause);
    }
  }

  /** `work` in one IMMEDIATE transaction, throwing SQLITE_BUSY at once when the write lock is taken. */
  private withoutWaiting<T>(work: () => T): T {
    this.db.pragma('busy_timeout = 0');
    try {
      return this.db.transaction(work).immediate();
    } finally {
      this.db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
    }
  }

  /** One of the reads of read-operations.ts: on the readers when there are, else here. */
  private read<K extends ReadName>(name: K, ...args: ReadArgs<K>): Promise<ReadResult<K>> {
    return this.readers ? this.readers.run(name, args) : this.run(() => runRead(this.db, name, args));
  }

  ensureTenant(id: string, name: string): Promise<void> {
    return this.run(() => {
      keys.createTenant(this.db, id, name, Date.now());
    });
  }

  createTenant(id: string, name: string): Promise<boolean> {
    return this.run(() => keys.createTenant(this.db, id, name, Date.now()));
  }

  tenantExists(id: string): Promise<boolean> {
    return this.run(() => keys.tenantExists(this.db, id));
  }

  createApiKey(key: NewApiKey): Promise<void> {
    return this.write(() => keys.createApiKey(this.db, key, Date.now()));
  }

  findApiKeyBySecretHash(secretHash: string): Promise<ApiKeyRecord | undefined> {
    return this.run(() => keys.findApiKeyBySecretHash(this.db, secretHash));
  }

  countAdminKeys(): Promise<number> {
    return this.run(() => keys.countAdminKeys(this.db));
  }

  listApiKeys(tenantId: string, includeRevoked: boolean): Promise<ApiKeyInfo[]> {
    return this.read('listApiKeys', tenantId, includeRevoked);
  }

  revokeApiKey(tenantId: string, id: string, at: number): Promise<KeyRevocation> {
    return this.write(() => keys.revokeApiKey(this.db, tenantId, id, at));
  }

  replaceDeviceKeys(tenantId: string, deviceId: string, replacement: NewApiKey, at: number): Promise<string[]> {
    return this.write(() => keys.replaceDeviceKeys(this.db, tenantId, deviceId, replacement, at));
  }

  /**
   * Never waits for the write lock: better-sqlite3 waits synchronously, so on the API's connection
   * a touch behind a long consumer batch (or a retention step) would hold the API thread, and
   * every request on it, for that long. A last-used time is approximate anyway: when the lock is
   * taken, the touch is kept and written with the next one.
   */
  touchApiKey(id: string, at: number): Promise<void> {
    this.pendingTouches.set(id, Math.max(at, this.pendingTouches.get(id) ?? 0));
    return this.run(() => {
      try {
        this.withoutWaiting(() => {
          for (const [key, when] of this.pendingTouches) keys.touchApiKey(this.db, key, when);
        });
        this.pendingTouches.clear();
      } catch (error) {
        // At most one entry per key in use (callers throttle per key); a lock never free would be
        // the stuck consumer, which health reports.
        if (!isBusy(error)) throw error;
      }
    });
  }

  revokedApiKeyIds(ids: readonly string[]): Promise<string[]> {
    // Primary-key lookups, a few every few seconds: cheaper here than the hop to a reader thread.
    return this.run(() => keys.revokedApiKeyIds(this.db, ids));
  }

  registerDevice(tenantId: string, device: NewDevice): Promise<Device> {
    return this.write(() => devices.registerDevice(this.db, tenantId, device, Date.now()));
  }

  updateDevice(tenantId: string, deviceId: string, patch: DevicePatch): Promise<Device | undefined> {
    return this.write(() => devices.updateDevice(this.db, tenantId, deviceId, patch));
  }

  deleteDevice(tenantId: string, deviceId: string, keepData: boolean, at: number): Promise<DeviceDeletion | undefined> {
    return this.write(() => devices.deleteDevice(this.db, tenantId, deviceId, keepData, at));
  }

  removeDeletedDeviceData(limit: number): Promise<DeletedDeviceDataRemoval> {
    // Checked every second or so: with nothing to remove, the write lock is not taken.
    return this.run(() =>
      devices.anyDataToRemove(this.db)
        ? this.db.transaction(() => devices.removeDeletedDeviceData(this.db, limit)).immediate()
        : { removedRows: 0, more: false },
    );
  }

  getDevices(tenantId: string, ids: readonly string[]): Promise<Device[]> {
    return this.run(() => devices.getDevices(this.db, tenantId, ids));
  }

  listDevices(tenantId: string, filter: DeviceFilter, page: PageRequest): Promise<Page<Device>> {
    return this.read('listDevices', tenantId, filter, page);
  }

  latestReadings(tenantId: string, deviceIds: readonly string[]): Promise<Map<string, MetricPoint[]>> {
    return this.read('latestReadings', tenantId, deviceIds);
  }

  /** Runs synchronously in one IMMEDIATE transaction (store/batch-steps.ts says why). */
  transact<T>(work: (tx: BatchTransaction) => Steps<T>): Promise<T> {
    return this.run(() => {
      const seriesIds = (this.seriesIds ??= new SeriesIds(this.db));
      const tx = (this.batchTransaction ??= sqliteBatchTransaction(this.db, seriesIds));
      try {
        const result = this.db.transaction(() => runSync(work(tx))).immediate();
        seriesIds.commit();
        return result;
      } catch (error) {
        seriesIds.rollback();
        throw error;
      }
    });
  }

  watermarks(source: string): Promise<Map<number, number>> {
    return this.run(() => readings.watermarks(this.db, source));
  }

  queryReadings(tenantId: string, query: ReadingQuery): Promise<Page<MetricPoint>> {
    return this.read('queryReadings', tenantId, query);
  }

  readingEventsAfter(query: EventReplayQuery): Promise<PersistedReading[]> {
    // One DEFERRED transaction, one snapshot (runRead): the windows of a page agree with each other.
    return this.read('readingEventsAfter', query.tenantId, query);
  }

  aggregateBuckets(tenantId: string, runs: readonly AggregateQuery[]): Promise<DeviceBuckets[]> {
    return this.read('aggregateBuckets', tenantId, runs);
  }

  seriesColumns(tenantId: string, query: SeriesQuery): Promise<SeriesColumns> {
    return this.read('seriesColumns', tenantId, query);
  }

  putAnomalyRule(rule: AnomalyRule): Promise<AnomalyRule> {
    return this.write(() => anomalies.putAnomalyRule(this.db, rule));
  }

  listAnomalyRules(tenantId: string): Promise<AnomalyRule[]> {
    return this.read('listAnomalyRules', tenantId);
  }

  deleteAnomalyRule(tenantId: string, id: string): Promise<boolean> {
    return this.write(() => anomalies.deleteAnomalyRule(this.db, tenantId, id));
  }

  listAnomalies(tenantId: string, filter: AnomalyFilter, page: PageRequest): Promise<Page<Anomaly>> {
    return this.read('listAnomalies', tenantId, filter, page);
  }

  anomaliesAfter(tenantId: string, afterSeq: number, limit: number): Promise<Anomaly[]> {
    return this.read('anomaliesAfter', tenantId, afterSeq, limit);
  }

  lastAnomalySeq(): Promise<number> {
    return this.run(() => anomalies.lastAnomalySeq(this.db));
  }

  prunedAnomalySeq(tenantId: string): Promise<number> {
    return this.run(() => retention.prunedAnomalySeq(this.db, tenantId));
  }

  transitionAnomaly(tenantId: string, id: number, transition: AnomalyTransition): Promise<Anomaly | undefined> {
    return this.write(() => anomalies.transitionAnomaly(this.db, tenantId, id, transition));
  }

  markSilentDevices(now: number, defaultTimeoutMs: number, limit?: number): Promise<SilenceSweep> {
    return this.run(() => this.db.transaction(() => markSilentDevices(this.db, now, defaultTimeoutMs, limit)).immediate());
  }

  setHeartbeatTimeout(tenantId: string, deviceId: string, timeoutMs: number | null): Promise<Device | undefined> {
    return this.write(() => devices.setHeartbeatTimeout(this.db, tenantId, deviceId, timeoutMs));
  }

  decommissionDevice(tenantId: string, deviceId: string, at: number): Promise<DeviceStatusChange | undefined> {
    return this.write(() => devices.decommissionDevice(this.db, tenantId, deviceId, at));
  }

  markConnection(tenantId: string, deviceId: string, connected: boolean, at: number): Promise<DeviceStatusChange | undefined> {
    return this.write(() => devices.markConnection(this.db, tenantId, deviceId, connected, at));
  }

  createWebhook(webhook: Webhook & { readonly secret: string }, maxPerTenant: number): Promise<WebhookCreation> {
    return this.write(() => webhooks.createWebhook(this.db, webhook, maxPerTenant));
  }

  listWebhooks(tenantId: string): Promise<Webhook[]> {
    return this.read('listWebhooks', tenantId);
  }

  deleteWebhook(tenantId: string, id: string): Promise<boolean> {
    return this.write(() => webhooks.deleteWebhook(this.db, tenantId, id));
  }

  listWebhookDeliveries(tenantId: string, webhookId: string, limit: number): Promise<WebhookDelivery[]> {
    return this.read('listWebhookDeliveries', tenantId, webhookId, limit);
  }

  claimDueDeliveries(now: number, limit: number, leaseMs: number): Promise<DueDelivery[]> {
    return this.run(() => this.db.transaction(() => webhooks.claimDueDeliveries(this.db, now, limit, leaseMs)).immediate());
  }

  recordDeliveryAttempt(deliveryId: number, outcome: DeliveryOutcome): Promise<void> {
    return this.run(() => webhooks.recordDeliveryAttempt(this.db, deliveryId, outcome));
  }

  prunedReadingEvents(tenantId: string, deviceIds: readonly string[]): Promise<Map<number, number>> {
    return this.run(() => retention.prunedReadingEvents(this.db, tenantId, deviceIds));
  }

  readingEventsByIds(tenantId: string, eventIds: readonly string[]): Promise<PersistedReading[]> {
    return this.run(() => readings.readingEventsByIds(this.db, tenantId, eventIds));
  }

  retentionOverrides(tenantId: string): Promise<RetentionOverrides> {
    return this.run(() => retention.retentionOverrides(this.db, tenantId));
  }

  setRetentionOverrides(tenantId: string, overrides: RetentionOverrides, at: number): Promise<void> {
    return this.write(() => retention.setRetentionOverrides(this.db, tenantId, overrides, at));
  }

  tenantsRetention(): Promise<Map<string, RetentionOverrides>> {
    return this.run(() => retention.tenantsRetention(this.db));
  }

  /** Readings are one table here, with nothing to drop in bulk: deleteExpired removes them. */
  dropReadingsBefore(): Promise<number> {
    return Promise.resolve(0);
  }

  /** One IMMEDIATE transaction per call: the write lock is held for one bounded batch only. */
  deleteExpired(rows: ExpiredRows): Promise<number> {
    return this.run(() => this.db.transaction(() => retention.deleteExpired(this.db, rows)).immediate());
  }

  insertCommand(command: Command): Promise<void> {
    return this.write(() => commands.insertCommand(this.db, command));
  }

  command(tenantId: string, id: string): Promise<Command | undefined> {
    return this.run(() => commands.command(this.db, tenantId, id));
  }

  commandsOf(tenantId: string, deviceId: string, page: CommandPageRequest): Promise<Page<Command>> {
    return this.run(() => commands.commandsOf(this.db, tenantId, deviceId, page));
  }

  pendingCommands(tenantId: string, deviceId: string, now: number): Promise<Command[]> {
    return this.run(() => commands.pendingCommands(this.db, tenantId, deviceId, now));
  }

  dueCommands(now: number, limit: number): Promise<Command[]> {
    return this.run(() => commands.dueCommands(this.db, now, limit));
  }

  updateCommand(next: Command, from: CommandStatus): Promise<boolean> {
    return this.write(() => commands.updateCommand(this.db, next, from));
  }

  fanoutProgress(): Promise<Map<string, number>> {
    return this.run(() => fanout.fanoutProgress(this.db));
  }

  recordFanoutProgress(positions: ReadonlyMap<string, number>): Promise<void> {
    return this.run(() => this.db.transaction(() => fanout.recordFanoutProgress(this.db, positions))());
  }

  anomaliesOfAllTenantsAfter(afterSeq: number, limit: number): Promise<Anomaly[]> {
    return this.run(() => anomalies.anomaliesOfAllTenantsAfter(this.db, afterSeq, limit));
  }

  listDeadLetters(tenantId: string, page: PageRequest): Promise<Page<DeadLetter>> {
    return this.read('listDeadLetters', tenantId, page);
  }

  getDeadLetter(tenantId: string, id: number): Promise<DeadLetter | undefined> {
    return this.run(() => deadLetters.getDeadLetter(this.db, tenantId, id));
  }

  markDeadLetterReplayed(tenantId: string, id: number, at: number): Promise<void> {
    return this.write(() => deadLetters.markDeadLetterReplayed(this.db, tenantId, id, at));
  }

  async close(): Promise<void> {
    await this.readers?.close();
    if (this.db.open) this.db.close();
  }
}

const isBusy = (error: unknown): boolean => (error as { code?: string }).code === 'SQLITE_BUSY';
