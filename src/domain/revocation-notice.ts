import type { FanoutMessage } from './events-topic';

/**
 * Revocation notices on the `events` topic: the API node that revokes keys or deletes a device
 * tells every other API node, which then stops serving them at once (its key cache, WebSockets,
 * MQTT connections and readings subscriptions) instead of when its cache expires.
 *
 * A notice is read from a shared topic that other versions and other processes write: it is
 * checked here before anything acts on it, and one that does not check out is skipped by the
 * reader (a periodic check against the store, keys/revocation-check.ts, covers a notice lost).
 */
export type RevocationNotice = Extract<FanoutMessage, { readonly kind: 'revokedKeys' | 'deviceDeleted' }>;

/** The events-topic key of each notice kind (no order is needed between notices). */
export const REVOCATION_NOTICE_KEYS: Readonly<Record<RevocationNotice['kind'], string>> = {
  revokedKeys: 'keys',
  deviceDeleted: 'devices',
};

/** Longest id accepted in a notice (key ids are UUIDs, device ids at most 128 characters). */
const MAX_ID_LENGTH = 256;

export type ParsedRevocationNotice = { readonly ok: true; readonly notice: RevocationNotice } | { readonly ok: false; readonly reason: string };

const isId = (value: unknown): value is string => typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH;

/** Checks a decoded events message of a revocation kind; only the fields of the notice are kept. */
export function parseRevocationNotice(message: unknown): ParsedRevocationNotice {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return { ok: false, reason: 'not a JSON object' };
  const fields = message as Record<string, unknown>;
  switch (fields['kind']) {
    case 'revokedKeys': {
      const keyIds = fields['keyIds'];
      if (!Array.isArray(keyIds) || keyIds.length === 0) return { ok: false, reason: 'revokedKeys needs keyIds, a non-empty array' };
      if (!keyIds.every(isId)) return { ok: false, reason: `revokedKeys: every key id must be a string of 1-${MAX_ID_LENGTH} characters` };
      return { ok: true, notice: { kind: 'revokedKeys', keyIds: [...keyIds] } };
    }
    case 'deviceDeleted': {
      const { tenantId, deviceId } = fields;
      if (!isId(tenantId) || !isId(deviceId))
        return { ok: false, reason: `deviceDeleted needs tenantId and deviceId, strings of 1-${MAX_ID_LENGTH} characters` };
      return { ok: true, notice: { kind: 'deviceDeleted', tenantId, deviceId } };
    }
    default:
      return { ok: false, reason: 'not a revocation notice' };
  }
}
