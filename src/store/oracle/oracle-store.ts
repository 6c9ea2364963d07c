import type oracledb from 'oracledb';
import { runAsync, type Steps } from '../batch-steps';
import type { Anomaly, DeviceStatusChange, AnomalyTransition, SilenceSweep } from '../../domain/anomalies/anomaly';
import type { AnomalyRule } from '../../domain/anomalies/rules';
import { TelemetryError } from '../../domain/errors';
import type { MetricPoint, PersistedReading } from '../../domain/reading';
import type { DeliveryOutcome, DueDelivery, Webhook, WebhookDelivery, WebhookCreation } from '../../domain/webhooks';
import type { AggregateQuery, DeviceBuckets, EventReplayQuery, ReadingQuery, SeriesColumns, SeriesQuery } from '../ports/reading-store';
import type { AnomalyFilter } from '../ports/anomaly-store';
import type { DeviceFilter } from '../ports/device-store';
import type { Store } from '../store';
import type { ApiKeyInfo, ApiKeyRecord, KeyRevocation, NewApiKey } from '../../domain/api-key';
import type { DeadLetter } from '../../domain/dead-letter';
import type { DeletedDeviceDataRemoval, Device, DeviceDeletion, DevicePatch, NewDevice } from '../../domain/device';
import type { Page, PageRequest } from '../../domain/page';
import { createPool, sessionOf, type OracleConnectionOptions } from './connection';
import { ORA_UNIQUE_VIOLATION, oraCode, toStoreError } from './errors';
import { ORACLE_MIGRATIONS } from './migrations';
import type { Session } from './session';
import * as anomalies from './sql/anomalies';
import { oracleBatchTransaction } from './sql/batch-transaction';
import type { BatchTransaction } from '../batch-transaction';
import * as devices from './sql/devices';
import * as keys from './sql/keys';
import * as operations from './sql/operations';
import * as queries from './sql/queries';
import * as webhooks from './sql/webhooks';
import * as retention from './sql/retention';
import type { ExpiredRows } from '../ports/retention-store';
import type { RetentionOverrides } from '../../domain/retention';
import type { Command, CommandStatus } from '../../domain/command';
import type { CommandPageRequest } from '../ports/command-store';
import * as commands from './sql/commands';

