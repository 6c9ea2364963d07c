import { createHash, randomBytes } from 'node:crypto';
import type { Caller } from '../domain/caller';
import type { Store } from '../store/store';

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
  const match = header === undefined ? null : /^Bearer\s+(\S{1,512})\s*$/i.exec(header);
  return match?.[1];
}

export interface AuthenticatorOptions {
  /** How long a successful lookup is reused, ms. @default 5000 */
  readonly cacheTtlMs?: number;
}

/** Resolves API keys to callers, with a short cache so ingest bursts cost no database reads. */
export class ApiKeyAuthenticator {
  private readonly cache = new Map<string, { caller: Caller; expires: number }>();
  private readonly ttl: number;

  constructor(
    private readonly store: Pick<Store, 'findApiKeyBySecretHash'>,
    options: AuthenticatorOptions = {},
  ) {
    this.ttl = options.cacheTtlMs ?? 5000;
  }

  async authenticate(secret: string | undefined): Promise<Caller | undefined> {
    if (secret === undefined || secret.length === 0 || secret.length > 512) return undefined;
    const hash = hashApiKey(secret);
    const now = Date.now();
    const hit = this.cache.get(hash);
    if (hit && hit.expires > now) return hit.caller;
    const key = await this.store.findApiKeyBySecretHash(hash);
    if (!key) {
      this.cache.delete(hash);
      return undefined;
    }
    const caller: Caller = { tenantId: key.tenantId, role: key.role, deviceId: key.deviceId, keyId: key.id };
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(hash, { caller, expires: now + this.ttl });
    return caller;
  }
}
