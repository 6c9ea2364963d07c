/** Roles an API key can carry. */
export type Role =
  /** May ingest readings for its own device only. */
  | 'device'
  /** May run queries and subscriptions. */
  | 'reader'
  /** May do everything within its tenant. */
  | 'admin';

/** Who is calling: resolved from credentials once per request or connection. */
export interface Caller {
  readonly tenantId: string;
  readonly role: Role;
  /** For device keys, the only device they may ingest for. */
  readonly deviceId: string | null;
  /** API key id, or `oidc:<subject>` for a signed-in user. */
  readonly keyId: string;
  /** When the credentials stop being valid (tokens); undefined for API keys. */
  readonly expiresAt?: number;
}
