/**
 * "Sign in with <issuer>": the authorization-code flow with PKCE. State and verifier wait in
 * sessionStorage while the issuer is away; the code comes back to this page's own origin and
 * path, and is exchanged through the node (/console/oidc/token) so connect-src stays 'self'.
 * Tokens never go into a URL: only the issuer's one-time code does, and it is removed from the
 * address bar before anything else runs.
 */
export interface OidcConfig {
  readonly issuer: string;
  readonly clientId: string;
  readonly authorizationEndpoint: string;
}

const PENDING = 'telemetry.oidcPending';

export async function oidcConfig(): Promise<OidcConfig | undefined> {
  const response = await fetch('/console/oidc').catch(() => undefined);
  // 204: the node has no OIDC sign-in configured.
  return response?.status === 200 ? ((await response.json()) as OidcConfig) : undefined;
}

const randomText = () => base64url(crypto.getRandomValues(new Uint8Array(32)));
const redirectUri = () => `${location.origin}${location.pathname}`;

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

/** Leaves for the issuer's authorization endpoint. */
export async function startOidcSignIn(config: OidcConfig): Promise<void> {
  const state = randomText();
  const verifier = randomText();
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  sessionStorage.setItem(PENDING, JSON.stringify({ state, verifier, hash: location.hash }));
  const url = new URL(config.authorizationEndpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: config.clientId,
    redirect_uri: redirectUri(),
    scope: 'openid',
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  location.assign(url.toString());
}

/**
 * The token when this load is the issuer's redirect back (undefined when it is not); throws
 * with a message for the user when the issuer refused or the state does not match.
 */
export async function finishOidcSignIn(): Promise<string | undefined> {
  const query = new URLSearchParams(location.search);
  if (!query.has('code') && !query.has('error')) return undefined;
  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? 'null') as { state: string; verifier: string; hash: string } | null;
  sessionStorage.removeItem(PENDING);
  // The code is single-use, but it has no business in history or a bookmark.
  history.replaceState(null, '', `${location.pathname}${pending?.hash ?? ''}`);
  if (query.has('error')) throw new Error(`the issuer refused the sign-in (${query.get('error')}): try again`);
  if (!pending || pending.state !== query.get('state')) throw new Error('this sign-in was not started from this tab (state mismatch): sign in again');
  const response = await fetch('/console/oidc/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code: query.get('code'), codeVerifier: pending.verifier, redirectUri: redirectUri() }),
  });
  const body = (await response.json().catch(() => ({}))) as { accessToken?: string; idToken?: string; error?: { message: string } };
  if (!response.ok) throw new Error(body.error?.message ?? `the sign-in failed (${response.status})`);
  // The access token is the one meant for an API; some issuers give an opaque one, then the ID token serves.
  const token = body.accessToken?.split('.').length === 3 ? body.accessToken : (body.idToken ?? body.accessToken);
  if (!token) throw new Error('the issuer answered no token: sign in again');
  return token;
}

/** Milliseconds until a JWT expires, or undefined for an API key. */
export function expiresIn(credential: string): number | undefined {
  const parts = credential.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const payload = JSON.parse(atob(parts[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as { exp?: number };
    return typeof payload.exp === 'number' ? payload.exp * 1000 - Date.now() : undefined;
  } catch {
    return undefined;
  }
}
