import Database from 'better-sqlite3';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * The embedded store's footprint: bytes on disk per stored value, by what holds them, read from
 * SQLite's dbstat table (the pages each table and index occupies) after a checkpoint has copied
 * the write-ahead log into the file. Sizes, not timings: they mean the same on a busy machine.
 */
export interface Footprint {
  /** Values stored (rows of the raw readings table). */
  readonly values: number;
  /** Bytes per group of tables and indexes, in the order printed. */
  readonly groups: readonly { readonly label: string; readonly bytes: number }[];
  /** Pages no table holds (freed by deletes or a dropped table; reused before the file grows). */
  readonly freeBytes: number;
  /** The database file after the checkpoint. */
  readonly fileBytes: number;
  /** The stream log (stream.db and its -wal), if the data directory holds one. */
  readonly streamBytes: number;
}

/**
 * The tables (and their indexes, which dbstat names by index name) of each group. The raw
 * readings are `readings` before migration 13 and `series` + `samples` after; both are listed so
 * the same bench measures a database of either version.
 */
const GROUPS: readonly { readonly label: string; readonly tables: readonly string[] }[] = [
  { label: 'raw readings (table + indexes)', tables: ['readings', 'series', 'samples'] },
  { label: 'rollups', tables: ['rollups'] },
  { label: 'event ids (reading_events + indexes)', tables: ['reading_events'] },
];

export function measureFootprint(dataDir: string): Footprint {
  const file = path.join(dataDir, 'telemetry.db');
  const db = new Database(file);
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
    // Every b-tree (table or index) with the table it belongs to and the bytes of its pages.
    const trees = db
      .prepare(
        `SELECT m.tbl_name AS tableName, sum(s.pgsize) AS bytes FROM dbstat s JOIN sqlite_schema m ON m.name = s.name
         GROUP BY m.tbl_name`,
      )
      .all() as { tableName: string; bytes: number }[];
    const schemaBytes = (db.prepare("SELECT sum(pgsize) FROM dbstat WHERE name = 'sqlite_schema'").pluck().get() as number | null) ?? 0;
    const tables = new Set(trees.map((t) => t.tableName));
    const valuesTable = tables.has('samples') ? 'samples' : 'readings';
    const values = tables.has(valuesTable) ? (db.prepare(`SELECT count(*) FROM ${valuesTable}`).pluck().get() as number) : 0;
    const grouped = new Set(GROUPS.flatMap((g) => g.tables));
    const bytesOf = (names: readonly string[]) => trees.filter((t) => names.includes(t.tableName)).reduce((sum, t) => sum + t.bytes, 0);
    const others = trees.filter((t) => !grouped.has(t.tableName)).reduce((sum, t) => sum + t.bytes, 0) + schemaBytes;
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const freePages = db.pragma('freelist_count', { simple: true }) as number;
    return {
      values,
      groups: [...GROUPS.map((g) => ({ label: g.label, bytes: bytesOf(g.tables) })), { label: 'everything else', bytes: others }],
      freeBytes: freePages * pageSize,
      fileBytes: statSync(file).size,
      streamBytes: ['stream.db', 'stream.db-wal'].map((name) => path.join(dataDir, name)).reduce((sum, f) => sum + (existsSync(f) ? statSync(f).size : 0), 0),
    };
  } finally {
    db.close();
  }
}

const MB = 1024 * 1024;

export function printFootprint(f: Footprint): void {
  const line = (label: string, bytes: number) =>
    console.log(
      `  ${label.padEnd(40)} ${(bytes / MB).toFixed(1).padStart(9)} MiB ${f.values > 0 ? `${(bytes / f.values).toFixed(1).padStart(8)} bytes/value` : ''}`,
    );
  console.log(`footprint of ${f.values.toLocaleString('en')} stored values (dbstat, after a checkpoint):`);
  for (const g of f.groups) line(g.label, g.bytes);
  line('free pages (reused before the file grows)', f.freeBytes);
  line('database file', f.fileBytes);
  line('stream log (stream.db)', f.streamBytes);
}
