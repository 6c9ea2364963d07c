import type Database from 'better-sqlite3';

/**
 * How many series the cache holds; past it, the oldest entry goes (a miss costs one lookup by
 * the series' unique index). 100,000 entries are about 15 MB.
 */
const MAX_CACHED = 100_000;

/**
 * The series id of (tenant, device, metric), for the consumer's inserts of raw values: read from
 * a cache, else from `series`, else created there. Used inside the batch transaction only.
 *
 * Why a cached id stays right: `series` rows are never deleted (migration 13), so an id, once
 * committed, names the same series for good, whichever connection created it. An id created
 * in a transaction that then rolls back is not committed: SQLite may hand the same number to
 * another series later. Ids created by the current transaction are therefore kept apart, and
 * join the cache only when the store reports the commit.
 */
export class SeriesIds {
  private readonly committed = new Map<string, number>();
  private readonly pending = new Map<string, number>();
  private readonly find: Database.Statement;
  private readonly create: Database.Statement;

  constructor(db: Database.Database) {
    this.find = db.prepare('SELECT id FROM series WHERE tenant_id = ? AND device_id = ? AND metric = ?').pluck();
    this.create = db.prepare('INSERT INTO series (tenant_id, device_id, metric) VALUES (?, ?, ?) RETURNING id').pluck();
  }

  idOf(tenantId: string, deviceId: string, metric: string): number {
    // Device ids and metric names cannot hold a newline (domain/validation.ts): the key is unambiguous.
    const key = `${tenantId}\n${deviceId}\n${metric}`;
    const known = this.committed.get(key) ?? this.pending.get(key);
    if (known !== undefined) return known;
    const found = this.find.get(tenantId, deviceId, metric) as number | undefined;
    if (found !== undefined) {
      this.remember(key, found);
      return found;
    }
    const created = this.create.get(tenantId, deviceId, metric) as number;
    this.pending.set(key, created);
    return created;
  }

  /** The transaction committed: the ids it created are real now. */
  commit(): void {
    for (const [key, id] of this.pending) this.remember(key, id);
    this.pending.clear();
  }

  /** The transaction rolled back: the ids it created never existed. */
  rollback(): void {
    this.pending.clear();
  }

  private remember(key: string, id: number): void {
    if (this.committed.size >= MAX_CACHED) this.committed.delete(this.committed.keys().next().value!);
    this.committed.set(key, id);
  }
}
