import {
  checkRetentionPolicy,
  effectivePolicy,
  horizonsOf,
  type RetentionHorizons,
  RETENTION_KINDS,
  type RetentionKind,
  type RetentionOverrides,
  type RetentionPolicy,
} from '../domain/retention';
import type { RetentionStore } from '../store/ports/retention-store';

/** A tenant's retention: what applies, and which kinds it set itself. */
export interface TenantRetention {
  readonly policy: RetentionPolicy;
  readonly overrides: RetentionOverrides;
}

/** Reads and sets a tenant's retention under the policy rules (domain/retention.ts). */
export class RetentionService {
  constructor(
    private readonly store: RetentionStore,
    readonly defaults: RetentionPolicy,
  ) {}

  async get(tenantId: string): Promise<TenantRetention> {
    const overrides = await this.store.retentionOverrides(tenantId);
    return { policy: effectivePolicy(this.defaults, overrides), overrides };
  }

  /** Where the tenant's data of each level may be gone at `now`: the query planners plan around it. */
  async horizons(tenantId: string, now: number = Date.now()): Promise<RetentionHorizons> {
    return horizonsOf((await this.get(tenantId)).policy, now);
  }

  /**
   * Replaces the tenant's settings: each kind given is the tenant's own, each kind left out
   * follows the service default. The resulting policy must be valid as a whole; `fieldOf` names
   * each kind as the caller wrote it (a GraphQL field), so an error points at it.
   */
  async set(tenantId: string, overrides: RetentionOverrides, fieldOf: (kind: RetentionKind) => string = (kind) => kind): Promise<TenantRetention> {
    const own: RetentionOverrides = Object.fromEntries(
      RETENTION_KINDS.values.filter((kind) => overrides[kind] !== undefined).map((kind) => [kind, overrides[kind]]),
    );
    const policy = effectivePolicy(this.defaults, own);
    checkRetentionPolicy(policy, fieldOf);
    await this.store.setRetentionOverrides(tenantId, own, Date.now());
    return { policy, overrides: own };
  }
}
