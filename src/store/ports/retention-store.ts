import type { RetentionKind, RetentionOverrides } from '../../domain/retention';

/** One batch of retention: rows of one kind, of one tenant, older than a cut-off. */
export interface ExpiredRows {
  readonly kind: RetentionKind;
  /** null: rows that belong to no tenant (dead letters that could not be decoded). */
  readonly tenantId: string | null;
  /**
   * UTC ms. Rows older than this go: readings and event ids by reading timestamp, rollups
   * whose bucket ends at or before it, anomalies resolved before it, dead letters and
   * finished deliveries created before it.
   */
  readonly cutoff: number;
  /** Most rows deleted by this call. */
  readonly limit: number;
}

/**
 * Retention settings per tenant, and the removal of what they let go. Each deleteExpired call
 * is its own short transaction, so ingest waits at most one batch for the write lock.
 */
export interface RetentionStore {
  /** The tenant's own settings; kinds it does not set follow the service default. */
  retentionOverrides(tenantId: string): Promise<RetentionOverrides>;
  /** Replaces the tenant's settings: a kind left out returns to the service default. */
  setRetentionOverrides(tenantId: string, overrides: RetentionOverrides, at: number): Promise<void>;
  /** Every tenant, with its settings (empty when it follows the defaults). */
  tenantsRetention(): Promise<Map<string, RetentionOverrides>>;
  /**
   * Drops, in bulk, raw readings in storage units that end at or before `cutoff`, a time past
   * every tenant's raw retention (Oracle: whole day partitions; the embedded store has no such
   * unit and drops nothing). Returns the units dropped; deleteExpired removes the rest.
   */
  dropReadingsBefore(cutoff: number): Promise<number>;
  /** Deletes at most `limit` expired rows; returns how many it deleted (fewer: none left). */
  deleteExpired(rows: ExpiredRows): Promise<number>;
}
