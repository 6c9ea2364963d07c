import type { ApiKeyInfo, ApiKeyRecord, KeyRevocation, NewApiKey } from '../domain/api-key';
import type { Anomaly, AnomalyKind, AnomalyStatus, AnomalyTransition, DeviceStatusChange, Severity, SilenceSweep } from '../domain/anomalies/anomaly';
import type { AnomalyRule } from '../domain/anomalies/rules';
import type { DeadLetter } from '../domain/dead-letter';
import type { Device, NewDevice } from '../domain/device';
import type { Page, PageRequest } from '../domain/page';
import type { MetricPoint, PersistedReading, SortOrder } from '../domain/reading';
import type { BucketData } from '../domain/timeseries/aggregate-buckets';
import type { DeliveryOutcome, DueDelivery, Webhook, WebhookCreation, WebhookDelivery } from '../domain/webhooks';
import type { Steps } from './batch-steps';
import type { BatchTransaction } from './batch-transaction';

/**
 * The Store port: everything the service keeps in its database. Every method that touches
 * tenant data takes the tenant id first; no implementation may return another tenant's
 * rows. Nothing here is specific to SQLite or to Oracle.
 */

export interface DeviceFilter {
  /** Devices carrying this tag. */
  readonly tag?: string | undefined;
  /** Devices whose name contains this text, case-insensitively. */
  readonly nameContains?: string | undefined;
}

export interface ReadingQuery {
  readonly deviceId: string;
  readonly metric: string;
  /** Inclusive lower bound, UTC ms. */
  readonly from?: number | undefined;
  /** Exclusive upper bound, UTC ms. */
  readonly to?: number | undefined;
  readonly first: number;
  /** Timestamp of the last point of the previous page; exclusive. */
  readonly afterTimestamp?: number | undefined;
  readonly order: SortOrder;
}

export interface AnomalyFilter {
  readonly deviceId?: string | undefined;
  readonly status?: AnomalyStatus | undefined;
  readonly kind?: AnomalyKind | undefined;
  readonly minSeverity?: Severity | undefined;
}

export interface EventReplayQuery {
  readonly tenantId: string;
  readonly deviceIds: readonly string[];
  /** Exclusive start per partition: events with offset greater than this are returned. */
  readonly after: ReadonlyMap<number, number>;
  /** Only these metrics (all when undefined). */
  readonly metric?: string | undefined;
  /** Most events returned. */
  readonly limit: number;
}

/** Buckets of one metric over several devices, between consecutive boundaries. */
export interface AggregateQuery {
  readonly deviceIds: readonly string[];
  readonly metric: string;
  /**
   * Ascending edges: bucket i holds data in [boundaries[i], boundaries[i + 1]). For a rollup
   * read every edge must be a multiple of the resolution (the planner guarantees it).
   */
  readonly boundaries: readonly number[];
  /** A rollup resolution in ms, or 'raw' to fold the readings themselves. */
  readonly source: number | 'raw';
  /** With 'raw': keep each bucket's values (for percentiles). */
  readonly withValues?: boolean;
}

/** Per device, one entry per bucket: its data, or undefined when it holds none. */
export type DeviceBuckets = Map<string, (BucketData | undefined)[]>;

export interface SeriesQuery {
  readonly deviceId: string;
  readonly metric: string;
  readonly from: number;
  readonly to: number;
  /** Most rows read; more than that rejects with TelemetryError BAD_USER_INPUT. */
  readonly maxRows: number;
}

/** A series as two columns in time order (typed arrays: a month of seconds is 2.6M points). */
export interface SeriesColumns {
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
}

export interface Store {
  // Tenants and keys
  ensureTenant(id: string, name: string): Promise<void>;
  /** False when the tenant exists already. */
  createTenant(id: string, name: string): Promise<boolean>;
  tenantExists(id: string): Promise<boolean>;
  createApiKey(key: NewApiKey): Promise<void>;
  findApiKeyBySecretHash(secretHash: string): Promise<ApiKeyRecord | undefined>;
  countAdminKeys(): Promise<number>;
  listApiKeys(tenantId: string, includeRevoked: boolean): Promise<ApiKeyInfo[]>;
  /**
   * Revokes a key unless it is the tenant's last active admin key (which would lock the tenant
   * out). The check and the revocation are one transaction: two admins revoking each other's
   * keys at the same moment cannot both succeed.
   */
  revokeApiKey(tenantId: string, id: string, at: number): Promise<KeyRevocation>;
  /**
   * Revokes the device's active device keys and creates `replacement` in one transaction;
   * returns the ids revoked.
   */
  replaceDeviceKeys(tenantId: string, deviceId: string, replacement: NewApiKey, at: number): Promise<string[]>;
  /** Records that a key was used (callers throttle how often). */
  touchApiKey(id: string, at: number): Promise<void>;

  // Devices
  /** Rejects with TelemetryError ALREADY_EXISTS when the id is taken in the tenant. */
  registerDevice(tenantId: string, device: NewDevice): Promise<Device>;
  getDevices(tenantId: string, ids: readonly string[]): Promise<Device[]>;
  listDevices(tenantId: string, filter: DeviceFilter, page: PageRequest): Promise<Page<Device>>;
  /** Latest value of every metric of each device (loaded in one call for many devices). */
  latestReadings(tenantId: string, deviceIds: readonly string[]): Promise<Map<string, MetricPoint[]>>;

