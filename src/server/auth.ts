import { createHash, randomBytes } from 'node:crypto';
import type { Caller } from '../domain/caller';
import { uuidv7 } from '../domain/ids';
import type { ApiKeyInfo, NewApiKey, Role, Store } from '../store/store';

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

/** Extracts the token of an `Authorization: Bearer <token>` header. */
export function bearerToken(header: string | undefined): string | undefined {
  // Long enough for OIDC tokens (a few KB); API keys are 46 characters.
  const match = header === undefined ? null : /^Bearer\s+(\S{1,8192})\s*$/i.exec(header);
  return match?.[1];
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

export interface AuthenticatorOptions {
  /**
   * How long a successful lookup is reused, ms. A key revoked through another process stops
   * working within this time; through this one, at once (forget()). @default 5000
   */
  readonly cacheTtlMs?: number;
  /** Shortest time between two last-used writes of one key, ms. @default 60000 */
  readonly touchIntervalMs?: number;
  readonly onTouchFailed?: (error: unknown) => void;
}

/** Resolves API keys to callers, with a short cache so ingest bursts cost no database reads. */
export class ApiKeyAuthenticator {
  private readonly cache = new Map<string, { caller: Caller; expires: number }>();
  private readonly touched = new Map<string, number>();
  private readonly ttl: number;

  constructor(
    private readonly store: Pick<Store, 'findApiKeyBySecretHash' | 'touchApiKey'>,
    private readonly options: AuthenticatorOptions = {},
  ) {
    this.ttl = options.cacheTtlMs ?? 5000;
  }

  /** Drops revoked keys from the cache: they stop working on this node at once. */
  forget(keyIds: readonly string[]): void {
    const ids = new Set(keyIds);
    for (const [hash, entry] of this.cache) if (ids.has(entry.caller.keyId)) this.cache.delete(hash);
  }

  private touch(keyId: string, now: number): void {
    if (now - (this.touched.get(keyId) ?? 0) < (this.options.touchIntervalMs ?? 60_000)) return;
    if (this.touched.size > 100_000) this.touched.clear();
    this.touched.set(keyId, now);
    this.store.touchApiKey(keyId, now).catch((error: unknown) => this.options.onTouchFailed?.(error));
  }

  async authenticate(secret: string | undefined): Promise<Caller | undefined> {
    if (secret === undefined || secret.length === 0 || secret.length > 512) return undefined;
    const hash = hashApiKey(secret);
    const now = Date.now();
    const hit = this.cache.get(hash);
    if (hit && hit.expires > now) {
      this.touch(hit.caller.keyId, now);
      return hit.caller;
    }
    const key = await this.store.findApiKeyBySecretHash(hash);
    if (!key) {
      this.cache.delete(hash);
      return undefined;
    }
    const caller: Caller = { tenantId: key.tenantId, role: key.role, deviceId: key.deviceId, keyId: key.id };
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(hash, { caller, expires: now + this.ttl });
    this.touch(caller.keyId, now);
    return caller;
  }
}
