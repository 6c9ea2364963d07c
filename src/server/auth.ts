import type { Caller } from '../domain/caller';
import { hashApiKey } from '../keys/api-keys';
import type { TenantKeyStore } from '../store/ports/tenant-key-store';

/** Extracts the token of an `Authorization: Bearer <token>` header. */
export function bearerToken(header: string | undefined): string | undefined {
  // Long enough for OIDC tokens (a few KB); API keys are 46 characters.
  const match = header === undefined ? null : /^Bearer\s+(\S{1,8192})\s*$/i.exec(header);
  return match?.[1];
}

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
    private readonly store: TenantKeyStore,
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
