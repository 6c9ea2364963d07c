import { fromEnvelope } from '../domain/cloud-event';
import { TelemetryError } from '../domain/errors';
import type { DeadLetterStore } from '../store/ports/dead-letter-store';
import type { RecordPosition, Stream } from '../stream/stream';

export interface DeadLetterReplay {
  readonly deadLetterId: number;
  /** Where the message now sits in the stream. */
  readonly position: RecordPosition;
}

/**
 * Sends a dead letter's original message back to the stream, once its cause is fixed
 * (typically: the unknown device has since been registered). The consumer then treats it as
 * any other message: applied if valid (its event id was never stored, so it is not a
 * duplicate), dead-lettered again otherwise.
 */
export async function replayDeadLetter(
  deps: { readonly store: DeadLetterStore; readonly stream: Stream; readonly eventTypePrefix: string },
  tenantId: string,
  id: number,
): Promise<DeadLetterReplay> {
  const letter = await deps.store.getDeadLetter(tenantId, id);
  if (!letter) throw new TelemetryError('NOT_FOUND', `no dead letter "${id}"`);
  const decoded = fromEnvelope(letter.payload, deps.eventTypePrefix);
  if (!decoded.ok) {
    throw new TelemetryError('BAD_USER_INPUT', `dead letter ${id} cannot be replayed: ${decoded.reason}`, { details: { reason: 'UNREPLAYABLE' } });
  }
  if (decoded.reading.tenantId !== tenantId) throw new TelemetryError('NOT_FOUND', `no dead letter "${id}"`);
  let position: RecordPosition | undefined;
  try {
    [position] = await deps.stream.produce('readings', [{ key: `${tenantId}/${decoded.reading.deviceId}`, value: letter.payload }]);
  } catch (error) {
    throw new TelemetryError('UNAVAILABLE', 'the stream did not accept the message; retry later', { cause: error });
  }
  await deps.store.markDeadLetterReplayed(tenantId, id, Date.now());
  return { deadLetterId: id, position: position! };
}
