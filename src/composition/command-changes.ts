import type { Command } from '../domain/command';
import type { FanoutMessage } from '../domain/events-topic';
import type { Logger } from '../logger';
import type { Stream } from '../stream/stream';

/**
 * Where a command's status change goes so that every `commandUpdated` subscriber hears of it,
 * and, for a new PENDING command, so that the node holding the device's connection writes it:
 *
 * - fed by the events topic (role `api`, the consumer role, or a shared OCI stream): into the
 *   topic under the `commands` key, so every API node (this one too, through its tail) delivers
 *   it to its subscribers and offers a PENDING command to its broker. If the produce fails the
 *   change is stored all the same (a query shows it; a PENDING command is written when its
 *   device next subscribes); it is logged.
 * - otherwise (one process): straight to this node's subscribers (its broker was offered the
 *   command by CommandService.send itself).
 *
 * The returned promise settles once the change is handed over (never rejects: a failure is
 * logged); a caller that must not end before, the OCI Function, awaits it.
 */
export function commandChangePublisher(options: {
  readonly viaEventsTopic: boolean;
  readonly stream: Stream;
  readonly local: (commands: Command[]) => void;
  readonly logger: Logger;
}): (command: Command) => Promise<void> {
  const { stream, logger } = options;
  if (!options.viaEventsTopic)
    return async (command) => {
      options.local([command]);
    };
  return async (command) => {
    const message: FanoutMessage = { kind: 'commands', commands: [command] };
    await stream.produce('events', [{ key: 'commands', value: JSON.stringify(message) }]).then(
      () => {},
      (error: unknown) => logger.warn({ err: error, commandId: command.id }, 'could not publish a command change to the events topic'),
    );
  };
}
