import type Database from 'better-sqlite3';

/** SQLite statements for the fan-out positions of the stream consumers. */

export function fanoutProgress(db: Database.Database): Map<string, number> {
  return new Map(
    (db.prepare('SELECT name, position FROM fanout_progress').all() as { name: string; position: number }[]).map((row) => [row.name, row.position]),
  );
}

/** Advances each named position (never backwards); the caller runs it in one transaction. */
export function recordFanoutProgress(db: Database.Database, positions: ReadonlyMap<string, number>): void {
  const upsert = db.prepare(
    'INSERT INTO fanout_progress (name, position) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET position = max(fanout_progress.position, excluded.position)',
  );
  for (const [name, position] of positions) upsert.run(name, position);
}
