import { createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { print } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { DevicesDocument, ReadingAddedDocument, RegisterDeviceDocument, ViewerDocument } from '../generated/graphql';
import { createTenantWithCli, startServiceProcess, stopGracefully, type ServiceProcess } from '../support/service-process';
import { connect, subscribe } from '../support/ws-client';
import { newDataDir, randomKey } from '../support/server';

/**
 * OIDC sign-in against a local identity provider: a JWKS endpoint serving the public half of
 * an ES256 key pair the test signs tokens with (plain node:crypto, so the test checks the
 * service's jose-based verification against an independent signer). The service runs as a
 * child process, exactly as `npm start` runs it.
 */

const ISSUER = 'https://id.example.test/';
const AUDIENCE = 'telemetry-api';

function jwt(header: object, payload: object, key: KeyObject | null): string {
  const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');
  const signingInput = `${encode(header)}.${encode(payload)}`;
  const signature = key ? sign('sha256', Buffer.from(signingInput), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url') : '';
  return `${signingInput}.${signature}`;
}

describe('sign-in with OIDC tokens', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  let issuerServer: Server;
  let service: ServiceProcess;
  let jwksRequests = 0;
  const dataDir = newDataDir();
  const adminKey = randomKey();

  const token = (claims: Record<string, unknown> = {}, options: { key?: KeyObject | null; alg?: string; expiresIn?: number } = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return jwt(
      { alg: options.alg ?? 'ES256', kid: 'k1', typ: 'JWT' },
      { iss: ISSUER, aud: AUDIENCE, sub: 'alice@example.test', iat: now, exp: now + (options.expiresIn ?? 600), tenant: 'default', role: 'reader', ...claims },
      options.key === undefined ? privateKey : options.key,
    );
  };

  async function gql<TData, TVariables>(document: TypedDocumentNode<TData, TVariables>, variables: TVariables | undefined, credential: string) {
    const response = await fetch(service.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${credential}` },
      body: JSON.stringify({ query: print(document), variables }),
    });
    return { status: response.status, ...((await response.json()) as { data?: TData; errors?: { extensions?: Record<string, unknown> }[] }) };
  }

  beforeAll(async () => {
    const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256', use: 'sig' };
    issuerServer = createServer((_request, response) => {
      jwksRequests++;
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => issuerServer.listen(0, '127.0.0.1', () => resolve()));
    service = await startServiceProcess({
      TELEMETRY_DATA_DIR: dataDir,
      TELEMETRY_ADMIN_KEY: adminKey,
      TELEMETRY_STREAM_SYNC: 'normal',
      TELEMETRY_OIDC_ISSUER: ISSUER,
      TELEMETRY_OIDC_JWKS_URL: `http://127.0.0.1:${(issuerServer.address() as AddressInfo).port}/jwks`,
      TELEMETRY_OIDC_AUDIENCE: AUDIENCE,
    });
    await gql(RegisterDeviceDocument, { input: { id: 'pump-1' } }, adminKey);
  });
  afterAll(async () => {
    await stopGracefully(service);
    await new Promise((resolve) => issuerServer.close(resolve));
  });

  it('lets a signed-in reader query its tenant and nothing more; an admin token may manage', async () => {
    const reader = token();
    expect((await gql(ViewerDocument, undefined, reader)).data?.viewer).toEqual({ keyId: 'oidc:alice@example.test', role: 'READER', deviceId: null });
    expect((await gql(DevicesDocument, {}, reader)).data?.devices.edges.map((e) => e.node.id)).toEqual(['pump-1']);
    expect((await gql(RegisterDeviceDocument, { input: { id: 'pump-2' } }, reader)).errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN' });
    const admin = token({ role: ['user', 'admin'] });
    expect((await gql(RegisterDeviceDocument, { input: { id: 'pump-2' } }, admin)).data?.registerDevice.device.id).toBe('pump-2');
    expect(jwksRequests).toBe(1); // fetched once, then cached
  });

  it('scopes a token to the tenant it names', async () => {
    await createTenantWithCli(dataDir, 'other');
    expect((await gql(DevicesDocument, {}, token({ tenant: 'other' }))).data?.devices.edges).toEqual([]);
  });

  it.each<[string, () => string]>([
    ['another audience', () => token({ aud: 'someone-else' })],
    ['another issuer', () => token({ iss: 'https://evil.example.test/' })],
    ['an expired token', () => token({}, { expiresIn: -120 })],
    ['an unknown tenant', () => token({ tenant: 'nobody' })],
    ['no role', () => token({ role: undefined })],
    ['a role that is not reader or admin', () => token({ role: 'device' })],
    [
      'a key the issuer does not publish',
      () => token({}, { key: createPrivateKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' })) }),
    ],
    [
      'a tampered payload',
      () => {
        const [header, , signature] = token().split('.');
        const forged = Buffer.from(
          JSON.stringify({ iss: ISSUER, aud: AUDIENCE, sub: 'mallory', exp: Math.floor(Date.now() / 1000) + 600, tenant: 'default', role: 'admin' }),
        ).toString('base64url');
        return `${header}.${forged}.${signature}`;
      },
    ],
    ['an unsigned token (alg none)', () => token({ role: 'admin' }, { alg: 'none', key: null })],
  ])('refuses %s with 401', async (_name, make) => {
    const response = await gql(ViewerDocument, undefined, make());
    expect(response.status).toBe(401);
    expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('closes a WebSocket when its token expires', async () => {
    const client = connect(service.url.replace(/^http/, 'ws'), token({}, { expiresIn: 2 }));
    const sub = subscribe(client, ReadingAddedDocument, { deviceId: 'pump-1' });
    expect(await sub.finished).toMatchObject({ code: 4403, reason: 'token expired' });
    await client.dispose();
  });
});
