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

/** How long ingest trusts a tenant's raw-readings retention it read, ms (a change applies within it). */
const RAW_RETENTION_CACHE_MS = 10_000;

/** Reads and sets a tenant's retention under the policy rules (domain/retention.ts). */
export class RetentionService {
  private readonly rawRetention = new Map<string, { readonly ms: number; readonly until: number }>();

  constructor(
    private readonly store: RetentionStore,
    readonly defaults: RetentionPolicy,
  ) {}

  /**
   * How long the tenant keeps raw readings, ms, cached briefly: ingest refuses readings older
   * than this. Such a reading would be stored, counted in the rollups, then removed by the next
   * pass; sent again, it would be stored and counted again (the raw row that deduplicates it
   * is gone), breaking exactly-once.
   */
  async rawReadingsRetentionMs(tenantId: string, now: number = Date.now()): Promise<number> {
    const cached = this.rawRetention.get(tenantId);
    if (cached && cached.until > now) return cached.ms;
    const ms = (await this.get(tenantId)).policy.RAW_READINGS;
    this.rawRetention.set(tenantId, { ms, until: now + RAW_RETENTION_CACHE_MS });
    return ms;
  }

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
    this.rawRetention.delete(tenantId);
    return { policy, overrides: own };
  }
}
