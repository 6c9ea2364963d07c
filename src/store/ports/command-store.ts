import type { Command, CommandStatus } from '../../domain/command';
import type { Page } from '../../domain/page';

/** A page of one device's commands, newest first: the first `first` after the command `after` (exclusive). */
export interface CommandPageRequest {
  readonly first: number;
  /** The last command of the previous page: its creation time and id (ties on the time are ordered by id). */
  readonly after?: { readonly createdAt: number; readonly id: string } | undefined;
}

/**
 * Commands to devices (domain/command.ts). A status changes only by compare-and-set on the
 * status it was read with: two nodes (or an answer racing the expiry sweep) cannot both move one
 * command, so each transition takes effect once and the one that lost learns it did.
 */
export interface CommandStore {
  insertCommand(command: Command): Promise<void>;
  command(tenantId: string, id: string): Promise<Command | undefined>;
  /** The device's commands, newest first (by creation time, then id), one page at a time. */
  commandsOf(tenantId: string, deviceId: string, page: CommandPageRequest): Promise<Page<Command>>;
  /** The device's PENDING commands not yet expired at `now`, oldest first: delivered on connect. */
  pendingCommands(tenantId: string, deviceId: string, now: number): Promise<Command[]>;
  /** Commands of every tenant, neither final nor answered, whose deadline passed at `now`, oldest first. */
  dueCommands(now: number, limit: number): Promise<Command[]>;
  /** Stores `next` if the command still has status `from`; false when it had moved on. */
  updateCommand(next: Command, from: CommandStatus): Promise<boolean>;
}
