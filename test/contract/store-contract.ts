import type { Store } from '../../src/store/store';
import { describeAnomalyStoreContract } from './ports/anomaly-store.contract';
import { describeBatchStoreContract } from './ports/batch-store.contract';
import { describeCommandStoreContract } from './ports/command-store.contract';
import { describeDeadLetterStoreContract } from './ports/dead-letter-store.contract';
import { describeDeviceStoreContract } from './ports/device-store.contract';
import { describeFanoutProgressStoreContract } from './ports/fanout-progress-store.contract';
import { describeReadingStoreContract } from './ports/reading-store.contract';
import { describeTenantKeyStoreContract } from './ports/tenant-key-store.contract';
import { describeWebhookStoreContract } from './ports/webhook-store.contract';

export interface StoreHarness {
  readonly store: Store;
  close(): Promise<void>;
}

/**
 * The Store contract, against the interface only: SQLite now, Oracle when configured. It is
 * every per-port contract (test/contract/ports/) run against the whole Store; a new backend can
 * be built and checked one port at a time by calling those suites directly. Every port has its
 * suite; what detection raises (any batching, replay or restart) is detection-contract.ts.
 */
export function describeStoreContract(name: string, create: () => Promise<StoreHarness>): void {
  describe(`Store contract: ${name}`, () => {
    describeTenantKeyStoreContract(name, create);
    describeDeviceStoreContract(name, create);
    describeBatchStoreContract(name, create);
    describeReadingStoreContract(name, create);
    describeAnomalyStoreContract(name, create);
    describeDeadLetterStoreContract(name, create);
    describeWebhookStoreContract(name, create);
    describeFanoutProgressStoreContract(name, create);
    describeCommandStoreContract(name, create);
  });
}
