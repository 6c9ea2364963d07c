import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { postGraphQL } from '../support/graphql-post';
import { newDataDir, randomKey } from '../support/server';
import { startServiceProcess, stopGracefully, type ServiceProcess } from '../support/service-process';
import { chromiumPath, launchChromium } from './browser';

/**
 * "Sign in with <issuer>" in headless Chromium against a stand-in issuer on this machine: a
 * discovery document, an authorization endpoint that approves at once and redirects back with
 * a code, a token endpoint that checks the code, redirect URI and PKCE verifier before signing
 * an ES256 token (plain node:crypto), and the JWKS the service verifies it with.
 */
const executable = chromiumPath();
const describeWithBrowser = executable ? describe : describe.skip;
const AUDIENCE = 'telemetry-api';
const CLIENT_ID = 'telemetry-console';

describeWithBrowser('web console: sign-in with an OIDC issuer (headless chromium)', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  let issuerServer: Server;
  let issuer: string;
  let service: ServiceProcess;
  let origin: string;
  const adminKey = randomKey();
  // Unset when the service fails to start: afterAll still stops the rest.
  let browser: Browser | undefined;
  /** The claims the next sign-in's token carries, as the issuer's user directory would give them. */
  let user: { sub: string; role: string; lifetimeSeconds: number };
  const codes = new Map<string, { challenge: string; redirectUri: string; clientId: string }>();
  const tokenRequests: URLSearchParams[] = [];

  const jwt = (payload: object) => {
    const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');
    const input = `${encode({ alg: 'ES256', kid: 'k1', typ: 'JWT' })}.${encode(payload)}`;
    return `${input}.${sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
  };

  const signIn = async (): Promise<Page> => {
    const context = await browser!.newContext();
    const page = await context.newPage();
    await page.goto(`${origin}/#/fleet`);
    await page.locator('#oidc-sign-in').click();
    return page;
  };

  beforeAll(async () => {
    const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256', use: 'sig' };
    issuerServer = createServer((request, response) => {
      const url = new URL(request.url ?? '/', issuer);
      const json = (status: number, body: unknown) => response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (url.pathname === '/.well-known/openid-configuration') {
        json(200, { issuer, authorization_endpoint: `${issuer}authorize`, token_endpoint: `${issuer}token`, jwks_uri: `${issuer}jwks` });
      } else if (url.pathname === '/jwks') {
        json(200, { keys: [jwk] });
      } else if (url.pathname === '/authorize') {
        const q = url.searchParams;
        if (q.get('response_type') !== 'code' || q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) {
          json(400, { error: 'invalid_request' });
          return;
        }
        const code = randomBytes(16).toString('hex');
        codes.set(code, { challenge: q.get('code_challenge')!, redirectUri: q.get('redirect_uri')!, clientId: q.get('client_id')! });
        const back = new URL(q.get('redirect_uri')!);
        back.search = new URLSearchParams({ code, state: q.get('state')! }).toString();
        response.writeHead(302, { location: back.toString() }).end();
      } else if (url.pathname === '/token' && request.method === 'POST') {
        let body = '';
        request.on('data', (chunk: Buffer) => (body += chunk.toString()));
        request.on('end', () => {
          const form = new URLSearchParams(body);
          tokenRequests.push(form);
          const grant = codes.get(form.get('code') ?? '');
          codes.delete(form.get('code') ?? '');
          const verified =
            grant &&
            createHash('sha256')
              .update(form.get('code_verifier') ?? '')
              .digest('base64url') === grant.challenge;
          if (!grant || !verified || grant.redirectUri !== form.get('redirect_uri') || grant.clientId !== form.get('client_id')) {
            json(400, { error: 'invalid_grant' });
            return;
          }
          const now = Math.floor(Date.now() / 1000);
          const claims = { iss: issuer, sub: user.sub, iat: now, exp: now + user.lifetimeSeconds, tenant: 'default', role: user.role };
          json(200, {
            token_type: 'Bearer',
            access_token: jwt({ ...claims, aud: AUDIENCE }),
            id_token: jwt({ ...claims, aud: CLIENT_ID }),
            expires_in: user.lifetimeSeconds,
          });
        });
      } else json(404, {});
    });
    await new Promise<void>((resolve) => issuerServer.listen(0, '127.0.0.1', () => resolve()));
    issuer = `http://127.0.0.1:${(issuerServer.address() as AddressInfo).port}/`;
    // A child process, as `npm start` runs it: jose is ESM-only and jest's CommonJS sandbox cannot import it.
    service = await startServiceProcess({
      TELEMETRY_DATA_DIR: newDataDir(),
      TELEMETRY_ADMIN_KEY: adminKey,
      TELEMETRY_STREAM_SYNC: 'normal',
      TELEMETRY_OIDC_ISSUER: issuer,
      TELEMETRY_OIDC_JWKS_URL: `${issuer}jwks`,
      TELEMETRY_OIDC_AUDIENCE: AUDIENCE,
      TELEMETRY_OIDC_CLIENT_ID: CLIENT_ID,
    });
    origin = new URL(service.url).origin;
    await postGraphQL(service.url, adminKey, 'mutation { registerDevice(input: { id: "pump-1" }) { device { id } } }', {});
    browser = await launchChromium(executable!);
  });
  afterAll(async () => {
    await browser?.close();
    await stopGracefully(service);
    await new Promise((resolve) => issuerServer.close(resolve));
  });

  it('gives the console public data only, and keeps its CSP free of the issuer', async () => {
    const config = await fetch(`${origin}/console/oidc`);
    expect(await config.json()).toEqual({ issuer, clientId: CLIENT_ID, authorizationEndpoint: `${issuer}authorize` });
    const csp = (await fetch(`${origin}/`)).headers.get('content-security-policy');
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toMatch(/https?:|127\.0\.0\.1/);
  });

  it("answers bad input to the token exchange precisely, and passes on the issuer's refusal", async () => {
    const post = async (body: string) => {
      const response = await fetch(`${origin}/console/oidc/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      return { status: response.status, body: (await response.json()) as { error: { code: string; message: string } } };
    };
    expect(await post('{"code":')).toMatchObject({ status: 400, body: { error: { code: 'BAD_USER_INPUT' } } });
    expect(await post('{"code":"x","codeVerifier":1}')).toMatchObject({
      status: 400,
      body: { error: { code: 'BAD_USER_INPUT', message: expect.stringContaining('codeVerifier') } },
    });
    const refused = await post(JSON.stringify({ code: 'unknown', codeVerifier: 'v', redirectUri: `${origin}/` }));
    expect(refused).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHENTICATED', message: expect.stringContaining('invalid_grant') } } });
  });

  it('signs an admin in through the issuer, shows the fleet with the admin pages, and signs out', async () => {
    user = { sub: 'alice@example.test', role: 'admin', lifetimeSeconds: 600 };
    const page = await signIn();
    await page.locator('#fleet tr[data-device="pump-1"]').waitFor();
    expect(await page.locator('header .who').textContent()).toBe('admin alice@example.test');
    await page.getByRole('link', { name: 'Admin' }).waitFor();
    // The code went through the node with the PKCE verifier; neither it nor a token stays in the URL.
    expect(tokenRequests.at(-1)?.get('code_verifier')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(page.url()).toBe(`${origin}/#/fleet`);
    await page.locator('#sign-out').click();
    await page.locator('#oidc-sign-in').waitFor();
    expect(await page.evaluate(() => JSON.stringify((globalThis as any).sessionStorage))).toBe('{}');
    await page.context().close();
  });

  it("gives a reader token's user no admin pages", async () => {
    user = { sub: 'bob@example.test', role: 'reader', lifetimeSeconds: 600 };
    const page = await signIn();
    await page.locator('#fleet tr[data-device="pump-1"]').waitFor();
    expect(await page.locator('header .who').textContent()).toBe('reader bob@example.test');
    expect(await page.getByRole('link', { name: 'Admin' }).count()).toBe(0);
    await page.context().close();
  });

  it('says so when the token expires, and asks for a new sign-in', async () => {
    // Past its expiry at once for the console; the service's 30 s clock tolerance still accepts it.
    user = { sub: 'carol@example.test', role: 'reader', lifetimeSeconds: -1 };
    const page = await signIn();
    await page.locator('#sign-in-error', { hasText: 'Your sign-in has expired' }).waitFor();
    expect(await page.evaluate(() => JSON.stringify((globalThis as any).sessionStorage))).toBe('{}');
    await page.context().close();
  });

  it('refuses a redirect back that this tab did not start', async () => {
    const context = await browser!.newContext();
    const page = await context.newPage();
    await page.goto(`${origin}/?code=stolen&state=forged`);
    await page.locator('#sign-in-error', { hasText: 'state mismatch' }).waitFor();
    expect(page.url()).toBe(`${origin}/`);
    await context.close();
  });
});
