import type Database from 'better-sqlite3';
import type { Command, CommandStatus } from '../../../domain/command';
import type { Page } from '../../../domain/page';
import type { CommandPageRequest } from '../../ports/command-store';

/** SQLite statements for commands to devices (store/ports/command-store.ts). */

interface CommandRow {
  tenant_id: string;
  id: string;
  device_id: string;
  name: string;
  payload: string;
  status: CommandStatus;
  result: string | null;
  created_at: number;
  expires_at: number;
  updated_at: number;
}

const COLUMNS = 'tenant_id, id, device_id, name, payload, status, result, created_at, expires_at, updated_at';

const commandOf = (row: CommandRow): Command => ({
  id: row.id,
  tenantId: row.tenant_id,
  deviceId: row.device_id,
  name: row.name,
  payload: JSON.parse(row.payload) as unknown,
  status: row.status,
  ...(row.result === null ? {} : { result: JSON.parse(row.result) as unknown }),
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  updatedAt: row.updated_at,
});

const resultText = (command: Command): string | null => (command.result === undefined ? null : JSON.stringify(command.result));

export function insertCommand(db: Database.Database, command: Command): void {
  db.prepare(`INSERT INTO commands (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
    command.tenantId,
    command.id,
    command.deviceId,
    command.name,
    JSON.stringify(command.payload),
    command.status,
    resultText(command),
    command.createdAt,
    command.expiresAt,
    command.updatedAt,
  );
}

export function command(db: Database.Database, tenantId: string, id: string): Command | undefined {
  const row = db.prepare(`SELECT ${COLUMNS} FROM commands WHERE tenant_id = ? AND id = ?`).get(tenantId, id) as CommandRow | undefined;
  return row && commandOf(row);
}

export function commandsOf(db: Database.Database, tenantId: string, deviceId: string, page: CommandPageRequest): Page<Command> {
  const rows = db
    .prepare(
      `SELECT ${COLUMNS} FROM commands WHERE tenant_id = @tenant_id AND device_id = @device_id
         AND (@after_created IS NULL OR created_at < @after_created OR (created_at = @after_created AND id < @after_id))
       ORDER BY created_at DESC, id DESC LIMIT @limit_rows`,
    )
    .all({
      tenant_id: tenantId,
      device_id: deviceId,
      after_created: page.after?.createdAt ?? null,
      after_id: page.after?.id ?? null,
      limit_rows: page.first + 1,
    }) as CommandRow[];
  return { items: rows.slice(0, page.first).map(commandOf), hasMore: rows.length > page.first };
}

export function pendingCommands(db: Database.Database, tenantId: string, deviceId: string, now: number): Command[] {
  const rows = db
    .prepare(`SELECT ${COLUMNS} FROM commands WHERE tenant_id = ? AND device_id = ? AND status = 'PENDING' AND expires_at > ? ORDER BY created_at, id`)
    .all(tenantId, deviceId, now) as CommandRow[];
  return rows.map(commandOf);
}

export function dueCommands(db: Database.Database, now: number, limit: number): Command[] {
  const rows = db
    .prepare(`SELECT ${COLUMNS} FROM commands WHERE status IN ('PENDING', 'DELIVERED') AND expires_at <= ? ORDER BY expires_at LIMIT ?`)
    .all(now, limit) as CommandRow[];
  return rows.map(commandOf);
}

export function updateCommand(db: Database.Database, next: Command, from: CommandStatus): boolean {
  const changed = db
    .prepare('UPDATE commands SET status = ?, result = ?, updated_at = ? WHERE tenant_id = ? AND id = ? AND status = ?')
    .run(next.status, resultText(next), next.updatedAt, next.tenantId, next.id, from);
  return changed.changes === 1;
}
