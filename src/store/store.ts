import type { AnomalyStore } from './ports/anomaly-store';
import type { BatchStore } from './ports/batch-store';
import type { CommandStore } from './ports/command-store';
import type { DeadLetterStore } from './ports/dead-letter-store';
import type { DeviceStore } from './ports/device-store';
import type { FanoutProgressStore } from './ports/fanout-progress-store';
import type { ReadingStore } from './ports/reading-store';
import type { RetentionStore } from './ports/retention-store';
import type { TenantKeyStore } from './ports/tenant-key-store';
import type { WebhookStore } from './ports/webhook-store';

/**
 * The Store: everything the service keeps in its database, as the intersection of its
 * capability ports (store/ports/). Every method that touches tenant data takes the tenant id
 * first; no implementation may return another tenant's rows. Nothing here is specific to
 * SQLite or to Oracle. Callers take the port they need; only the composition root holds a Store.
 */
export interface Store
  extends
    TenantKeyStore,
    DeviceStore,
    ReadingStore,
    BatchStore,
    AnomalyStore,
    WebhookStore,
    DeadLetterStore,
    FanoutProgressStore,
    RetentionStore,
    CommandStore {
  close(): Promise<void>;
}
