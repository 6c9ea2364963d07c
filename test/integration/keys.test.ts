import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import {
  ApiKeysDocument,
  CreateApiKeyDocument,
  DevicesDocument,
  IngestReadingDocument,
  ReadingAddedDocument,
  RegisterDeviceDocument,
  RevokeApiKeyDocument,
  RotateDeviceKeyDocument,
  ViewerDocument,
} from '../generated/graphql';
import { connect, subscribe } from '../support/ws-client';
import { createTenantWithCli } from '../support/service-process';
import { eventually, startTestServer, type TestServer } from '../support/server';
import WebSocket from 'ws';

const reading = (deviceId: string) => ({ reading: { deviceId, timestamp: new Date(Date.now() - 1000).toISOString(), metrics: [{ name: 'v', value: 1 }] } });

describe('API keys: roles, device keys, rotation and revocation', () => {
  let server: TestServer;
  let deviceKey: string;
  let readerKey: string;

  beforeAll(async () => {
    server = await startTestServer();
    deviceKey = (await server.ok(RegisterDeviceDocument, { input: { id: 'meter-1' } })).registerDevice.deviceKey;
    await server.ok(RegisterDeviceDocument, { input: { id: 'meter-2' } });
    readerKey = (await server.ok(CreateApiKeyDocument, { input: { role: 'READER', label: 'dashboard' } })).createApiKey.secret;
  });
  afterAll(() => server.close());

  it('issues random keys shown once and lists them without secrets, with last-used time', async () => {
    expect(deviceKey).toMatch(/^tk_[A-Za-z0-9_-]{43}$/); // 256 random bits
    expect(readerKey).not.toBe(deviceKey);
    expect((await server.gql(ViewerDocument, undefined, readerKey)).data?.viewer).toMatchObject({ role: 'READER', deviceId: null });
    const keys = (await server.ok(ApiKeysDocument, {})).apiKeys;
    expect(keys.map((k) => [k.role, k.label, k.deviceId])).toEqual(
      expect.arrayContaining([
        ['ADMIN', 'TELEMETRY_ADMIN_KEY', null],
        ['DEVICE', 'device meter-1', 'meter-1'],
        ['READER', 'dashboard', null],
      ]),
    );
    expect(JSON.stringify(keys)).not.toContain(readerKey);
    expect(keys.find((k) => k.label === 'dashboard')!.lastUsedAt).not.toBeNull();
  });

  it('lets a device key ingest for its own device only, and nothing else', async () => {
    expect((await server.gql(IngestReadingDocument, reading('meter-1'), deviceKey)).data?.ingestReading).toMatchObject({ acceptedCount: 1 });
    // Another device, existing or not, gets the same answer (nothing about it leaks), and a true
    // one: not "no device is registered", which sent users hunting for a missing registration.
    for (const other of ['meter-2', 'ghost']) {
      const result = await server.gql(IngestReadingDocument, reading(other), deviceKey);
      expect(result.data?.ingestReading).toMatchObject({
        acceptedCount: 0,
        rejected: [{ code: 'UNKNOWN_DEVICE', message: `readings sent as device "meter-1" may name only that device, not "${other}"` }],
      });
    }
    expect((await server.gql(DevicesDocument, {}, deviceKey)).errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN' });
    const http = await fetch(`${server.baseUrl}/ingest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${deviceKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ deviceId: 'meter-2', timestamp: new Date().toISOString(), metrics: { v: 1 } }),
    });
    expect(http.status).toBe(422);
  });

  it('lets a reader query but not change anything', async () => {
    expect((await server.gql(DevicesDocument, {}, readerKey)).data?.devices.edges).toHaveLength(2);
    for (const [document, variables] of [
      [RegisterDeviceDocument, { input: { id: 'meter-3' } }],
      [IngestReadingDocument, reading('meter-1')],
      [CreateApiKeyDocument, { input: { role: 'ADMIN', label: 'escalate' } }],
      [ApiKeysDocument, {}],
    ] as const) {
      const result = await server.gql(document as TypedDocumentNode<unknown, object>, variables, readerKey);
      expect({ operation: print(document).slice(0, 40), code: result.errors?.[0]?.extensions?.['code'] }).toEqual({
        operation: print(document).slice(0, 40),
        code: 'FORBIDDEN',
      });
    }
  });

  it('rotates a device key: the old one stops at once, the new one works', async () => {
    const rotated = (await server.ok(RotateDeviceKeyDocument, { deviceId: 'meter-1' })).rotateDeviceKey;
    expect(rotated.key.deviceId).toBe('meter-1');
    expect((await server.gql(IngestReadingDocument, reading('meter-1'), deviceKey)).status).toBe(401);
    expect((await server.gql(IngestReadingDocument, reading('meter-1'), rotated.secret)).data?.ingestReading).toMatchObject({ acceptedCount: 1 });
    expect((await server.gql(RotateDeviceKeyDocument, { deviceId: 'ghost' })).errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuses bad key requests precisely', async () => {
    for (const [input, code] of [
      [{ role: 'DEVICE', label: 'no device' }, 'BAD_USER_INPUT'],
      [{ role: 'READER', label: 'with device', deviceId: 'meter-1' }, 'BAD_USER_INPUT'],
      [{ role: 'READER', label: '' }, 'BAD_USER_INPUT'],
      [{ role: 'DEVICE', label: 'ghost', deviceId: 'ghost' }, 'NOT_FOUND'],
    ] as const) {
      expect((await server.gql(CreateApiKeyDocument, { input })).errors?.[0]?.extensions).toMatchObject({ code });
    }
    const admins = (await server.ok(ApiKeysDocument, {})).apiKeys.filter((k) => k.role === 'ADMIN');
    expect(admins).toHaveLength(1);
    const last = await server.gql(RevokeApiKeyDocument, { id: admins[0]!.id });
    expect(last.errors?.[0]).toMatchObject({ message: expect.stringMatching(/last admin key/), extensions: { code: 'BAD_USER_INPUT' } });
    expect((await server.gql(RevokeApiKeyDocument, { id: 'no-such-key' })).errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('closes the live subscriptions of a revoked key and refuses it from then on', async () => {
    const key = (await server.ok(CreateApiKeyDocument, { input: { role: 'READER', label: 'to revoke' } })).createApiKey;
    const client = connect(server.app.wsUrl, key.secret);
    const before = server.app.hub.activeSubscriptions;
    const sub = subscribe(client, ReadingAddedDocument, { deviceId: 'meter-1' });
    await eventually(() => (server.app.hub.activeSubscriptions === before + 1 ? true : undefined), 5000, 'subscribed');
    await server.ok(RevokeApiKeyDocument, { id: key.key.id });
    const ended = await sub.finished;
    expect(ended).toMatchObject({ code: 4403, reason: 'API key revoked' });
    await eventually(() => (server.app.hub.activeSubscriptions === before ? true : undefined), 5000, 'subscription cleaned up');
    expect((await server.gql(ViewerDocument, undefined, key.secret)).status).toBe(401);
    await client.dispose();
  });

  it('keeps tenants apart: a second tenant created from the command line sees none of the first', async () => {
    const otherAdmin = await createTenantWithCli(server.dataDir, 'acme');
    expect((await server.gql(ViewerDocument, undefined, otherAdmin)).data?.viewer).toMatchObject({ role: 'ADMIN' });
    expect((await server.gql(DevicesDocument, {}, otherAdmin)).data?.devices.edges).toEqual([]);
    // The same device id is free in the other tenant, and its key is bound to that tenant.
    const theirs = await server.gql(RegisterDeviceDocument, { input: { id: 'meter-1' } }, otherAdmin);
    expect(theirs.data?.registerDevice.device.id).toBe('meter-1');
    expect((await server.gql(RotateDeviceKeyDocument, { deviceId: 'meter-2' }, otherAdmin)).errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND' });
    await expect(createTenantWithCli(server.dataDir, 'acme')).rejects.toThrow(/exists already/);
  });

  it('refuses WebSocket connections beyond the per-key limit with 1008 (policy violation)', async () => {
    const limited = await startTestServer({ TELEMETRY_MAX_CONNECTIONS_PER_KEY: '2' });
    try {
      const open = (): Promise<{ socket: WebSocket; closed: Promise<number> }> =>
        new Promise((resolve) => {
          const socket = new WebSocket(limited.app.wsUrl, 'graphql-transport-ws');
          const closed = new Promise<number>((done) => socket.once('close', (code) => done(code)));
          socket.once('open', () => {
            socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${limited.adminKey}` } }));
            socket.once('message', () => resolve({ socket, closed }));
            socket.once('close', () => resolve({ socket, closed }));
          });
        });
      const first = await open();
      const second = await open();
      const third = await open();
      expect(await third.closed).toBe(1008);
      first.socket.close();
      await first.closed;
      const fourth = await open();
      expect(fourth.socket.readyState).toBe(WebSocket.OPEN);
      second.socket.close();
      fourth.socket.close();
    } finally {
      await limited.close();
    }
  });
});
