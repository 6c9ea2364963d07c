import Database from 'better-sqlite3';
import { BackendError, TelemetryError } from '../../domain/errors';
import type { Metric, MetricPoint, PersistedReading } from '../../domain/reading';
import type { ApiKeyRecord, ApiKeyInfo, NewApiKey, KeyRevocation } from '../../domain/api-key';
import type { DeadLetter } from '../../domain/dead-letter';
import type { Device, NewDevice } from '../../domain/device';
import type { DeviceFilter } from '../ports/device-store';
import type { EventReplayQuery, ReadingQuery, AggregateQuery, DeviceBuckets, SeriesColumns, SeriesQuery } from '../ports/reading-store';
import type { Store } from '../store';
import type { AnomalyFilter } from '../ports/anomaly-store';
import type { Page, PageRequest } from '../../domain/page';
import type { AnomalyTransition, SilenceSweep, Anomaly, DeviceStatus, DeviceStatusChange } from '../../domain/anomalies/anomaly';
import type { WebhookCreation, DeliveryOutcome, DueDelivery, Webhook, WebhookDelivery } from '../../domain/webhooks';
import { migrate } from './migrate';
import { runSync, type Steps } from '../batch-steps';
import type { BatchTransaction } from '../batch-transaction';
import { sqliteBatchTransaction } from './batch-transaction';
import { readRawBuckets, readRollupBuckets } from './rollups';
import { readSeriesColumns } from './series';
import * as apiKeys from './api-keys';
import * as anomalyQueries from './anomaly-queries';
import { markSilentDevices } from './liveness';
import * as webhookQueries from './webhooks';
import type { AnomalyRule } from '../../domain/anomalies/rules';

export interface SqliteStoreOptions {
  /** Path of the database file (created if missing), or ':memory:'. */
  readonly file: string;
  /** How long a writer waits for another connection's lock, ms. @default 5000 */
  readonly busyTimeoutMs?: number;
}

interface DeviceRow {
  tenant_id: string;
  id: string;
  name: string;
  tags: string;
  created_at: number;
  status: DeviceStatus;
  last_seen_at: number | null;
  heartbeat_timeout_ms: number | null;
}

const DEVICE_COLUMNS = 'tenant_id, id, name, tags, created_at, status, last_seen_at, heartbeat_timeout_ms';

const toDevice = (row: DeviceRow): Device => ({
  tenantId: row.tenant_id,
  id: row.id,
  name: row.name,
  tags: JSON.parse(row.tags) as string[],
  createdAt: row.created_at,
  status: row.status,
  lastSeenAt: row.last_seen_at,
  heartbeatTimeoutMs: row.heartbeat_timeout_ms,
});

const DEAD_LETTER_COLUMNS = 'id, tenant_id, topic, stream_partition, stream_offset, reason, payload, created_at, replayed_at';

interface DeadLetterRow {
  id: number;
  tenant_id: string | null;
  topic: string;
  stream_partition: number;
  stream_offset: number;
  reason: string;
  payload: string;
  created_at: number;
  replayed_at: number | null;
}

const toDeadLetter = (row: DeadLetterRow): DeadLetter => ({
  id: row.id,
  tenantId: row.tenant_id,
  topic: row.topic,
  partition: row.stream_partition,
  offset: row.stream_offset,
  reason: row.reason,
  payload: row.payload,
  createdAt: row.created_at,
  replayedAt: row.replayed_at,
});

interface EventRow {
  device_id: string;
  stream_partition: number;
  stream_offset: number;
  event_id: string;
  ts: number;
  metrics: string;
}

const toPersistedReading = (tenantId: string, row: EventRow): PersistedReading => ({
  tenantId,
  deviceId: row.device_id,
  partition: row.stream_partition,
  offset: row.stream_offset,
  eventId: row.event_id,
  timestamp: row.ts,
  metrics: JSON.parse(row.metrics) as Metric[],
});

/** SQLite codes that clear up on their own: locks held by another connection, full disk, I/O. */
const RETRYABLE_SQLITE_CODES = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|PROTOCOL)/;

/** Maps driver errors to the store's typed errors, so callers never see raw SQLite errors. */
function toStoreError(error: unknown): Error {
  if (error instanceof TelemetryError || error instanceof BackendError) return error;
  const code = (error as { code?: unknown }).code;
  const retryable = typeof code === 'string' && RETRYABLE_SQLITE_CODES.test(code);
  return new BackendError(`database error${typeof code === 'string' ? ` ${code}` : ''}: ${(error as Error).message}`, retryable, error);
}

