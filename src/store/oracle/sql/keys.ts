import type { ApiKeyInfo, ApiKeyRecord, KeyRevocation, NewApiKey } from '../../../domain/api-key';
import type { Role } from '../../../domain/caller';
import type { Session } from '../session';

/** Tenants and API keys. */

interface KeyRow {
  ID: string;
  TENANT_ID: string;
  ROLE: Role;
  DEVICE_ID: string | null;
  LABEL: string;
  CREATED_AT: number;
  LAST_USED_AT: number | null;
  REVOKED_AT: number | null;
}

const KEY_COLUMNS = 'id, tenant_id, role, device_id, label, created_at, last_used_at, revoked_at';

const toInfo = (row: KeyRow): ApiKeyInfo => ({
  id: row.ID,
  tenantId: row.TENANT_ID,
  role: row.ROLE,
  deviceId: row.DEVICE_ID,
  label: row.LABEL,
  createdAt: row.CREATED_AT,
  lastUsedAt: row.LAST_USED_AT,
  revokedAt: row.REVOKED_AT,
});

export const SQL = {
  insertTenant: `MERGE INTO tenants t USING (SELECT :id AS id, :name AS name, :created_at AS created_at FROM dual) s
                 ON (t.id = s.id)
                 WHEN NOT MATCHED THEN INSERT (id, name, created_at) VALUES (s.id, s.name, s.created_at)`,
  tenantExists: 'SELECT 1 AS found FROM tenants WHERE id = :id',
  insertKey: `INSERT INTO api_keys (id, tenant_id, role, device_id, label, secret_hash, created_at)
              VALUES (:id, :tenant_id, :role, :device_id, :label, :secret_hash, :created_at)`,
  keyByHash: `SELECT ${KEY_COLUMNS} FROM api_keys WHERE secret_hash = :secret_hash AND revoked_at IS NULL`,
  countAdmins: "SELECT COUNT(*) AS n FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL",
  countTenantAdmins: "SELECT COUNT(*) AS n FROM api_keys WHERE tenant_id = :tenant_id AND role = 'admin' AND revoked_at IS NULL",
  listKeys: `SELECT ${KEY_COLUMNS} FROM api_keys WHERE tenant_id = :tenant_id AND (:include_revoked = 1 OR revoked_at IS NULL) ORDER BY created_at, id`,
  // Serialises a tenant's key changes: the last-admin check holds until the transaction ends.
  lockTenant: 'SELECT id FROM tenants WHERE id = :tenant_id FOR UPDATE',
  revokeKey: 'UPDATE api_keys SET revoked_at = COALESCE(revoked_at, :at) WHERE tenant_id = :tenant_id AND id = :id',
  keyById: `SELECT ${KEY_COLUMNS} FROM api_keys WHERE tenant_id = :tenant_id AND id = :id`,
  activeDeviceKeys: "SELECT id FROM api_keys WHERE tenant_id = :tenant_id AND device_id = :device_id AND role = 'device' AND revoked_at IS NULL FOR UPDATE",
  revokeDeviceKeys: "UPDATE api_keys SET revoked_at = :at WHERE tenant_id = :tenant_id AND device_id = :device_id AND role = 'device' AND revoked_at IS NULL",
  touchKey: 'UPDATE api_keys SET last_used_at = :at WHERE id = :id AND (last_used_at IS NULL OR last_used_at < :at)',
  // The ids' column is as wide as api_keys.id: a longer one (an OIDC caller's) becomes NULL and matches no key.
  revokedKeyIds: `SELECT id FROM api_keys WHERE revoked_at IS NOT NULL
                  AND id IN (SELECT j.id FROM JSON_TABLE(:ids, '$[*]' COLUMNS (id VARCHAR2(64) PATH '$')) j)`,
} as const;

/**
 * Ids per revokedKeyIds statement: the JSON array bind of 500 UUIDs (~20 KB) stays inside a
 * VARCHAR2 bind (32 KB with extended strings), and a statement's IN list far from Oracle's
 * 1,000-expression limit should it ever be written out as binds.
 */
export const REVOKED_KEY_IDS_PER_STATEMENT = 500;

