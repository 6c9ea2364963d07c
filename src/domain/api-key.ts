import type { Role } from './caller';

/** An API key as authentication reads it (never its secret or hash). */
export interface ApiKeyRecord {
  readonly id: string;
  readonly tenantId: string;
  readonly role: Role;
  /** For `device` keys: the one device they may ingest for. */
  readonly deviceId: string | null;
  readonly label: string;
}

/** A key as admins list it (never its secret or hash). */
export interface ApiKeyInfo extends ApiKeyRecord {
  readonly createdAt: number;
  readonly lastUsedAt: number | null;
  readonly revokedAt: number | null;
}

export interface NewApiKey {
  readonly id: string;
  readonly tenantId: string;
  readonly role: Role;
  readonly deviceId?: string | null;
  readonly label: string;
  /** SHA-256 of the secret, hex. The secret itself is never stored. */
  readonly secretHash: string;
}

/** What revoking a key did. */
export type KeyRevocation =
  | { readonly outcome: 'REVOKED'; readonly key: ApiKeyInfo }
  /** No such key in the tenant. */
  | { readonly outcome: 'NOT_FOUND' }
  /** The key is the tenant's last active admin key: nothing was changed. */
  | { readonly outcome: 'LAST_ADMIN_KEY' };
