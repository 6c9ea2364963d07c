import type { Caller, Role } from '../domain/caller';

/**
 * Sign-in of frontend users with tokens from an OIDC issuer (OCI IAM identity domains, Auth0,
 * Keycloak...): a signed JWT whose issuer and audience match, whose signature verifies against
 * the issuer's JWKS (fetched and cached by `jose`, refetched when an unknown key id shows up),
 * and whose claims name a tenant and a role (`reader` or `admin`; devices use API keys).
 */
export interface OidcSettings {
  readonly issuer: string;
  readonly jwksUrl: string;
  readonly audience: string;
  /** Claim holding the tenant id. @default 'tenant' */
  readonly tenantClaim: string;
  /** Claim holding the role: a string, or an array of strings of which the strongest counts. @default 'role' */
  readonly roleClaim: string;
  /** The console's public client id: set, the console offers "Sign in with <issuer>" (oidc-console-route.ts). */
  readonly clientId?: string | undefined;
  /** Authorization and token endpoints; unset, read from the issuer's discovery document. */
  readonly authorizationUrl?: string | undefined;
  readonly tokenUrl?: string | undefined;
}

/** Undefined when the token is not valid for this service (the caller answers UNAUTHENTICATED). */
export type TokenVerifier = (token: string) => Promise<Caller | undefined>;

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** Asymmetric algorithms only: a shared-secret (HS*) token could be forged by anyone holding the JWKS. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

export const looksLikeJwt = (token: string): boolean => JWT_SHAPE.test(token);

function roleOf(claim: unknown): Role | undefined {
  const values = Array.isArray(claim) ? claim : [claim];
  if (values.includes('admin')) return 'admin';
  if (values.includes('reader')) return 'reader';
  return undefined;
}

export async function createOidcVerifier(settings: OidcSettings, tenantExists: (tenantId: string) => Promise<boolean>): Promise<TokenVerifier> {
  // jose is ESM-only: loaded with a dynamic import from this CommonJS build.
  const { createRemoteJWKSet, jwtVerify } = await import('jose');
  const jwks = createRemoteJWKSet(new URL(settings.jwksUrl), { cooldownDuration: 30_000, timeoutDuration: 5000 });
  // Verified tokens are reused until they expire (or for a minute): a dashboard sends the same
  // token with every request.
  const verified = new Map<string, { caller: Caller; until: number }>();
  return async (token) => {
    if (!looksLikeJwt(token)) return undefined;
    const now = Date.now();
    const hit = verified.get(token);
    if (hit && hit.until > now) return hit.caller;
    const caller = await verify(token);
    if (caller) {
      if (verified.size > 10_000) verified.clear();
      verified.set(token, { caller, until: Math.min(caller.expiresAt ?? now, now + 60_000) });
    }
    return caller;
  };

  async function verify(token: string): Promise<Caller | undefined> {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, jwks, { issuer: settings.issuer, audience: settings.audience, algorithms: ALGORITHMS, clockTolerance: 30 }));
    } catch {
      return undefined;
    }
    const tenantId = payload[settings.tenantClaim];
    const role = roleOf(payload[settings.roleClaim]);
    if (typeof tenantId !== 'string' || !role || typeof payload.sub !== 'string' || typeof payload.exp !== 'number') return undefined;
    if (!(await tenantExists(tenantId))) return undefined;
    return { tenantId, role, deviceId: null, keyId: `oidc:${payload.sub}`, expiresAt: payload.exp * 1000 };
  }
}