  // Readings
  /**
   * Runs `work` in ONE database transaction over this backend's BatchTransaction primitives:
   * commits when it returns, rolls back when it throws. The consumer's batch pipeline
   * (consumers/pipeline/apply-batch.ts) is the work; a backend implements only the primitives,
   * never the steps, so the steps cannot differ between backends.
   */
  transact<T>(work: (tx: BatchTransaction) => Steps<T>): Promise<T>;
  /** Applied offset of each partition of `source` (absent: nothing applied yet). */
  watermarks(source: string): Promise<Map<number, number>>;
  queryReadings(tenantId: string, query: ReadingQuery): Promise<Page<MetricPoint>>;
  /** Persisted reading events after the given positions, ordered by partition then offset. */
  readingEventsAfter(query: EventReplayQuery): Promise<PersistedReading[]>;
  /** The stored events of these event ids (those that exist), with their stored metrics. */
  readingEventsByIds(tenantId: string, eventIds: readonly string[]): Promise<PersistedReading[]>;

  // Fan-out to the events topic (split deployments)
  /** Published positions: 'readings:<partition>' -> offset, 'anomalies' -> seq. */
  fanoutProgress(): Promise<Map<string, number>>;
  recordFanoutProgress(positions: ReadonlyMap<string, number>): Promise<void>;
  /** Anomalies of every tenant with seq > afterSeq, in seq order. */
  anomaliesSince(afterSeq: number, limit: number): Promise<Anomaly[]>;

  // Time series
  /** Partial aggregates per bucket, from one rollup level or from raw readings. */
  aggregateBuckets(tenantId: string, query: AggregateQuery): Promise<DeviceBuckets>;
  /** Every stored value of one series in [from, to), in time order. */
  seriesColumns(tenantId: string, query: SeriesQuery): Promise<SeriesColumns>;

  // Anomaly rules
  /** Creates or replaces the rule for (scope, metric); returns it as stored (its id is kept on replace). */
  putAnomalyRule(rule: AnomalyRule): Promise<AnomalyRule>;
  listAnomalyRules(tenantId: string): Promise<AnomalyRule[]>;
  /** False when no such rule exists in the tenant. */
  deleteAnomalyRule(tenantId: string, id: string): Promise<boolean>;

  // Anomalies
  /** Newest first; `afterKey` is the seq of the last item of the previous page. */
  listAnomalies(tenantId: string, filter: AnomalyFilter, page: PageRequest): Promise<Page<Anomaly>>;
  /** Anomalies with seq > afterSeq in seq order (subscription replay). */
  anomaliesAfter(tenantId: string, afterSeq: number, limit: number): Promise<Anomaly[]>;
  /** Highest seq stored (0 when none): where a live-only subscription starts. */
  lastAnomalySeq(): Promise<number>;
  /**
   * acknowledge: OPEN -> ACKNOWLEDGED; resolve: OPEN or ACKNOWLEDGED -> RESOLVED.
   * Undefined when the anomaly does not exist in the tenant; TelemetryError BAD_USER_INPUT
   * when the transition is not allowed from its status.
   */
  transitionAnomaly(tenantId: string, seq: number, transition: AnomalyTransition): Promise<Anomaly | undefined>;

  // Liveness
  /** Online devices silent past their timeout go OFFLINE, each with a SILENCE anomaly. */
  markSilentDevices(now: number, defaultTimeoutMs: number): Promise<SilenceSweep>;
  /** Undefined when the device does not exist in the tenant. */
  setHeartbeatTimeout(tenantId: string, deviceId: string, timeoutMs: number | null): Promise<Device | undefined>;
  /** Marks the device DECOMMISSIONED (no liveness checks); undefined when it does not exist. */
  decommissionDevice(tenantId: string, deviceId: string, at: number): Promise<DeviceStatusChange | undefined>;

  // Webhooks
  /** Creates a webhook unless the tenant has `maxPerTenant` already; counted and inserted in one transaction. */
  createWebhook(webhook: Webhook & { readonly secret: string }, maxPerTenant: number): Promise<WebhookCreation>;
  listWebhooks(tenantId: string): Promise<Webhook[]>;
  /** Deletes the webhook and its delivery history; false when it does not exist in the tenant. */
  deleteWebhook(tenantId: string, id: string): Promise<boolean>;
  /** Newest first. */
  listWebhookDeliveries(tenantId: string, webhookId: string, limit: number): Promise<WebhookDelivery[]>;
  /**
   * Pending deliveries due at `now`, leased for `leaseMs`: a deliverer that dies mid-send
   * leaves them to be retried when the lease ends (at-least-once).
   */
  claimDueDeliveries(now: number, limit: number, leaseMs: number): Promise<DueDelivery[]>;
  recordDeliveryAttempt(deliveryId: number, outcome: DeliveryOutcome): Promise<void>;

  // Dead letters
  listDeadLetters(tenantId: string, page: PageRequest): Promise<Page<DeadLetter>>;
  getDeadLetter(tenantId: string, id: number): Promise<DeadLetter | undefined>;
  markDeadLetterReplayed(tenantId: string, id: number, at: number): Promise<void>;
  /** All dead letters whatever the tenant (operators; messages without a readable tenant). */
  countDeadLetters(): Promise<number>;

  close(): Promise<void>;
}
