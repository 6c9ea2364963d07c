import type { ConsumerCondition } from './consumer-health';
import type { Check } from '../server/health';
import type { TenantKeyStore } from '../store/ports/tenant-key-store';
import type { ProduceHealth } from '../stream/produce-watch';
import { DEFAULT_TENANT_ID } from '../tenants/tenant-service';

/** The concrete checks behind /healthz and /readyz (server/health.ts says what each means). */

/**
 * Fails when the consumer is stuck; passes while it makes progress, is idle or retries for
 * less than the threshold. For readiness (`ready`), a consumer still starting fails too.
 */
export function consumerCheck(condition: () => ConsumerCondition, { ready = false }: { readonly ready?: boolean } = {}): Check {
  return () => {
    const { state, reason } = condition();
    const ok = state !== 'stuck' && !(ready && state === 'starting');
    return { ok, state, ...(reason ? { reason } : !ok ? { reason: 'the consumer is starting' } : {}) };
  };
}

/** The database answers a read (the default tenant's row: one indexed lookup, no write). */
export function storeCheck(store: TenantKeyStore): Check {
  return async () => {
    try {
      await store.tenantExists(DEFAULT_TENANT_ID);
      return { ok: true };
    } catch (error) {
      return { ok: false, reason: `the database does not answer: ${error instanceof Error ? error.message : String(error)}` };
    }
  };
}

/** The stream took the last write, or none failed lately. */
export function streamCheck(health: ProduceHealth): Check {
  return () => {
    const failure = health.failure();
    return failure === null ? { ok: true } : { ok: false, reason: failure };
  };
}