/** True when the tenant was created, false when it existed. */
export async function createTenant(session: Session, id: string, name: string, at: number): Promise<boolean> {
  const result = await session.execute(SQL.insertTenant, { id, name, created_at: at });
  return (result.rowsAffected ?? 0) > 0;
}

export async function tenantExists(session: Session, id: string): Promise<boolean> {
  return ((await session.execute(SQL.tenantExists, { id })).rows ?? []).length > 0;
}

export async function insertKey(session: Session, key: NewApiKey, at: number): Promise<void> {
  await session.execute(SQL.insertKey, {
    id: key.id,
    tenant_id: key.tenantId,
    role: key.role,
    device_id: key.deviceId ?? null,
    label: key.label,
    secret_hash: key.secretHash,
    created_at: at,
  });
}

export async function keyByHash(session: Session, secretHash: string): Promise<ApiKeyRecord | undefined> {
  const [row] = (await session.execute<KeyRow>(SQL.keyByHash, { secret_hash: secretHash })).rows ?? [];
  return row && { id: row.ID, tenantId: row.TENANT_ID, role: row.ROLE, deviceId: row.DEVICE_ID, label: row.LABEL };
}

export async function countAdmins(session: Session, tenantId?: string): Promise<number> {
  const result =
    tenantId === undefined
      ? await session.execute<{ N: number }>(SQL.countAdmins)
      : await session.execute<{ N: number }>(SQL.countTenantAdmins, { tenant_id: tenantId });
  return result.rows?.[0]?.N ?? 0;
}

export async function listKeys(session: Session, tenantId: string, includeRevoked: boolean): Promise<ApiKeyInfo[]> {
  return ((await session.execute<KeyRow>(SQL.listKeys, { tenant_id: tenantId, include_revoked: includeRevoked ? 1 : 0 })).rows ?? []).map(toInfo);
}

/** Locks the tenant, then refuses to revoke its last active admin key; the caller commits. */
export async function revokeKey(session: Session, tenantId: string, id: string, at: number): Promise<KeyRevocation> {
  await session.execute(SQL.lockTenant, { tenant_id: tenantId });
  const [target] = (await session.execute<KeyRow>(SQL.keyById, { tenant_id: tenantId, id })).rows ?? [];
  if (!target) return { outcome: 'NOT_FOUND' };
  const key = toInfo(target);
  if (key.role === 'admin' && key.revokedAt === null && (await countAdmins(session, tenantId)) <= 1) return { outcome: 'LAST_ADMIN_KEY' };
  await session.execute(SQL.revokeKey, { at, tenant_id: tenantId, id });
  const [row] = (await session.execute<KeyRow>(SQL.keyById, { tenant_id: tenantId, id })).rows ?? [];
  return { outcome: 'REVOKED', key: toInfo(row!) };
}

/** Revokes the device's active keys and inserts the replacement; the caller commits both. */
export async function replaceDeviceKeys(session: Session, tenantId: string, deviceId: string, replacement: NewApiKey, at: number): Promise<string[]> {
  const ids = ((await session.execute<{ ID: string }>(SQL.activeDeviceKeys, { tenant_id: tenantId, device_id: deviceId })).rows ?? []).map((row) => row.ID);
  await session.execute(SQL.revokeDeviceKeys, { at, tenant_id: tenantId, device_id: deviceId });
  await insertKey(session, replacement, at);
  return ids;
}

/** The revoked ones among `ids`, REVOKED_KEY_IDS_PER_STATEMENT at a time. */
export async function revokedKeyIds(session: Session, ids: readonly string[]): Promise<string[]> {
  const revoked: string[] = [];
  for (let start = 0; start < ids.length; start += REVOKED_KEY_IDS_PER_STATEMENT) {
    const chunk = ids.slice(start, start + REVOKED_KEY_IDS_PER_STATEMENT);
    for (const row of (await session.execute<{ ID: string }>(SQL.revokedKeyIds, { ids: JSON.stringify(chunk) })).rows ?? []) revoked.push(row.ID);
  }
  return revoked;
}

export async function touchKey(session: Session, id: string, at: number): Promise<void> {
  await session.execute(SQL.touchKey, { at, id });
}
