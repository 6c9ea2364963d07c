import { TelemetryError } from '../domain/errors';
import { generateApiKey, hashApiKey, newApiKey } from '../keys/api-keys';
import type { TenantKeyStore } from '../store/ports/tenant-key-store';

export const DEFAULT_TENANT_ID = 'default';

/**
 * Makes sure the default tenant has an admin key. With `adminKey` (TELEMETRY_ADMIN_KEY) set,
 * that key is registered (hashed) if new. Without it, a key is generated on first start only
 * and returned so the caller can show it once; it is never stored in clear.
 */
export async function bootstrapAdminKey(store: TenantKeyStore, adminKey: string | undefined): Promise<string | undefined> {
  await store.ensureTenant(DEFAULT_TENANT_ID, 'Default tenant');
  if (adminKey !== undefined) {
    if (!(await store.findApiKeyBySecretHash(hashApiKey(adminKey)))) {
      await store.createApiKey({
        id: crypto.randomUUID(),
        tenantId: DEFAULT_TENANT_ID,
        role: 'admin',
        label: 'TELEMETRY_ADMIN_KEY',
        secretHash: hashApiKey(adminKey),
      });
    }
    return undefined;
  }
  if ((await store.countAdminKeys()) > 0) return undefined;
  const key = generateApiKey();
  await store.createApiKey({ id: crypto.randomUUID(), tenantId: DEFAULT_TENANT_ID, role: 'admin', label: 'bootstrap', secretHash: hashApiKey(key) });
  return key;
}

export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;

/**
 * Creates a tenant with its first admin key and returns the key's secret (to show once).
 * Refuses an existing tenant: its keys are managed through the API by its own admins.
 */
export async function createTenant(store: TenantKeyStore, id: string, name: string): Promise<string> {
  if (!TENANT_ID_PATTERN.test(id)) throw new TelemetryError('BAD_USER_INPUT', 'a tenant id is 1-64 characters of [a-z0-9-]');
  if (!(await store.createTenant(id, name))) throw new TelemetryError('ALREADY_EXISTS', `tenant "${id}" exists already`);
  const { secret, record } = newApiKey(id, 'admin', 'create-tenant');
  await store.createApiKey(record);
  return secret;
}
