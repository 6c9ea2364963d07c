import type { Reading } from '../../../src/domain/reading';
import type { PartitionBatch } from '../../../src/domain/consumer-batch';
import type { DeviceStore } from '../../../src/store/ports/device-store';
import type { TenantKeyStore } from '../../../src/store/ports/tenant-key-store';

/**
 * What a per-port contract suite gets from its backend: a store offering the port under test
 * (plus whatever the suite's harness type names for setup), and a way to dispose of it. The
 * whole Store's harness (store-contract.ts) satisfies every one of them.
 */
export interface PortHarness<P> {
  readonly store: P;
  close(): Promise<void>;
}

/** Setup every suite that needs tenants: ensureTenant, from the tenant-key port. */
export type TenantSetup = Pick<TenantKeyStore, 'ensureTenant'>;
/** Setup of the suites that need registered devices: ensureTenant and registerDevice (device port). */
export type DeviceSetup = TenantSetup & Pick<DeviceStore, 'registerDevice'>;

export const T1 = 'tenant-one';
export const T2 = 'tenant-two';

export async function ensureTenants(store: TenantSetup): Promise<void> {
  await store.ensureTenant(T1, 'One');
  await store.ensureTenant(T2, 'Two');
}

/** Tenants one and two; devices a and b (tag hot) and c (tag cold) in tenant one. */
export async function ensureTenantsAndDevices(store: DeviceSetup): Promise<void> {
  await ensureTenants(store);
  for (const id of ['a', 'b', 'c']) await store.registerDevice(T1, { id, name: `Device ${id.toUpperCase()}`, tags: id === 'c' ? ['cold'] : ['hot'] });
}

let sequence = 0;
export function reading(deviceId: string, timestamp: number, metrics: Record<string, number>, overrides: Partial<Reading> = {}): Reading {
  return {
    tenantId: T1,
    deviceId,
    eventId: `evt-${++sequence}`,
    timestamp,
    metrics: Object.entries(metrics).map(([name, value]) => ({ name, value })),
    ...overrides,
  };
}

export function slice(partition: number, items: (Reading & { offset: number })[], extra: Partial<PartitionBatch> = {}): PartitionBatch {
  return { partition, lastOffset: Math.max(...items.map((i) => i.offset)), readings: items, deadLetters: [], ...extra };
}
