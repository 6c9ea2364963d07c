import type { Command, CommandStatus } from '../../../domain/command';
import type { Page } from '../../../domain/page';
import type { CommandPageRequest } from '../../ports/command-store';
import type { Session } from '../session';

/** Commands to devices (store/ports/command-store.ts). */

const COLUMNS = 'tenant_id, id, device_id, name, payload, status, result, created_at, expires_at, updated_at';

export interface CommandRow {
  TENANT_ID: string;
  ID: string;
  DEVICE_ID: string;
  NAME: string;
  PAYLOAD: string;
  STATUS: CommandStatus;
  RESULT: string | null;
  CREATED_AT: number;
  EXPIRES_AT: number;
  UPDATED_AT: number;
}

export const SQL = {
  insertCommand: `INSERT INTO commands (${COLUMNS})
                  VALUES (:tenant_id, :id, :device_id, :name, :payload, :status, :result, :created_at, :expires_at, :updated_at)`,
  commandById: `SELECT ${COLUMNS} FROM commands WHERE tenant_id = :tenant_id AND id = :id`,
  commandsOf: `SELECT ${COLUMNS} FROM commands WHERE tenant_id = :tenant_id AND device_id = :device_id
                 AND (:after_created IS NULL OR created_at < :after_created OR (created_at = :after_created AND id < :after_id))
               ORDER BY created_at DESC, id DESC FETCH FIRST :limit_rows ROWS ONLY`,
  pendingCommands: `SELECT ${COLUMNS} FROM commands WHERE tenant_id = :tenant_id AND device_id = :device_id AND status = 'PENDING'
                    AND expires_at > :now_ms ORDER BY created_at, id`,
  // The same expression as the index commands_open_by_deadline, so the sweep reads only open commands.
  dueCommands: `SELECT ${COLUMNS} FROM commands WHERE (CASE WHEN status IN ('PENDING', 'DELIVERED') THEN expires_at END) <= :now_ms
                ORDER BY expires_at FETCH FIRST :limit_rows ROWS ONLY`,
  updateCommand: `UPDATE commands SET status = :status, result = :result, updated_at = :updated_at
                  WHERE tenant_id = :tenant_id AND id = :id AND status = :from_status`,
} as const;

export const toCommand = (row: CommandRow): Command => ({
  id: row.ID,
  tenantId: row.TENANT_ID,
  deviceId: row.DEVICE_ID,
  name: row.NAME,
  payload: JSON.parse(row.PAYLOAD) as unknown,
  status: row.STATUS,
  ...(row.RESULT === null ? {} : { result: JSON.parse(row.RESULT) as unknown }),
  createdAt: row.CREATED_AT,
  expiresAt: row.EXPIRES_AT,
  updatedAt: row.UPDATED_AT,
});

const resultText = (command: Command): string | null => (command.result === undefined ? null : JSON.stringify(command.result));

export async function insertCommand(session: Session, command: Command): Promise<void> {
  await session.execute(SQL.insertCommand, {
    tenant_id: command.tenantId,
    id: command.id,
    device_id: command.deviceId,
    name: command.name,
    payload: JSON.stringify(command.payload),
    status: command.status,
    result: resultText(command),
    created_at: command.createdAt,
    expires_at: command.expiresAt,
    updated_at: command.updatedAt,
  });
}

export async function command(session: Session, tenantId: string, id: string): Promise<Command | undefined> {
  const row = (await session.execute<CommandRow>(SQL.commandById, { tenant_id: tenantId, id })).rows?.[0];
  return row && toCommand(row);
}

export async function commandsOf(session: Session, tenantId: string, deviceId: string, page: CommandPageRequest): Promise<Page<Command>> {
  const rows =
    (
      await session.execute<CommandRow>(SQL.commandsOf, {
        tenant_id: tenantId,
        device_id: deviceId,
        after_created: page.after?.createdAt ?? null,
        after_id: page.after?.id ?? null,
        limit_rows: page.first + 1,
      })
    ).rows ?? [];
  return { items: rows.slice(0, page.first).map(toCommand), hasMore: rows.length > page.first };
}

export async function pendingCommands(session: Session, tenantId: string, deviceId: string, now: number): Promise<Command[]> {
  return ((await session.execute<CommandRow>(SQL.pendingCommands, { tenant_id: tenantId, device_id: deviceId, now_ms: now })).rows ?? []).map(toCommand);
}

export async function dueCommands(session: Session, now: number, limit: number): Promise<Command[]> {
  return ((await session.execute<CommandRow>(SQL.dueCommands, { now_ms: now, limit_rows: limit })).rows ?? []).map(toCommand);
}

export async function updateCommand(session: Session, next: Command, from: CommandStatus): Promise<boolean> {
  const result = await session.execute(SQL.updateCommand, {
    status: next.status,
    result: resultText(next),
    updated_at: next.updatedAt,
    tenant_id: next.tenantId,
    id: next.id,
    from_status: from,
  });
  return result.rowsAffected === 1;
}
