import Database from 'better-sqlite3';

/** What one checkpoint found and did, in WAL frames (pages). */
export interface CheckpointResult {
  /** Frames in the write-ahead log. */
  readonly walFrames: number;
  /** Of those, frames now copied into the database file. */
  readonly checkpointed: number;
}

/**
 * Copies the write-ahead log back into the database file from a connection of its own.
 *
 * SQLite otherwise does it inside the commit that takes the log past `wal_autocheckpoint`
 * pages: with the consumer as the busiest writer, one batch in every few paid for copying the
 * log and two fsyncs (about a fifth of the consumer thread's time under ingest). Run from
 * another thread, the copy overlaps the batches instead. PASSIVE: it never waits for a lock
 * and never blocks a writer or a reader; what a reader still needs stays for the next one.
 */
export class WalCheckpointer {
  private readonly db: Database.Database;

  constructor(file: string) {
    this.db = new Database(file, { fileMustExist: true });
    // As the store's connections: the log is synced before it is copied, the file after.
    this.db.pragma('synchronous = NORMAL');
  }

  checkpoint(): CheckpointResult {
    const [row] = this.db.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
    return { walFrames: row?.log ?? 0, checkpointed: row?.checkpointed ?? 0 };
  }

  close(): void {
    this.db.close();
  }
}