/** The embedded Store: one SQLite file in WAL mode; readers and the consumer may be in other threads. */
export class SqliteStore implements Store {
  private readonly db: Database.Database;
  /** The batch primitives, their statements prepared on first use. */
  private batchTransaction: BatchTransaction | undefined;

  constructor(options: SqliteStoreOptions) {
    this.db = new Database(options.file);
    this.db.pragma('journal_mode = WAL');
    // The stream keeps accepted readings durable; the database can be rebuilt from it past the
    // watermark, so NORMAL (durable across process crashes, one fsync per checkpoint) is enough.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    this.db.pragma('foreign_keys = ON');
    // 64 MiB of page cache per connection: the hot index pages of a busy fleet stay in memory.
    this.db.pragma('cache_size = -65536');
    migrate(this.db);
  }

  private run<T>(work: () => T): Promise<T> {
    try {
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(toStoreError(error));
    }
  }

  ensureTenant(id: string, name: string): Promise<void> {
    return this.run(() => {
      this.db.prepare('INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING').run(id, name, Date.now());
    });
  }

  createTenant(id: string, name: string): Promise<boolean> {
    return this.run(
      () => this.db.prepare('INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING').run(id, name, Date.now()).changes > 0,
    );
  }

  tenantExists(id: string): Promise<boolean> {
    return this.run(() => this.db.prepare('SELECT 1 FROM tenants WHERE id = ?').get(id) !== undefined);
  }

  createApiKey(key: NewApiKey): Promise<void> {
    return this.run(() => apiKeys.createApiKey(this.db, key, Date.now()));
  }

  findApiKeyBySecretHash(secretHash: string): Promise<ApiKeyRecord | undefined> {
    return this.run(() => apiKeys.findApiKeyBySecretHash(this.db, secretHash));
  }

  countAdminKeys(): Promise<number> {
    return this.run(() => (this.db.prepare("SELECT COUNT(*) AS n FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL").get() as { n: number }).n);
  }

  listApiKeys(tenantId: string, includeRevoked: boolean): Promise<ApiKeyInfo[]> {
    return this.run(() => apiKeys.listApiKeys(this.db, tenantId, includeRevoked));
  }

  revokeApiKey(tenantId: string, id: string, at: number): Promise<KeyRevocation> {
    return this.run(() => this.db.transaction(() => apiKeys.revokeApiKey(this.db, tenantId, id, at)).immediate());
  }

  replaceDeviceKeys(tenantId: string, deviceId: string, replacement: NewApiKey, at: number): Promise<string[]> {
    return this.run(() => this.db.transaction(() => apiKeys.replaceDeviceKeys(this.db, tenantId, deviceId, replacement, at)).immediate());
  }

  touchApiKey(id: string, at: number): Promise<void> {
    return this.run(() => {
      this.db.prepare('UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)').run(at, id, at);
    });
  }

  registerDevice(tenantId: string, device: NewDevice): Promise<Device> {
    return this.run(() => {
      const createdAt = Date.now();
      const row = this.db
        .prepare(
          `INSERT INTO devices (tenant_id, id, name, tags, created_at, heartbeat_timeout_ms) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (tenant_id, id) DO NOTHING RETURNING ${DEVICE_COLUMNS}`,
        )
        .get(tenantId, device.id, device.name, JSON.stringify(device.tags), createdAt, device.heartbeatTimeoutMs ?? null) as DeviceRow | undefined;
      if (!row) throw new TelemetryError('ALREADY_EXISTS', `device ${device.id} is already registered`);
      return toDevice(row);
    });
  }

