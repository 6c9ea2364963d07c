import type Database from 'better-sqlite3';
import type { ApiKeyInfo, ApiKeyRecord, KeyRevocation, NewApiKey } from '../../../domain/api-key';
import type { Role } from '../../../domain/caller';

/** SQLite statements for tenants and API keys. Only hashes are stored; secrets never reach the database. */

const KEY_COLUMNS = 'id, tenant_id, role, device_id, label, created_at, last_used_at, revoked_at';

interface KeyRow {
  id: string;
  tenant_id: string;
  role: Role;
  device_id: string | null;
  label: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

const toInfo = (row: KeyRow): ApiKeyInfo => ({
  id: row.id,
  tenantId: row.tenant_id,
  role: row.role,
  deviceId: row.device_id,
  label: row.label,
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
  revokedAt: row.revoked_at,
});

export function createApiKey(db: Database.Database, key: NewApiKey, at: number): void {
  db.prepare('INSERT INTO api_keys (id, tenant_id, role, device_id, label, secret_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    key.id,
    key.tenantId,
    key.role,
    key.deviceId ?? null,
    key.label,
    key.secretHash,
    at,
  );
}

export function findApiKeyBySecretHash(db: Database.Database, secretHash: string): ApiKeyRecord | undefined {
  const row = db.prepare(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE secret_hash = ? AND revoked_at IS NULL`).get(secretHash) as KeyRow | undefined;
  return row && { id: row.id, tenantId: row.tenant_id, role: row.role, deviceId: row.device_id, label: row.label };
}

export function listApiKeys(db: Database.Database, tenantId: string, includeRevoked: boolean): ApiKeyInfo[] {
  return (
    db
      .prepare(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE tenant_id = ? AND (? OR revoked_at IS NULL) ORDER BY created_at, id`)
      .all(tenantId, includeRevoked ? 1 : 0) as KeyRow[]
  ).map(toInfo);
}

/** Call inside an IMMEDIATE transaction: the last-admin check and the update must not interleave. */
export function revokeApiKey(db: Database.Database, tenantId: string, id: string, at: number): KeyRevocation {
  const target = db.prepare(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE tenant_id = ? AND id = ?`).get(tenantId, id) as KeyRow | undefined;
  if (!target) return { outcome: 'NOT_FOUND' };
  if (target.role === 'admin' && target.revoked_at === null) {
    const active = db.prepare("SELECT COUNT(*) AS n FROM api_keys WHERE tenant_id = ? AND role = 'admin' AND revoked_at IS NULL").get(tenantId) as {
      n: number;
    };
    if (active.n <= 1) return { outcome: 'LAST_ADMIN_KEY' };
  }
  const row = db
    .prepare(`UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE tenant_id = ? AND id = ? RETURNING ${KEY_COLUMNS}`)
    .get(at, tenantId, id) as KeyRow;
  return { outcome: 'REVOKED', key: toInfo(row) };
}

export function replaceDeviceKeys(db: Database.Database, tenantId: string, deviceId: string, replacement: NewApiKey, at: number): string[] {
  const revoked = db
    .prepare("UPDATE api_keys SET revoked_at = ? WHERE tenant_id = ? AND device_id = ? AND role = 'device' AND revoked_at IS NULL RETURNING id")
    .all(at, tenantId, deviceId) as { id: string }[];
  createApiKey(db, replacement, at);
  return revoked.map((row) => row.id);
}

/** Inserts a tenant unless it exists; true when it was created. */
export function createTenant(db: Database.Database, id: string, name: string, at: number): boolean {
  return db.prepare('INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING').run(id, name, at).changes > 0;
}

export function tenantExists(db: Database.Database, id: string): boolean {
  return db.prepare('SELECT 1 FROM tenants WHERE id = ?').get(id) !== undefined;
}

export function countAdminKeys(db: Database.Database): number {
  return (db.prepare("SELECT COUNT(*) AS n FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL").get() as { n: number }).n;
}

/** One statement for any number of ids: they travel as one JSON array (no bind-count limit). */
export function revokedApiKeyIds(db: Database.Database, ids: readonly string[]): string[] {
  if (ids.length === 0) return [];
  const rows = db.prepare('SELECT id FROM api_keys WHERE revoked_at IS NOT NULL AND id IN (SELECT value FROM json_each(?))').all(JSON.stringify(ids)) as {
    id: string;
  }[];
  return rows.map((row) => row.id);
}

export function touchApiKey(db: Database.Database, id: string, at: number): void {
  db.prepare('UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)').run(at, id, at);
}
