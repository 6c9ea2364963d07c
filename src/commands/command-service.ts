import type { Caller } from '../domain/caller';
import { checkCommandInput, commandAfter, type Command, type CommandResponse } from '../domain/command';
import { TelemetryError } from '../domain/errors';
import { uuidv7 } from '../domain/ids';
import type { Page } from '../domain/page';
import type { CommandPageRequest, CommandStore } from '../store/ports/command-store';
import type { DeviceStore } from '../store/ports/device-store';

/**
 * Writes a command to the device's own connections on this node (the MQTT broker) that
 * subscribed to its topic; false when it has none here (the command stays PENDING, for the
 * node it connects to). Writing is not delivering: the broker calls `delivered` once the device
 * acknowledged it (PUBACK), and a command written to a connection that closed first stays
 * PENDING, to be written again.
 */
export type CommandWriter = (command: Command) => boolean;

/**
 * Commands to devices: stored first, then written to the device, DELIVERED once it
 * acknowledged, then moved by its answer or its deadline (domain/command.ts). Every move is a compare-and-set in the store, so a move
 * raced by another (an answer and the expiry sweep, two nodes) takes effect once, and only the
 * winner tells `onChange` (the commandUpdated feed).
 */
export class CommandService {
  constructor(
    private readonly store: CommandStore & Pick<DeviceStore, 'getDevices'>,
    private readonly write: CommandWriter,
    private readonly onChange: (command: Command) => void = () => {},
    private readonly clock: () => number = Date.now,
  ) {}

  /** Stores a PENDING command for a device of the caller's tenant, then writes it to the device if it is connected here. */
  async send(caller: Caller, deviceId: string, name: string, payload: unknown, timeoutSeconds: number): Promise<Command> {
    checkCommandInput(name, timeoutSeconds, payload);
    // Device ids are unique per tenant only: another tenant's device is simply not found.
    if ((await this.store.getDevices(caller.tenantId, [deviceId])).length === 0)
      throw new TelemetryError('NOT_FOUND', `no device "${deviceId}" is registered`, { details: { field: 'deviceId' } });
    const now = this.clock();
    const command: Command = {
      id: uuidv7(now),
      tenantId: caller.tenantId,
      deviceId,
      name,
      payload,
      status: 'PENDING',
      createdAt: now,
      expiresAt: now + timeoutSeconds * 1000,
      updatedAt: now,
    };
    await this.store.insertCommand(command);
    this.onChange(command);
    this.write(command);
    return command;
  }

  command(tenantId: string, id: string): Promise<Command | undefined> {
    return this.store.command(tenantId, id);
  }

  commandsOf(tenantId: string, deviceId: string, page: CommandPageRequest): Promise<Page<Command>> {
    return this.store.commandsOf(tenantId, deviceId, page);
  }

  /** Writes the device's PENDING commands, oldest first: called when it subscribes to its commands. */
  async deliverPending(tenantId: string, deviceId: string): Promise<void> {
    for (const command of await this.store.pendingCommands(tenantId, deviceId, this.clock())) this.write(command);
  }

  /**
   * A command another node stored (heard through the events topic): written if the device is
   * connected here and the command is still PENDING (read again: the node that sent it may
   * have delivered it meanwhile).
   */
  async offer(command: Command): Promise<void> {
    if (command.status !== 'PENDING') return;
    const current = await this.store.command(command.tenantId, command.id);
    if (current?.status === 'PENDING' && current.expiresAt > this.clock()) this.write(current);
  }

  /** The device acknowledged the command (its PUBACK): PENDING -> DELIVERED, once. */
  async delivered(tenantId: string, commandId: string): Promise<void> {
    const command = await this.store.command(tenantId, commandId);
    if (command) await this.move(command, commandAfter(command, { kind: 'delivered' }, this.clock()));
  }

  /** Records a device's answer; NOT_FOUND for a command that is not its own. */
  async answer(caller: Caller, commandId: string, response: CommandResponse): Promise<void> {
    // Read again when the status moved under us (its DELIVERED write raced the answer): an answer is never lost to it.
    for (let attempt = 0; attempt < 3; attempt++) {
      const command = await this.store.command(caller.tenantId, commandId);
      if (!command || command.deviceId !== caller.deviceId) throw new TelemetryError('NOT_FOUND', `no command "${commandId}" for this device`);
      const next = commandAfter(command, { kind: 'answered', response }, this.clock());
      if (!next || (await this.move(command, next))) return;
    }
  }

  /** Marks EXPIRED at most `limit` commands past their deadline; returns how many it moved. */
  async expireDue(limit: number): Promise<number> {
    const now = this.clock();
    let moved = 0;
    for (const command of await this.store.dueCommands(now, limit)) if (await this.move(command, commandAfter(command, { kind: 'expired' }, now))) moved++;
    return moved;
  }

  private async move(from: Command, next: Command | undefined): Promise<boolean> {
    if (!next || !(await this.store.updateCommand(next, from.status))) return false;
    this.onChange(next);
    return true;
  }
}
