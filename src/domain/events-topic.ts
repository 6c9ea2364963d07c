import type { Anomaly, DeviceStatusChange } from './anomalies/anomaly';
import type { PersistedReading } from './reading';
import type { TraceCarrier } from './cloud-event';
import type { Command } from './command';

/**
 * The messages of the `events` topic: what the consumer committed, published for every API
 * node (consumers/event-publisher.ts writes them, subscriptions/event-tail.ts reads them).
 *
 * Keys: `readings/<readings partition>` (one device's readings stay in order), `anomalies`
 * (one key, so seq order), `status`, `commands`, and the revocation notices' `keys`
 * (revokedKeys) and `devices` (deviceDeleted), which the API node that revoked or deleted
 * writes (domain/revocation-notice.ts). Each message is the JSON text of one FanoutMessage.
 */
export type FanoutMessage =
  /** Readings as stored, in stream order within their readings partition. */
  (
    | { readonly kind: 'readings'; readonly readings: PersistedReading[] }
    /** Anomalies opened or updated by a commit, in seq order. */
    | { readonly kind: 'anomalies'; readonly anomalies: Anomaly[] }
    /** Devices that went online, offline or were decommissioned. */
    | { readonly kind: 'status'; readonly changes: DeviceStatusChange[] }
    /** Commands to devices as they were stored or moved (sent, delivered, answered, expired): commandUpdated, and a PENDING one is written by the node holding its device. */
    | { readonly kind: 'commands'; readonly commands: Command[] }
    /** API keys revoked (revokeApiKey, rotateDeviceKey, deleteDevice): every API node forgets them and closes their connections. */
    | { readonly kind: 'revokedKeys'; readonly keyIds: string[] }
    /** A device deleted: every API node forgets it, ends its readings subscriptions and closes its MQTT connections. */
    | { readonly kind: 'deviceDeleted'; readonly tenantId: string; readonly deviceId: string }
  ) &
    /** The trace context of the publishing consumer's span (CloudEvents distributed tracing), when tracing. */
    Partial<TraceCarrier>;