  getDevices(tenantId: string, ids: readonly string[]): Promise<Device[]> {
    return this.run(() =>
      (
        this.db
          .prepare(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE tenant_id = ? AND id IN (SELECT value FROM json_each(?))`)
          .all(tenantId, JSON.stringify(ids)) as DeviceRow[]
      ).map(toDevice),
    );
  }

  listDevices(tenantId: string, filter: DeviceFilter, page: PageRequest): Promise<Page<Device>> {
    return this.run(() => {
      const rows = this.db
        .prepare(
          `SELECT ${DEVICE_COLUMNS} FROM devices
           WHERE tenant_id = @tenantId
             AND (@after IS NULL OR id > @after)
             AND (@tag IS NULL OR EXISTS (SELECT 1 FROM json_each(devices.tags) WHERE json_each.value = @tag))
             AND (@name IS NULL OR instr(lower(name), lower(@name)) > 0)
           ORDER BY id LIMIT @limit`,
        )
        .all({ tenantId, after: page.afterKey ?? null, tag: filter.tag ?? null, name: filter.nameContains ?? null, limit: page.first + 1 }) as DeviceRow[];
      return { items: rows.slice(0, page.first).map(toDevice), hasMore: rows.length > page.first };
    });
  }

  latestReadings(tenantId: string, deviceIds: readonly string[]): Promise<Map<string, MetricPoint[]>> {
    return this.run(() => {
      const rows = this.db
        .prepare(
          'SELECT device_id, metric, ts, value FROM latest_readings WHERE tenant_id = ? AND device_id IN (SELECT value FROM json_each(?)) ORDER BY device_id, metric',
        )
        .all(tenantId, JSON.stringify(deviceIds)) as { device_id: string; metric: string; ts: number; value: number }[];
      const byDevice = new Map<string, MetricPoint[]>();
      for (const row of rows) {
        const points = byDevice.get(row.device_id) ?? [];
        points.push({ deviceId: row.device_id, metric: row.metric, timestamp: row.ts, value: row.value });
        byDevice.set(row.device_id, points);
      }
      return byDevice;
    });
  }

  /** Runs synchronously in one IMMEDIATE transaction (store/batch-steps.ts says why). */
  transact<T>(work: (tx: BatchTransaction) => Steps<T>): Promise<T> {
    return this.run(() => {
      this.batchTransaction ??= sqliteBatchTransaction(this.db);
      const tx = this.batchTransaction;
      return this.db.transaction(() => runSync(work(tx))).immediate();
    });
  }

  watermarks(source: string): Promise<Map<number, number>> {
    return this.run(() => {
      const rows = this.db.prepare('SELECT stream_partition, applied_offset FROM stream_watermarks WHERE source = ?').all(source) as {
        stream_partition: number;
        applied_offset: number;
      }[];
      return new Map(rows.map((row) => [row.stream_partition, row.applied_offset]));
    });
  }

  queryReadings(tenantId: string, query: ReadingQuery): Promise<Page<MetricPoint>> {
    return this.run(() => {
      const newestFirst = query.order === 'NEWEST_FIRST';
      const rows = this.db
        .prepare(
          `SELECT ts, value FROM readings
           WHERE tenant_id = @tenantId AND device_id = @deviceId AND metric = @metric
             AND ts >= @from AND ts < @to
             AND (@after IS NULL OR ts ${newestFirst ? '<' : '>'} @after)
           ORDER BY ts ${newestFirst ? 'DESC' : 'ASC'} LIMIT @limit`,
        )
        .all({
          tenantId,
          deviceId: query.deviceId,
          metric: query.metric,
          from: query.from ?? Number.MIN_SAFE_INTEGER,
          to: query.to ?? Number.MAX_SAFE_INTEGER,
          after: query.afterTimestamp ?? null,
          limit: query.first + 1,
        }) as { ts: number; value: number }[];
      return {
        items: rows.slice(0, query.first).map((row) => ({ deviceId: query.deviceId, metric: query.metric, timestamp: row.ts, value: row.value })),
        hasMore: rows.length > query.first,
      };
    });
  }

  readingEventsAfter(query: EventReplayQuery): Promise<PersistedReading[]> {
    return this.run(() => {
      // One query per partition over all devices: each result is then an exact prefix of what
      // follows the position in that partition, which is what a resuming subscriber needs.
      // Each query reads a window of offsets, (from, to]: the (tenant, device, partition, offset)
      // index then visits only the window's rows of these devices, where an open range would
      // collect and sort every later row of every device for each page (a replay of n events
      // cost n^2). Offsets are dense in a partition, so windows that double reach the
      // watermark in a few steps even when the devices are a small share of the partition.
      // INDEXED BY: without table statistics SQLite would rather scan the tenant's primary key.
      const statement = this.db.prepare(
        `SELECT device_id, stream_partition, stream_offset, event_id, ts, metrics FROM reading_events INDEXED BY reading_events_by_position
         WHERE tenant_id = ? AND device_id IN (SELECT value FROM json_each(?)) AND stream_partition = ? AND stream_offset > ? AND stream_offset <= ?
         ORDER BY stream_offset LIMIT ?`,
      );
      const readWatermark = this.db.prepare("SELECT applied_offset FROM stream_watermarks WHERE source = 'readings' AND stream_partition = ?").pluck();
      const devices = JSON.stringify(query.deviceIds);
      const events: PersistedReading[] = [];
      const read = this.db.transaction(() => {
        for (const [partition, after] of [...query.after].sort((a, b) => a[0] - b[0])) {
          const top = (readWatermark.get(partition) as number | undefined) ?? Number.MAX_SAFE_INTEGER;
          let from = after;
          let width = Math.max(64, 2 * (query.limit - events.length));
          while (from < top && events.length < query.limit) {
            const remaining = query.limit - events.length;
            const to = Math.min(top, from + width);
            const rows = statement.all(query.tenantId, devices, partition, from, to, remaining) as EventRow[];
            for (const row of rows) events.push(toPersistedReading(query.tenantId, row));
            if (rows.length === remaining) break;
            from = to;
            width *= 2;
          }
        }
      });
      read.deferred(); // one snapshot: the windows of a page agree with each other
      return events;
    });
  }

  aggregateBuckets(tenantId: string, query: AggregateQuery): Promise<DeviceBuckets> {
    return this.run(() =>
      query.source === 'raw' ? readRawBuckets(this.db, tenantId, query, query.withValues ?? false) : readRollupBuckets(this.db, tenantId, query, query.source),
    );
  }

  seriesColumns(tenantId: string, query: SeriesQuery): Promise<SeriesColumns> {
    return this.run(() => readSeriesColumns(this.db, tenantId, query));
  }

  putAnomalyRule(rule: AnomalyRule): Promise<AnomalyRule> {
    return this.run(() => anomalyQueries.putAnomalyRule(this.db, rule));
  }

  listAnomalyRules(tenantId: string): Promise<AnomalyRule[]> {
    return this.run(() => anomalyQueries.listAnomalyRules(this.db, tenantId));
  }

  deleteAnomalyRule(tenantId: string, id: string): Promise<boolean> {
    return this.run(() => anomalyQueries.deleteAnomalyRule(this.db, tenantId, id));
  }

  listAnomalies(tenantId: string, filter: AnomalyFilter, page: PageRequest): Promise<Page<Anomaly>> {
    return this.run(() => anomalyQueries.listAnomalies(this.db, tenantId, filter, page));
  }

  anomaliesAfter(tenantId: string, afterSeq: number, limit: number): Promise<Anomaly[]> {
    return this.run(() => anomalyQueries.anomaliesAfter(this.db, tenantId, afterSeq, limit));
  }

  lastAnomalySeq(): Promise<number> {
    return this.run(() => anomalyQueries.lastAnomalySeq(this.db));
  }

  transitionAnomaly(tenantId: string, seq: number, transition: AnomalyTransition): Promise<Anomaly | undefined> {
    return this.run(() => this.db.transaction(() => anomalyQueries.transitionAnomaly(this.db, tenantId, seq, transition)).immediate());
  }

  markSilentDevices(now: number, defaultTimeoutMs: number): Promise<SilenceSweep> {
    return this.run(() => this.db.transaction(() => markSilentDevices(this.db, now, defaultTimeoutMs)).immediate());
  }

  setHeartbeatTimeout(tenantId: string, deviceId: string, timeoutMs: number | null): Promise<Device | undefined> {
    return this.run(() => {
      const row = this.db
        .prepare(`UPDATE devices SET heartbeat_timeout_ms = ? WHERE tenant_id = ? AND id = ? RETURNING ${DEVICE_COLUMNS}`)
        .get(timeoutMs, tenantId, deviceId) as DeviceRow | undefined;
      return row && toDevice(row);
    });
  }

  decommissionDevice(tenantId: string, deviceId: string, at: number): Promise<DeviceStatusChange | undefined> {
    return this.run(() =>
      this.db
        .transaction(() => {
          const row = this.db.prepare('SELECT status, last_seen_at FROM devices WHERE tenant_id = ? AND id = ?').get(tenantId, deviceId) as
            { status: DeviceStatus; last_seen_at: number | null } | undefined;
          if (!row) return undefined;
          this.db.prepare("UPDATE devices SET status = 'DECOMMISSIONED' WHERE tenant_id = ? AND id = ?").run(tenantId, deviceId);
          const change: DeviceStatusChange = { tenantId, deviceId, status: 'DECOMMISSIONED', previousStatus: row.status, at, lastSeenAt: row.last_seen_at };
          return change;
        })
        .immediate(),
    );
  }

  createWebhook(webhook: Webhook & { readonly secret: string }, maxPerTenant: number): Promise<WebhookCreation> {
    return this.run(() => this.db.transaction(() => webhookQueries.createWebhook(this.db, webhook, maxPerTenant)).immediate());
  }

  listWebhooks(tenantId: string): Promise<Webhook[]> {
    return this.run(() => webhookQueries.listWebhooks(this.db, tenantId));
  }

  deleteWebhook(tenantId: string, id: string): Promise<boolean> {
    return this.run(() => this.db.transaction(() => webhookQueries.deleteWebhook(this.db, tenantId, id)).immediate());
  }

  listWebhookDeliveries(tenantId: string, webhookId: string, limit: number): Promise<WebhookDelivery[]> {
    return this.run(() => webhookQueries.listWebhookDeliveries(this.db, tenantId, webhookId, limit));
  }

  claimDueDeliveries(now: number, limit: number, leaseMs: number): Promise<DueDelivery[]> {
    return this.run(() => this.db.transaction(() => webhookQueries.claimDueDeliveries(this.db, now, limit, leaseMs)).immediate());
  }

  recordDeliveryAttempt(deliveryId: number, outcome: DeliveryOutcome): Promise<void> {
    return this.run(() => webhookQueries.recordDeliveryAttempt(this.db, deliveryId, outcome));
  }

  readingEventsByIds(tenantId: string, eventIds: readonly string[]): Promise<PersistedReading[]> {
    return this.run(() => {
      const rows = this.db
        .prepare(
          `SELECT device_id, stream_partition, stream_offset, event_id, ts, metrics FROM reading_events
           WHERE tenant_id = ? AND event_id IN (SELECT value FROM json_each(?))`,
        )
        .all(tenantId, JSON.stringify(eventIds)) as EventRow[];
      return rows.map((row) => toPersistedReading(tenantId, row));
    });
  }

  fanoutProgress(): Promise<Map<string, number>> {
    return this.run(
      () =>
        new Map(
          (this.db.prepare('SELECT name, position FROM fanout_progress').all() as { name: string; position: number }[]).map((row) => [row.name, row.position]),
        ),
    );
  }

  recordFanoutProgress(positions: ReadonlyMap<string, number>): Promise<void> {
    return this.run(() => {
      const upsert = this.db.prepare(
        'INSERT INTO fanout_progress (name, position) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET position = max(fanout_progress.position, excluded.position)',
      );
      this.db.transaction(() => {
        for (const [name, position] of positions) upsert.run(name, position);
      })();
    });
  }

  anomaliesOfAllTenantsAfter(afterSeq: number, limit: number): Promise<Anomaly[]> {
    return this.run(() => anomalyQueries.anomaliesOfAllTenantsAfter(this.db, afterSeq, limit));
  }

  listDeadLetters(tenantId: string, page: PageRequest): Promise<Page<DeadLetter>> {
    return this.run(() => {
      const rows = this.db
        .prepare(`SELECT ${DEAD_LETTER_COLUMNS} FROM dead_letters WHERE tenant_id = ? AND (? IS NULL OR id > ?) ORDER BY id LIMIT ?`)
        .all(tenantId, page.afterKey ?? null, page.afterKey === undefined ? null : Number(page.afterKey), page.first + 1) as DeadLetterRow[];
      return { items: rows.slice(0, page.first).map(toDeadLetter), hasMore: rows.length > page.first };
    });
  }

  getDeadLetter(tenantId: string, id: number): Promise<DeadLetter | undefined> {
    return this.run(() => {
      const row = this.db.prepare(`SELECT ${DEAD_LETTER_COLUMNS} FROM dead_letters WHERE tenant_id = ? AND id = ?`).get(tenantId, id) as
        DeadLetterRow | undefined;
      return row && toDeadLetter(row);
    });
  }

  markDeadLetterReplayed(tenantId: string, id: number, at: number): Promise<void> {
    return this.run(() => {
      this.db.prepare('UPDATE dead_letters SET replayed_at = ? WHERE tenant_id = ? AND id = ?').run(at, tenantId, id);
    });
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
