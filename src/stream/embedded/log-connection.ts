import Database from 'better-sqlite3';

export interface LogConnectionOptions {
  /** Path of the SQLite log file (created if missing). */
  readonly file: string;
  /** `full` fsyncs every commit (survives power loss); `normal` survives process crashes only. @default 'full' */
  readonly synchronous?: 'full' | 'normal';
  /** How long a writer waits for another connection's lock before failing, ms. @default 5000 */
  readonly busyTimeoutMs?: number;
}

/**
 * A connection to the log file as every user of it opens one (the stream's own and its writer
 * thread's): WAL, so that readers see committed data while another connection writes.
 */
export function openLogConnection(options: LogConnectionOptions): Database.Database {
  const db = new Database(options.file);
  try {
    // First: switching to WAL (or recovering one) takes a lock another connection may hold.
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}
