import type { DeadLetter } from '../../../domain/dead-letter';
import type { Session } from '../session';

/** Stream bookkeeping: watermarks, fan-out progress and dead letters. */

interface DeadLetterRow {
  ID: number;
  TENANT_ID: string | null;
  TOPIC: string;
  STREAM_PARTITION: number;
  STREAM_OFFSET: number;
  REASON: string;
  PAYLOAD: string;
  CREATED_AT: number;
  REPLAYED_AT: number | null;
}

const COLUMNS = 'id, tenant_id, topic, stream_partition, stream_offset, reason, payload, created_at, replayed_at';

const toDeadLetter = (row: DeadLetterRow): DeadLetter => ({
  id: row.ID,
  tenantId: row.TENANT_ID,
  topic: row.TOPIC,
  partition: row.STREAM_PARTITION,
  offset: row.STREAM_OFFSET,
  reason: row.REASON,
  payload: row.PAYLOAD,
  createdAt: row.CREATED_AT,
  replayedAt: row.REPLAYED_AT,
});

export const SQL = {
  watermarks: 'SELECT stream_partition, applied_offset FROM stream_watermarks WHERE source = :source',
  fanoutProgress: 'SELECT name, position FROM fanout_progress',
  mergeFanout: `MERGE INTO fanout_progress f USING (SELECT :name AS name, :position AS position FROM dual) s ON (f.name = s.name)
                WHEN MATCHED THEN UPDATE SET f.position = GREATEST(f.position, s.position)
                WHEN NOT MATCHED THEN INSERT (name, position) VALUES (s.name, s.position)`,
  listDeadLetters: `SELECT ${COLUMNS} FROM dead_letters WHERE tenant_id = :tenant_id AND (:after_id IS NULL OR id > :after_id) ORDER BY id FETCH FIRST :limit_rows ROWS ONLY`,
  deadLetter: `SELECT ${COLUMNS} FROM dead_letters WHERE tenant_id = :tenant_id AND id = :id`,
  markReplayed: 'UPDATE dead_letters SET replayed_at = :at WHERE tenant_id = :tenant_id AND id = :id',
} as const;

export async function watermarks(session: Session, source: string): Promise<Map<number, number>> {
  const rows = (await session.execute<{ STREAM_PARTITION: number; APPLIED_OFFSET: number }>(SQL.watermarks, { source })).rows ?? [];
  return new Map(rows.map((row) => [row.STREAM_PARTITION, row.APPLIED_OFFSET]));
}

export async function fanoutProgress(session: Session): Promise<Map<string, number>> {
  const rows = (await session.execute<{ NAME: string; POSITION: number }>(SQL.fanoutProgress)).rows ?? [];
  return new Map(rows.map((row) => [row.NAME, row.POSITION]));
}

export async function recordFanout(session: Session, positions: ReadonlyMap<string, number>): Promise<void> {
  if (positions.size === 0) return;
  await session.executeMany(
    SQL.mergeFanout,
    [...positions].map(([name, position]) => ({ name, position })),
    { bindDefs: { name: { type: 'string', maxSize: 64 }, position: { type: 'number' } } },
  );
}

export async function listDeadLetters(
  session: Session,
  tenantId: string,
  afterId: number | null,
  first: number,
): Promise<{ items: DeadLetter[]; hasMore: boolean }> {
  const rows = (await session.execute<DeadLetterRow>(SQL.listDeadLetters, { tenant_id: tenantId, after_id: afterId, limit_rows: first + 1 })).rows ?? [];
  return { items: rows.slice(0, first).map(toDeadLetter), hasMore: rows.length > first };
}

export async function deadLetter(session: Session, tenantId: string, id: number): Promise<DeadLetter | undefined> {
  const [row] = (await session.execute<DeadLetterRow>(SQL.deadLetter, { tenant_id: tenantId, id })).rows ?? [];
  return row && toDeadLetter(row);
}

export async function markReplayed(session: Session, tenantId: string, id: number, at: number): Promise<void> {
  await session.execute(SQL.markReplayed, { at, tenant_id: tenantId, id });
}
