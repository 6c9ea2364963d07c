import Database from 'better-sqlite3';

/**
 * Another connection holding the database's write lock: every write of the service then fails
 * with SQLITE_BUSY (a retryable error, like SQLITE_FULL on a full disk) until it is released.
 */
export function holdWriteLock(file: string): { release(): void } {
  const db = new Database(file);
  db.exec('BEGIN IMMEDIATE');
  return {
    release() {
      db.exec('ROLLBACK');
      db.close();
    },
  };
}
