import { defineVocabulary, type ValueOf } from './vocabulary';

/** Roles an API key (or a signed-in user) can carry. GraphQL names them in capitals (KeyRole). */
export const ROLES = defineVocabulary({
  device: 'Ingests readings for its one device; nothing else.',
  reader: 'Queries and subscriptions.',
  admin: 'Everything in its tenant: devices, keys, rules, webhooks, dead letters.',
});
export type Role = ValueOf<typeof ROLES>;

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
