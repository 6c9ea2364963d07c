import type Database from 'better-sqlite3';
import type { DeadLetter } from '../../../domain/dead-letter';
import type { Page, PageRequest } from '../../../domain/page';

/** SQLite statements for dead letters. */

const DEAD_LETTER_COLUMNS = 'id, tenant_id, topic, stream_partition, stream_offset, reason, payload, created_at, replayed_at';

interface DeadLetterRow {
  id: number;
  tenant_id: string | null;
  topic: string;
  stream_partition: number;
  stream_offset: number;
  reason: string;
  payload: string;
  created_at: number;
  replayed_at: number | null;
}

const toDeadLetter = (row: DeadLetterRow): DeadLetter => ({
  id: row.id,
  tenantId: row.tenant_id,
  topic: row.topic,
  partition: row.stream_partition,
  offset: row.stream_offset,
  reason: row.reason,
  payload: row.payload,
  createdAt: row.created_at,
  replayedAt: row.replayed_at,
});

export function listDeadLetters(db: Database.Database, tenantId: string, page: PageRequest): Page<DeadLetter> {
  const rows = db
    .prepare(`SELECT ${DEAD_LETTER_COLUMNS} FROM dead_letters WHERE tenant_id = ? AND (? IS NULL OR id > ?) ORDER BY id LIMIT ?`)
    .all(tenantId, page.afterKey ?? null, page.afterKey === undefined ? null : Number(page.afterKey), page.first + 1) as DeadLetterRow[];
  return { items: rows.slice(0, page.first).map(toDeadLetter), hasMore: rows.length > page.first };
}

export function getDeadLetter(db: Database.Database, tenantId: string, id: number): DeadLetter | undefined {
  const row = db.prepare(`SELECT ${DEAD_LETTER_COLUMNS} FROM dead_letters WHERE tenant_id = ? AND id = ?`).get(tenantId, id) as DeadLetterRow | undefined;
  return row && toDeadLetter(row);
}

export function markDeadLetterReplayed(db: Database.Database, tenantId: string, id: number, at: number): void {
  db.prepare('UPDATE dead_letters SET replayed_at = ? WHERE tenant_id = ? AND id = ?').run(at, tenantId, id);
}
