import type { Anomaly, DeviceStatusChange } from './anomalies/anomaly';
import type { PersistedReading } from './reading';
import type { TraceCarrier } from './cloud-event';
import type { Command } from './command';

/**
 * The messages of the `events` topic: what the consumer committed, published for every API
 * node (consumers/event-publisher.ts writes them, subscriptions/event-tail.ts reads them).
 *
 * Keys: `readings/<readings partition>` (one device's readings stay in order), `anomalies`
 * (one key, so seq order), `status` and `commands`. Each message is the JSON text of one FanoutMessage.
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
  ) &
    /** The trace context of the publishing consumer's span (CloudEvents distributed tracing), when tracing. */
    Partial<TraceCarrier>;
