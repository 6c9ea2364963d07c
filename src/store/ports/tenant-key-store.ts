import type { ApiKeyInfo, ApiKeyRecord, KeyRevocation, NewApiKey } from '../../domain/api-key';

/** Tenants and their API keys. Every key method that reads a tenant's keys takes the tenant. */
export interface TenantKeyStore {
  ensureTenant(id: string, name: string): Promise<void>;
  /** False when the tenant exists already. */
  createTenant(id: string, name: string): Promise<boolean>;
  tenantExists(id: string): Promise<boolean>;
  createApiKey(key: NewApiKey): Promise<void>;
  findApiKeyBySecretHash(secretHash: string): Promise<ApiKeyRecord | undefined>;
  countAdminKeys(): Promise<number>;
  listApiKeys(tenantId: string, includeRevoked: boolean): Promise<ApiKeyInfo[]>;
  /**
   * Revokes a key unless it is the tenant's last active admin key (which would lock the tenant
   * out). The check and the revocation are one transaction: two admins revoking each other's
   * keys at the same moment cannot both succeed.
   */
  revokeApiKey(tenantId: string, id: string, at: number): Promise<KeyRevocation>;
  /**
   * Revokes the device's active device keys and creates `replacement` in one transaction;
   * returns the ids revoked.
   */
  replaceDeviceKeys(tenantId: string, deviceId: string, replacement: NewApiKey, at: number): Promise<string[]>;
  /** Records that a key was used (callers throttle how often). */
  touchApiKey(id: string, at: number): Promise<void>;
  /**
   * Which of these key ids (of any tenant) are revoked: an API node's periodic check of the keys
   * holding its connections (keys/revocation-check.ts). An id of no key is not revoked (OIDC
   * callers' `oidc:<sub>` ids are never stored). Any number of ids, a few round trips at most.
   */
  revokedApiKeyIds(ids: readonly string[]): Promise<string[]>;
}
