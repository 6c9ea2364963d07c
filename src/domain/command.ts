import { TelemetryError } from './errors';
import { defineVocabulary, type ValueOf } from './vocabulary';

/**
 * A command sent to one device over MQTT (issue 15, section 3), and its lifecycle:
 *  PENDING -> DELIVERED (acknowledged by the device: its PUBACK) -> SUCCEEDED | FAILED (the
 *  device answered on `devices/{id}/commands/{commandId}/response`), or -> EXPIRED when its
 *  deadline passed before an answer. SUCCEEDED, FAILED and EXPIRED are final: a late answer or
 *  a second one changes nothing, so a device that repeats its answer (QoS 1) is harmless.
 */
export const COMMAND_STATUSES = defineVocabulary({
  PENDING: 'Stored, not yet acknowledged by the device: it is not connected, not subscribed to its commands, or its PUBACK has not come.',
  DELIVERED: 'The device acknowledged it (its PUBACK; at QoS 0, once written to its connection).',
  SUCCEEDED: 'The device answered that it succeeded. Final.',
  FAILED: 'The device answered that it failed. Final.',
  EXPIRED: 'Its timeout passed before the device answered. Final.',
});
export type CommandStatus = ValueOf<typeof COMMAND_STATUSES>;

export interface Command {
  readonly id: string;
  readonly tenantId: string;
  readonly deviceId: string;
  readonly name: string;
  /** The JSON the device receives as `payload`. */
  readonly payload: unknown;
  readonly status: CommandStatus;
  /** What the device answered with (`result`), when it answered. */
  readonly result?: unknown;
  readonly createdAt: number;
  /** Past this instant a command not yet answered is EXPIRED. */
  readonly expiresAt: number;
  readonly updatedAt: number;
}

/** Command names become one topic level: no `/`, no wildcards, nothing MQTT treats specially. */
export const COMMAND_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const MAX_COMMAND_TIMEOUT_SECONDS = 7 * 24 * 3600;
/** Largest payload, as JSON text: it travels in one MQTT message to a small device. */
export const MAX_COMMAND_PAYLOAD_BYTES = 16 * 1024;

export const isFinal = (status: CommandStatus): boolean => status === 'SUCCEEDED' || status === 'FAILED' || status === 'EXPIRED';

/** Checks what an admin asks to send; throws BAD_USER_INPUT naming the field at fault. */
export function checkCommandInput(name: string, timeoutSeconds: number, payload: unknown = null): void {
  if (!COMMAND_NAME_PATTERN.test(name))
    throw new TelemetryError('BAD_USER_INPUT', 'name must be 1-64 characters of A-Z a-z 0-9 . _ - (it is one MQTT topic level)', {
      details: { field: 'name' },
    });
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > MAX_COMMAND_TIMEOUT_SECONDS)
    throw new TelemetryError('BAD_USER_INPUT', `timeoutSeconds must be an integer from 1 to ${MAX_COMMAND_TIMEOUT_SECONDS}`, {
      details: { field: 'timeoutSeconds' },
    });
  // An undefined payload reaches the device as null (JSON.stringify would give no text at all).
  const payloadBytes = Buffer.byteLength(payload === undefined ? 'null' : JSON.stringify(payload));
  if (payloadBytes > MAX_COMMAND_PAYLOAD_BYTES)
    throw new TelemetryError('BAD_USER_INPUT', `payload must be at most ${MAX_COMMAND_PAYLOAD_BYTES} bytes as JSON (it is ${payloadBytes})`, {
      details: { field: 'payload', limit: MAX_COMMAND_PAYLOAD_BYTES },
    });
}

/** The device's answer, read from its response payload. */
export interface CommandResponse {
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly result?: unknown;
}

/**
 * Reads a device's response payload: `{"status":"SUCCEEDED"|"FAILED","result"?:any}`. Throws
 * BAD_USER_INPUT (told to the device on its errors topic) for anything else.
 */
export function parseCommandResponse(payload: Uint8Array): CommandResponse {
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    throw new TelemetryError('BAD_USER_INPUT', 'a command response must be JSON: {"status":"SUCCEEDED"|"FAILED","result"?:…}');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new TelemetryError('BAD_USER_INPUT', 'a command response must be a JSON object: {"status":"SUCCEEDED"|"FAILED","result"?:…}');
  const { status, result } = body as Record<string, unknown>;
  if (status !== 'SUCCEEDED' && status !== 'FAILED')
    throw new TelemetryError('BAD_USER_INPUT', 'a command response status must be "SUCCEEDED" or "FAILED"', { details: { field: 'status' } });
  return result === undefined ? { status } : { status, result };
}

/**
 * The next state of a command given an event, or undefined when the event changes nothing (the
 * command is final already, or not yet past its deadline). An answer to a PENDING command is
 * taken: the device got it, and only the write of DELIVERED had not happened yet.
 */
export function commandAfter(
  command: Command,
  event: { readonly kind: 'delivered' } | { readonly kind: 'answered'; readonly response: CommandResponse } | { readonly kind: 'expired' },
  now: number,
): Command | undefined {
  if (isFinal(command.status)) return undefined;
  switch (event.kind) {
    case 'delivered':
      return command.status === 'PENDING' ? { ...command, status: 'DELIVERED', updatedAt: now } : undefined;
    case 'answered':
      return { ...command, status: event.response.status, ...(event.response.result === undefined ? {} : { result: event.response.result }), updatedAt: now };
    case 'expired':
      return now >= command.expiresAt ? { ...command, status: 'EXPIRED', updatedAt: now } : undefined;
  }
}
