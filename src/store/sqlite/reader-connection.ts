import Database from 'better-sqlite3';

/**
 * A connection that only reads, for a reader thread. The writer's connection (SqliteStore) has
 * already created and migrated the file and put it in WAL mode, which is a property of the
 * file: this one reads beside the writer without blocking it or being blocked.
 */
export function openReaderConnection(file: string, busyTimeoutMs: number): Database.Database {
  const db = new Database(file, { fileMustExist: true });
  // Refuses any write: a read operation that wrote would race the API thread's writes.
  db.pragma('query_only = ON');
  db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  // 16 MiB per reader (the writer keeps 64): scans stream through, the OS page cache holds the
  // file, and every reader's cache adds to the process's resident memory.
  db.pragma('cache_size = -16384');
  return db;
}
