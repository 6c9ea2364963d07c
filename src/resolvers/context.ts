import type DataLoader from 'dataloader';
import type { AnomalyService } from '../anomalies/anomaly-service';
import type { Caller } from '../domain/caller';
import type { MetricPoint } from '../domain/reading';
import type { DeadLetterReplay } from '../dead-letters/dead-letter-service';
import type { ReadingHub } from '../subscriptions/reading-hub';
import type { TenantHub } from '../subscriptions/tenant-hub';
import type { Anomaly, DeviceStatusChange } from '../domain/anomalies/anomaly';
import type { DeviceService } from '../devices/device-service';
import type { IngestService } from '../ingest/ingest-service';
import type { KeyService } from '../keys/key-service';
import type { AnomalyStore } from '../store/ports/anomaly-store';
import type { DeadLetterStore } from '../store/ports/dead-letter-store';
import type { DeviceStore } from '../store/ports/device-store';
import type { ReadingStore } from '../store/ports/reading-store';
import type { WebhookService } from '../webhooks/webhook-service';
import type { RetentionService } from '../retention/retention-service';
import type { FeedObserver } from '../subscriptions/resumable-feed';
import type { TraceHeaders } from '../tracing/tracing';
import type { CommandService } from '../commands/command-service';
import type { Command } from '../domain/command';

/** What resolvers may use: ports and services, never a concrete backend. */
export interface Services {
  readonly ingest: IngestService;
  readonly store: DeviceStore & ReadingStore & AnomalyStore & DeadLetterStore;
  readonly devices: DeviceService;
  readonly hub: ReadingHub;
  readonly anomalyHub: TenantHub<Anomaly>;
  /** The seq through which every anomaly change has reached anomalyHub (or is gone for good): AnomalyOrder's. */
  readonly anomaliesPublishedThrough?: () => number;
  readonly statusHub: TenantHub<DeviceStatusChange>;
  /** Commands to devices: sent, read, and moved by devices (through the MQTT broker). */
  readonly commands: CommandService;
  /** Status changes of commands (commandUpdated). */
  readonly commandHub: TenantHub<Command>;
  readonly keys: KeyService;
  readonly anomalies: AnomalyService;
  readonly webhooks: WebhookService;
  /** Retention settings per tenant; also tells the query planners where data may be gone. */
  readonly retention: RetentionService;
  /** Heartbeat timeout of devices without their own. */
  readonly defaultHeartbeatTimeoutMs: number;
  /** Sends a dead letter of the tenant back to the stream. */
  readonly replayDeadLetter: (tenantId: string, id: number) => Promise<DeadLetterReplay>;
  /** Partitions of the readings topic (subscription cursors cover all of them). */
  readonly partitions: readonly number[];
  /** Told of subscription resumes and replayed events (metrics); none: not counted. */
  readonly feedObserver?: FeedObserver;
  readonly limits: {
    readonly maxPageSize: number;
    readonly maxBatchSize: number;
    readonly maxAggregateBuckets: number;
    readonly maxSeriesReadings: number;
  };
}

export interface Loaders {
  /** Latest value per metric, per device id: one store call per request. */
  readonly latest: DataLoader<string, MetricPoint[]>;
}

export interface GraphQLContext {
  readonly caller: Caller;
  readonly services: Services;
  readonly loaders: Loaders;
  /** The HTTP request's id (over WebSocket, the connection's): on its log lines and masked errors. */
  readonly requestId?: string;
  /** The HTTP request's headers, for a W3C `traceparent` (none over WebSocket). */
  readonly traceHeaders?: TraceHeaders;
}
