import type { IncomingMessage, ServerResponse } from 'node:http';
import { TelemetryError } from '../domain/errors';
import { mediaType, parseJsonBody, readBody } from './body';
import type { OidcSettings } from './oidc';

/**
 * What the console needs for "Sign in with <issuer>" (authorization code + PKCE), on its own
 * origin so that its CSP keeps connect-src 'self':
 * - GET /console/oidc: public data only (issuer, client id, authorization endpoint);
 * - POST /console/oidc/token: the one-time code and PKCE verifier forwarded to the issuer's
 *   token endpoint, its tokens answered to the page. The node adds no secret: the console is
 *   a public client, and the verifier only the page holds is what makes the code usable.
 */
export interface OidcConsoleRoute {
  config(request: IncomingMessage, response: ServerResponse): Promise<void>;
  token(request: IncomingMessage, response: ServerResponse): Promise<void>;
}

interface Endpoints {
  readonly authorization: string;
  readonly token: string;
}

const MAX_BODY_BYTES = 16 * 1024;
/** Code, verifier and redirect URI are short printable strings: anything else is not a sign-in. */
const PRINTABLE = /^[\x21-\x7e]{1,4096}$/;

export function createOidcConsoleRoute(settings: OidcSettings & { readonly clientId: string }, fetchImpl: typeof fetch = fetch): OidcConsoleRoute {
  let endpoints: Promise<Endpoints> | undefined;
  // Read once, on the first sign-in; a failed read is retried by the next one.
  const resolveEndpoints = (): Promise<Endpoints> => {
    endpoints ??= discover(settings, fetchImpl).catch((error: unknown) => {
      endpoints = undefined;
      throw error;
    });
    return endpoints;
  };

  return {
    async config(request, response) {
      allow(request, 'GET');
      const { authorization } = await resolveEndpoints();
      send(response, 200, { issuer: settings.issuer, clientId: settings.clientId, authorizationEndpoint: authorization });
    },
    async token(request, response) {
      allow(request, 'POST');
      if (mediaType(request) !== 'application/json')
        throw new TelemetryError('BAD_USER_INPUT', 'send the code as application/json', { details: { status: 415 } });
      const body = parseJsonBody(await readBody(request, MAX_BODY_BYTES)) as Record<string, unknown> | null;
      const field = (name: string): string => {
        const value = body && typeof body === 'object' ? body[name] : undefined;
        if (typeof value !== 'string' || !PRINTABLE.test(value)) throw new TelemetryError('BAD_USER_INPUT', `"${name}" must be a non-empty string`);
        return value;
      };
      const form = new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: settings.clientId,
        code: field('code'),
        code_verifier: field('codeVerifier'),
        redirect_uri: field('redirectUri'),
      });
      const { token } = await resolveEndpoints();
      let answer: Response;
      try {
        answer = await fetchImpl(token, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body: form,
          signal: AbortSignal.timeout(10_000),
        });
      } catch {
        throw new TelemetryError('UNAVAILABLE', `the issuer's token endpoint cannot be reached: try again`);
      }
      const tokens = (await answer.json().catch(() => ({}))) as Record<string, unknown>;
      if (!answer.ok) {
        // The issuer's own reason (invalid_grant: a used or expired code...), never its tokens.
        const reason = typeof tokens['error'] === 'string' ? tokens['error'] : `status ${answer.status}`;
        throw new TelemetryError('UNAUTHENTICATED', `the issuer refused the sign-in (${reason}): sign in again`);
      }
      const string = (name: string) => (typeof tokens[name] === 'string' ? tokens[name] : undefined);
      send(response, 200, { accessToken: string('access_token'), idToken: string('id_token') });
    },
  };
}

async function discover(settings: OidcSettings, fetchImpl: typeof fetch): Promise<Endpoints> {
  if (settings.authorizationUrl && settings.tokenUrl) return { authorization: settings.authorizationUrl, token: settings.tokenUrl };
  const url = `${settings.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  let document: Record<string, unknown>;
  try {
    const answer = await fetchImpl(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(10_000) });
    if (!answer.ok) throw new Error(`status ${answer.status}`);
    document = (await answer.json()) as Record<string, unknown>;
  } catch (error) {
    throw new TelemetryError(
      'UNAVAILABLE',
      `the issuer's discovery document ${url} cannot be read (${(error as Error).message}): set TELEMETRY_OIDC_AUTHORIZATION_URL and TELEMETRY_OIDC_TOKEN_URL`,
    );
  }
  const authorization = settings.authorizationUrl ?? document['authorization_endpoint'];
  const token = settings.tokenUrl ?? document['token_endpoint'];
  if (typeof authorization !== 'string' || typeof token !== 'string') {
    throw new TelemetryError('UNAVAILABLE', `the issuer's discovery document ${url} names no authorization or token endpoint`);
  }
  return { authorization, token };
}

function allow(request: IncomingMessage, method: string): void {
  if (request.method !== method) throw new TelemetryError('BAD_USER_INPUT', `use ${method}`, { details: { status: 405 } });
}

function send(response: ServerResponse, status: number, body: unknown): void {
  // Tokens and sign-in data are never cached by a browser or proxy.
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  response.end(JSON.stringify(body));
}
