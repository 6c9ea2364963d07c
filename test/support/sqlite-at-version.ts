import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../src/store/sqlite/migrations';

/**
 * An embedded database file as an older release left it: migrations up to `version` applied and
 * recorded, none after. Tests of a migration seed it in the old layout, then open the store,
 * which applies the rest.
 */
export function databaseAtVersion(file: string, version: number): Database.Database {
  const db = new Database(file);
  db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  for (const migration of MIGRATIONS.filter((m) => m.version <= version)) {
    db.exec(migration.sql);
    db.prepare('INSERT INTO schema_migrations VALUES (?, ?, 0)').run(migration.version, migration.description);
  }
  return db;
}
