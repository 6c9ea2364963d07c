import { createHash, randomBytes } from 'node:crypto';
import { uuidv7 } from '../domain/ids';
import type { ApiKeyInfo, NewApiKey } from '../domain/api-key';
import type { Role } from '../domain/caller';

/** A new API key secret: 256 random bits, URL-safe, with a recognisable prefix. */
export function generateApiKey(): string {
  return `tk_${randomBytes(32).toString('base64url')}`;
}

/**
 * SHA-256 of a key. Keys are 256-bit random values, not passwords, so a fast hash is safe
 * (no dictionary to attack) and keeps per-request authentication cheap.
 */
export function hashApiKey(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** A new key of the tenant: the secret (to show once) and the record to store (hash only). */
export function newApiKey(tenantId: string, role: Role, label: string, deviceId: string | null = null): { secret: string; record: NewApiKey } {
  const secret = generateApiKey();
  return { secret, record: { id: uuidv7(), tenantId, role, deviceId, label, secretHash: hashApiKey(secret) } };
}

export const keyInfo = (record: NewApiKey, createdAt: number): ApiKeyInfo => ({
  id: record.id,
  tenantId: record.tenantId,
  role: record.role,
  deviceId: record.deviceId ?? null,
  label: record.label,
  createdAt,
  lastUsedAt: null,
  revokedAt: null,
});