/** Something that lends sessions: a pool of real connections, or a test double. */
export interface SessionSource {
  /** Runs `work` on one session; commits when it resolves, rolls back when it throws. */
  transaction<T>(work: (session: Session) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export function poolSource(pool: oracledb.Pool): SessionSource {
  return {
    async transaction(work) {
      const connection = await pool.getConnection();
      try {
        const result = await work(sessionOf(connection));
        await connection.commit();
        return result;
      } catch (error) {
        await connection.rollback().catch(() => {});
        throw error;
      } finally {
        await connection.close();
      }
    },
    close: () => pool.close(10),
  };
}

/**
 * The Store on Oracle Autonomous Database. Each method is one transaction on a pooled
 * connection; every statement lives in sql/ (one module per statement family) and takes bind
 * variables only. Errors reach callers as TelemetryError or BackendError (errors.ts).
 */
export class OracleStore implements Store {
  private constructor(private readonly source: SessionSource) {}

  static async connect(options: OracleConnectionOptions): Promise<OracleStore> {
    const store = new OracleStore(poolSource(await createPool(options)));
    await store.migrate();
    return store;
  }

  /** A store over any session source (tests use a checking fake). */
  static over(source: SessionSource): OracleStore {
    return new OracleStore(source);
  }

  private tx<T>(work: (session: Session) => Promise<T>): Promise<T> {
    return this.source.transaction(work).catch((error: unknown) => {
      throw toStoreError(error);
    });
  }

  /** Applies missing schema versions, one transaction each (DDL commits by itself in Oracle). */
  async migrate(): Promise<number> {
    return this.tx(async (session) => {
      const exists = (await session.execute<{ N: number }>("SELECT COUNT(*) AS n FROM user_tables WHERE table_name = 'SCHEMA_MIGRATIONS'")).rows?.[0]?.N ?? 0;
      if (exists === 0)
        await session.execute(
          'CREATE TABLE schema_migrations (version NUMBER(6) PRIMARY KEY, description VARCHAR2(400) NOT NULL, applied_at NUMBER(15) NOT NULL)',
        );
      const applied = new Set(((await session.execute<{ VERSION: number }>('SELECT version FROM schema_migrations')).rows ?? []).map((row) => row.VERSION));
      const newest = Math.max(...ORACLE_MIGRATIONS.map((m) => m.version));
      if ([...applied].some((version) => version > newest))
        throw new Error(`the database has a schema newer than this build knows (${newest}); upgrade the service`);
      for (const migration of ORACLE_MIGRATIONS) {
        if (applied.has(migration.version)) continue;
        for (const statement of migration.statements) await session.execute(statement);
        await session.execute('INSERT INTO schema_migrations (version, description, applied_at) VALUES (:version, :description, :applied_at)', {
          version: migration.version,
          description: migration.description,
          applied_at: Date.now(),
        });
      }
      return newest;
    });
  }

  // Tenants and keys
  async ensureTenant(id: string, name: string): Promise<void> {
    await this.tx((s) => keys.createTenant(s, id, name, Date.now()));
  }
  createTenant(id: string, name: string): Promise<boolean> {
    return this.tx((s) => keys.createTenant(s, id, name, Date.now()));
  }
  tenantExists(id: string): Promise<boolean> {
    return this.tx((s) => keys.tenantExists(s, id));
  }
  createApiKey(key: NewApiKey): Promise<void> {
    return this.tx((s) => keys.insertKey(s, key, Date.now()));
  }
  findApiKeyBySecretHash(secretHash: string): Promise<ApiKeyRecord | undefined> {
    return this.tx((s) => keys.keyByHash(s, secretHash));
  }
  countAdminKeys(): Promise<number> {
    return this.tx((s) => keys.countAdmins(s));
  }
  listApiKeys(tenantId: string, includeRevoked: boolean): Promise<ApiKeyInfo[]> {
    return this.tx((s) => keys.listKeys(s, tenantId, includeRevoked));
  }
  revokeApiKey(tenantId: string, id: string, at: number): Promise<KeyRevocation> {
    return this.tx((s) => keys.revokeKey(s, tenantId, id, at));
  }
  replaceDeviceKeys(tenantId: string, deviceId: string, replacement: NewApiKey, at: number): Promise<string[]> {
    return this.tx((s) => keys.replaceDeviceKeys(s, tenantId, deviceId, replacement, at));
  }
  touchApiKey(id: string, at: number): Promise<void> {
    return this.tx((s) => keys.touchKey(s, id, at));
  }
  revokedApiKeyIds(ids: readonly string[]): Promise<string[]> {
    return this.tx((s) => keys.revokedKeyIds(s, ids));
  }

  // Devices
  registerDevice(tenantId: string, device: NewDevice): Promise<Device> {
    return this.source
      .transaction((s) => devices.insertDevice(s, tenantId, device, Date.now()))
      .catch((error: unknown) => {
        if (oraCode(error) === ORA_UNIQUE_VIOLATION) throw new TelemetryError('ALREADY_EXISTS', `device "${device.id}" is already registered`);
        throw toStoreError(error);
      });
  }
  getDevices(tenantId: string, ids: readonly string[]): Promise<Device[]> {
    return this.tx((s) => devices.devicesByIds(s, tenantId, ids));
  }
  listDevices(tenantId: string, filter: DeviceFilter, page: PageRequest): Promise<Page<Device>> {
    return this.tx((s) => devices.listDevices(s, tenantId, filter, page));
  }
  latestReadings(tenantId: string, deviceIds: readonly string[]): Promise<Map<string, MetricPoint[]>> {
    return this.tx((s) => devices.latestByDevices(s, tenantId, deviceIds));
  }
  updateDevice(tenantId: string, deviceId: string, patch: DevicePatch): Promise<Device | undefined> {
    return this.tx((s) => devices.updateDevice(s, tenantId, deviceId, patch));
  }
  deleteDevice(tenantId: string, deviceId: string, keepData: boolean, at: number): Promise<DeviceDeletion | undefined> {
    return this.tx((s) => devices.deleteDevice(s, tenantId, deviceId, keepData, at));
  }
  removeDeletedDeviceData(limit: number): Promise<DeletedDeviceDataRemoval> {
    return this.tx((s) => devices.removeDeletedDeviceData(s, limit));
  }
  setHeartbeatTimeout(tenantId: string, deviceId: string, timeoutMs: number | null): Promise<Device | undefined> {
    return this.tx((s) => devices.setHeartbeat(s, tenantId, deviceId, timeoutMs));
  }
  decommissionDevice(tenantId: string, deviceId: string, at: number): Promise<DeviceStatusChange | undefined> {
    return this.tx((s) => devices.decommission(s, tenantId, deviceId, at));
  }
  markConnection(tenantId: string, deviceId: string, connected: boolean, at: number): Promise<DeviceStatusChange | undefined> {
    return this.tx((s) => devices.markConnection(s, tenantId, deviceId, connected, at));
  }
  markSilentDevices(now: number, defaultTimeoutMs: number, limit?: number): Promise<SilenceSweep> {
    return this.tx((s) => devices.markSilent(s, now, defaultTimeoutMs, limit));
  }

  // Readings
  /** One transaction on one pooled session; each primitive is awaited in turn. */
  transact<T>(work: (tx: BatchTransaction) => Steps<T>): Promise<T> {
    return this.tx((s) => runAsync(work(oracleBatchTransaction(s))));
  }
  watermarks(source: string): Promise<Map<number, number>> {
    return this.tx((s) => operations.watermarks(s, source));
  }
  queryReadings(tenantId: string, query: ReadingQuery): Promise<Page<MetricPoint>> {
    return this.tx((s) => queries.readings(s, tenantId, query));
  }
  prunedReadingEvents(tenantId: string, deviceIds: readonly string[]): Promise<Map<number, number>> {
    return this.tx((s) => retention.prunedReadingEvents(s, tenantId, deviceIds));
  }

  readingEventsAfter(query: EventReplayQuery): Promise<PersistedReading[]> {
    return this.tx((s) => queries.eventsAfter(s, query));
  }
  readingEventsByIds(tenantId: string, eventIds: readonly string[]): Promise<PersistedReading[]> {
    return this.tx((s) => queries.eventsByIds(s, tenantId, eventIds));
  }
  /**
   * One read-only transaction: under Oracle's default READ COMMITTED each statement would see
   * its own moment, and a batch committed between the runs (raw ends, rollups in the middle)
   * would count in some buckets and not others. READ ONLY reads every run as of its start.
   */
  aggregateBuckets(tenantId: string, runs: readonly AggregateQuery[]): Promise<DeviceBuckets[]> {
    return this.tx(async (s) => {
      if (runs.length > 1) await s.execute(queries.SQL.readOnlyTransaction);
      const found: DeviceBuckets[] = [];
      for (const query of runs) found.push(await queries.aggregate(s, tenantId, query));
      return found;
    });
  }
  seriesColumns(tenantId: string, query: SeriesQuery): Promise<SeriesColumns> {
    return this.tx((s) => queries.series(s, tenantId, query));
  }

  // Fan-out
  fanoutProgress(): Promise<Map<string, number>> {
    return this.tx((s) => operations.fanoutProgress(s));
  }
  recordFanoutProgress(positions: ReadonlyMap<string, number>): Promise<void> {
    return this.tx((s) => operations.recordFanout(s, positions));
  }
  anomaliesOfAllTenantsAfter(afterSeq: number, limit: number): Promise<Anomaly[]> {
    return this.tx((s) => anomalies.anomaliesAfter(s, undefined, afterSeq, limit));
  }

  // Rules and anomalies
  putAnomalyRule(rule: AnomalyRule): Promise<AnomalyRule> {
    return this.tx((s) => anomalies.putRule(s, rule));
  }
  listAnomalyRules(tenantId: string): Promise<AnomalyRule[]> {
    return this.tx((s) => anomalies.listRules(s, tenantId));
  }
  deleteAnomalyRule(tenantId: string, id: string): Promise<boolean> {
    return this.tx((s) => anomalies.deleteRule(s, tenantId, id));
  }
  listAnomalies(tenantId: string, filter: AnomalyFilter, page: PageRequest): Promise<Page<Anomaly>> {
    return this.tx((s) => anomalies.listAnomalies(s, tenantId, filter, page));
  }
  anomaliesAfter(tenantId: string, afterSeq: number, limit: number): Promise<Anomaly[]> {
    return this.tx((s) => anomalies.anomaliesAfter(s, tenantId, afterSeq, limit));
  }
  prunedAnomalySeq(tenantId: string): Promise<number> {
    return this.tx((s) => retention.prunedAnomalySeq(s, tenantId));
  }

  lastAnomalySeq(): Promise<number> {
    return this.tx((s) => anomalies.lastSeq(s));
  }
  transitionAnomaly(tenantId: string, id: number, transition: AnomalyTransition): Promise<Anomaly | undefined> {
    return this.tx((s) => anomalies.transition(s, tenantId, id, transition));
  }

  // Webhooks
  createWebhook(webhook: Webhook & { readonly secret: string }, maxPerTenant: number): Promise<WebhookCreation> {
    return this.tx((s) => webhooks.createWebhook(s, webhook, maxPerTenant));
  }
  listWebhooks(tenantId: string): Promise<Webhook[]> {
    return this.tx((s) => webhooks.listWebhooks(s, tenantId));
  }
  deleteWebhook(tenantId: string, id: string): Promise<boolean> {
    return this.tx((s) => webhooks.deleteWebhook(s, tenantId, id));
  }
  listWebhookDeliveries(tenantId: string, webhookId: string, limit: number): Promise<WebhookDelivery[]> {
    return this.tx((s) => webhooks.listDeliveries(s, tenantId, webhookId, limit));
  }
  claimDueDeliveries(now: number, limit: number, leaseMs: number): Promise<DueDelivery[]> {
    return this.tx((s) => webhooks.claimDue(s, now, limit, leaseMs));
  }
  recordDeliveryAttempt(deliveryId: number, outcome: DeliveryOutcome): Promise<void> {
    return this.tx((s) => webhooks.recordAttempt(s, deliveryId, outcome));
  }

  // Dead letters
  // Retention
  retentionOverrides(tenantId: string): Promise<RetentionOverrides> {
    return this.tx((s) => retention.retentionOverrides(s, tenantId));
  }
  setRetentionOverrides(tenantId: string, overrides: RetentionOverrides, at: number): Promise<void> {
    return this.tx((s) => retention.setRetentionOverrides(s, tenantId, overrides, at));
  }
  tenantsRetention(): Promise<Map<string, RetentionOverrides>> {
    return this.tx((s) => retention.tenantsRetention(s));
  }
  dropReadingsBefore(cutoff: number): Promise<number> {
    return this.tx((s) => retention.dropReadingsBefore(s, cutoff));
  }
  deleteExpired(rows: ExpiredRows): Promise<number> {
    return this.tx((s) => retention.deleteExpired(s, rows));
  }
  listDeadLetters(tenantId: string, page: PageRequest): Promise<Page<DeadLetter>> {
    return this.tx((s) => operations.listDeadLetters(s, tenantId, page.afterKey === undefined ? null : Number(page.afterKey), page.first));
  }
  getDeadLetter(tenantId: string, id: number): Promise<DeadLetter | undefined> {
    return this.tx((s) => operations.deadLetter(s, tenantId, id));
  }
  markDeadLetterReplayed(tenantId: string, id: number, at: number): Promise<void> {
    return this.tx((s) => operations.markReplayed(s, tenantId, id, at));
  }
  /** Empties the given tables, children first (test suites against a dedicated schema only). */
  async resetForTests(tables: readonly string[]): Promise<void> {
    await this.tx(async (session) => {
      for (const table of tables) {
        if (!/^[a-z_]+$/.test(table)) throw new Error(`not a table name: ${table}`);
        await session.execute(`DELETE FROM ${table}`);
      }
    });
  }

  // Commands
  insertCommand(command: Command): Promise<void> {
    return this.tx((s) => commands.insertCommand(s, command));
  }
  command(tenantId: string, id: string): Promise<Command | undefined> {
    return this.tx((s) => commands.command(s, tenantId, id));
  }
  commandsOf(tenantId: string, deviceId: string, page: CommandPageRequest): Promise<Page<Command>> {
    return this.tx((s) => commands.commandsOf(s, tenantId, deviceId, page));
  }
  pendingCommands(tenantId: string, deviceId: string, now: number): Promise<Command[]> {
    return this.tx((s) => commands.pendingCommands(s, tenantId, deviceId, now));
  }
  dueCommands(now: number, limit: number): Promise<Command[]> {
    return this.tx((s) => commands.dueCommands(s, now, limit));
  }
  updateCommand(next: Command, from: CommandStatus): Promise<boolean> {
    return this.tx((s) => commands.updateCommand(s, next, from));
  }

  close(): Promise<void> {
    return this.source.close();
  }
}
