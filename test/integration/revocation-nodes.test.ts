import { rmSync } from 'node:fs';
import path from 'node:path';
import { print } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { connectAsync, type MqttClient } from 'mqtt';
import { startApp, type RunningApp } from '../../src/app';
import { createLogger } from '../../src/logger';
import { openStream } from '../../src/composition/backends';
import type { FanoutMessage } from '../../src/domain/events-topic';
import { REVOCATION_NOTICE_KEYS } from '../../src/domain/revocation-notice';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store';
import { DEFAULT_TENANT_ID } from '../../src/tenants/tenant-service';
import {
  CreateApiKeyDocument,
  DeleteDeviceDocument,
  IngestReadingDocument,
  ReadingAddedDocument,
  RegisterDeviceDocument,
  RevokeApiKeyDocument,
  RotateDeviceKeyDocument,
  ViewerDocument,
} from '../generated/graphql';
import { eventually, newDataDir, randomKey, testServiceConfig } from '../support/server';
import { connect, subscribe } from '../support/ws-client';

/** An API node (`--role api`) in this process, on the shared data directory (store and stream). */
async function startApiNode(dataDir: string, adminKey: string, env: Record<string, string> = {}): Promise<RunningApp> {
  const config = testServiceConfig(dataDir, adminKey, env);
  return startApp(config, createLogger(config.logLevel), 'api');
}

async function gql<T, V>(node: RunningApp, key: string, document: TypedDocumentNode<T, V>, variables?: V) {
  const response = await fetch(node.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: print(document), variables }),
  });
  return { status: response.status, ...((await response.json()) as { data?: T; errors?: { extensions?: Record<string, unknown> }[] }) };
}

async function ok<T, V>(node: RunningApp, key: string, document: TypedDocumentNode<T, V>, variables?: V): Promise<T> {
  const result = await gql(node, key, document, variables);
  if (!result.data || result.errors) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
  return result.data;
}

/** An MQTT device connection whose end the test can wait for. */
async function connectDevice(node: RunningApp, deviceId: string, deviceKey: string): Promise<{ client: MqttClient; closed: Promise<void> }> {
  const client = await connectAsync(node.mqttUrl!, { username: deviceId, password: deviceKey, reconnectPeriod: 0, connectTimeout: 10_000 });
  return { client, closed: new Promise<void>((resolve) => client.once('close', () => resolve())) };
}

const now = () => new Date().toISOString();

/** `promise`, or a failure naming `what` after `timeoutMs` (a missing close fails fast, with a reason). */
/**
 * On `node`: a new reader key following `deviceId` (a registered new device) over WebSocket, and
 * the device connected over MQTT with its own key; `devices` collects the MQTT client to end.
 */
async function readerAndDevice(registerOn: RunningApp, node: RunningApp, adminKey: string, deviceId: string, devices: MqttClient[]) {
  const reader = (await ok(registerOn, adminKey, CreateApiKeyDocument, { input: { role: 'READER', label: 'dashboard' } })).createApiKey;
  const { deviceKey } = (await ok(registerOn, adminKey, RegisterDeviceDocument, { input: { id: deviceId } })).registerDevice;
  const client = connect(node.wsUrl, reader.secret);
  const before = node.hub.activeSubscriptions;
  const watching = subscribe(client, ReadingAddedDocument, { deviceId });
  await eventually(() => (node.hub.activeSubscriptions === before + 1 ? true : undefined), 10_000, `the subscription on ${node.url}`);
  const device = await connectDevice(node, deviceId, deviceKey);
  devices.push(device.client);
  return { reader, deviceKey, client, before, watching, device };
}

function within<T>(promise: Promise<T>, what: string, timeoutMs = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Several API nodes serve one deployment (shared stream and store): a key revoked or a device
 * deleted through node A stops being served by node B at once, through the revocation notices
 * of the events topic, not when B's key cache expires. Both nodes run `--role api` in this
 * process; no consumer is needed (nothing here is stored through the stream).
 */
describe('revocation across API nodes', () => {
  const dataDir = newDataDir();
  const adminKey = randomKey();
  let nodeA: RunningApp;
  let nodeB: RunningApp;
  const devices: MqttClient[] = [];

  beforeAll(async () => {
    nodeA = await startApiNode(dataDir, adminKey);
    // B's periodic check is off: what closes its connections here is the notice alone.
    nodeB = await startApiNode(dataDir, adminKey, { TELEMETRY_MQTT_PORT: '0', TELEMETRY_REVOCATION_CHECK_MS: 'off' });
  });
  afterAll(async () => {
    await Promise.all(devices.map((client) => client.endAsync(true)));
    await nodeA.close();
    await nodeB.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("revokeApiKey and rotateDeviceKey on node A close the keys' WebSocket (4403) and MQTT connection on node B, and B refuses the key at once", async () => {
    const { reader, deviceKey, client, before, watching, device } = await readerAndDevice(nodeA, nodeB, adminKey, 'pump-1', devices);
    // B has the reader key in its lookup cache (kept for 5 s): only forgetting it refuses it now.
    expect((await gql(nodeB, reader.secret, ViewerDocument)).status).toBe(200);

    await ok(nodeA, adminKey, RevokeApiKeyDocument, { id: reader.key.id });
    expect(await within(watching.finished, 'the WebSocket on node B to close')).toMatchObject({ code: 4403, reason: 'API key revoked' });
    expect((await gql(nodeB, reader.secret, ViewerDocument)).status).toBe(401);
    await eventually(() => (nodeB.hub.activeSubscriptions === before ? true : undefined), 10_000, 'the subscription cleaned up on node B');

    await ok(nodeA, adminKey, RotateDeviceKeyDocument, { deviceId: 'pump-1' });
    await within(device.closed, 'the MQTT connection on node B to close');
    expect(
      (await gql(nodeB, deviceKey, IngestReadingDocument, { reading: { deviceId: 'pump-1', timestamp: now(), metrics: [{ name: 'v', value: 1 }] } })).status,
    ).toBe(401);
    await client.dispose();
  });

  it("deleteDevice on node A ends the device's readingAdded subscription and closes its MQTT connection on node B; B's ingest refuses it", async () => {
    const { deviceKey } = (await ok(nodeA, adminKey, RegisterDeviceDocument, { input: { id: 'valve-1' } })).registerDevice;
    // B ingests for it once: its device directory then holds it.
    const ingest = () =>
      gql(nodeB, adminKey, IngestReadingDocument, { reading: { deviceId: 'valve-1', timestamp: now(), metrics: [{ name: 'v', value: 1 }] } });
    expect((await ingest()).data?.ingestReading.acceptedCount).toBe(1);
    const client = connect(nodeB.wsUrl, adminKey);
    const before = nodeB.hub.activeSubscriptions;
    const watching = subscribe(client, ReadingAddedDocument, { deviceId: 'valve-1' });
    await eventually(() => (nodeB.hub.activeSubscriptions === before + 1 ? true : undefined), 10_000, 'the subscription on node B');
    const device = await connectDevice(nodeB, 'valve-1', deviceKey);
    devices.push(device.client);

    await ok(nodeA, adminKey, DeleteDeviceDocument, { id: 'valve-1', keepData: false });
    expect(await within(watching.finished, 'the subscription on node B to end')).toEqual([
      expect.objectContaining({
        message: 'device "valve-1" was deleted',
        extensions: expect.objectContaining({ code: 'NOT_FOUND', reason: 'DEVICE_DELETED' }),
      }),
    ]);
    await within(device.closed, 'the MQTT connection on node B to close');
    expect((await ingest()).data?.ingestReading).toMatchObject({ acceptedCount: 0, rejected: [{ code: 'UNKNOWN_DEVICE' }] });
    await eventually(() => (nodeB.hub.activeSubscriptions === before ? true : undefined), 10_000, 'the subscription cleaned up on node B');
    await client.dispose();
  });

  it('leaves alone a device whose deviceDeleted notice comes after its id was registered again (a late notice)', async () => {
    await ok(nodeA, adminKey, RegisterDeviceDocument, { input: { id: 'valve-late' } });
    await ok(nodeA, adminKey, RegisterDeviceDocument, { input: { id: 'valve-marker' } });
    const client = connect(nodeB.wsUrl, adminKey);
    const before = nodeB.hub.activeSubscriptions;
    const late = subscribe(client, ReadingAddedDocument, { deviceId: 'valve-late' });
    const marker = subscribe(client, ReadingAddedDocument, { deviceId: 'valve-marker' });
    await eventually(() => (nodeB.hub.activeSubscriptions === before + 2 ? true : undefined), 10_000, 'the subscriptions on node B');
    // The notice of a deletion that happened before valve-late's current registration, read only
    // now; then a real deletion, whose notice follows it on the events topic.
    const stream = await openStream(testServiceConfig(dataDir, adminKey), createLogger('silent'));
    try {
      const notice: FanoutMessage = { kind: 'deviceDeleted', tenantId: DEFAULT_TENANT_ID, deviceId: 'valve-late' };
      await stream.produce('events', [{ key: REVOCATION_NOTICE_KEYS.deviceDeleted, value: JSON.stringify(notice) }]);
    } finally {
      await stream.close();
    }
    await ok(nodeA, adminKey, DeleteDeviceDocument, { id: 'valve-marker', keepData: true });
    await within(marker.finished, 'the marker subscription on node B to end');
    // Read in order, so the late notice was handled first: valve-late exists, its subscription goes on.
    expect(nodeB.hub.activeSubscriptions).toBe(before + 1);
    let ended = false;
    void late.finished.then(() => (ended = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(ended).toBe(false);
    await client.dispose();
  });
});

/**
 * The fallback for a notice lost or late: each API node checks the keys holding its connections
 * and the devices of its readings subscriptions against the store every
 * TELEMETRY_REVOCATION_CHECK_MS. Here a key is revoked, or a device deleted, in the database
 * with no notice at all (as when the revoking node's produce to the events topic failed).
 */
describe('the periodic revocation check', () => {
  const dataDir = newDataDir();
  const adminKey = randomKey();
  let node: RunningApp;
  let store: SqliteStore;
  const devices: MqttClient[] = [];

  beforeAll(async () => {
    node = await startApiNode(dataDir, adminKey, { TELEMETRY_MQTT_PORT: '0', TELEMETRY_REVOCATION_CHECK_MS: '100' });
    // The database as another process sees it: a revocation made there writes no notice.
    store = new SqliteStore({ file: path.join(dataDir, 'telemetry.db') });
  });
  afterAll(async () => {
    await Promise.all(devices.map((client) => client.endAsync(true)));
    await node.close();
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('closes the WebSocket (4403) and MQTT connection of a key revoked without a notice, and the node refuses the key', async () => {
    const { reader, client, before, watching, device } = await readerAndDevice(node, node, adminKey, 'meter-9', devices);
    // The admin's own connection stays open: only revoked keys are closed.
    const adminClient = connect(node.wsUrl, adminKey);
    const adminWatching = subscribe(adminClient, ReadingAddedDocument, { deviceId: 'meter-9' });
    let adminEnded = false;
    void adminWatching.finished.then(() => (adminEnded = true));
    await eventually(() => (node.hub.activeSubscriptions === before + 2 ? true : undefined), 10_000, "the admin's subscription");

    expect(await store.revokeApiKey(DEFAULT_TENANT_ID, reader.key.id, Date.now())).toMatchObject({ outcome: 'REVOKED' });
    const [deviceKeyRecord] = await store.listApiKeys(DEFAULT_TENANT_ID, false).then((keys) => keys.filter((key) => key.deviceId === 'meter-9'));
    expect(await store.revokeApiKey(DEFAULT_TENANT_ID, deviceKeyRecord!.id, Date.now())).toMatchObject({ outcome: 'REVOKED' });

    expect(await within(watching.finished, 'the WebSocket to close')).toMatchObject({ code: 4403, reason: 'API key revoked' });
    await within(device.closed, 'the MQTT connection to close');
    expect((await gql(node, reader.secret, ViewerDocument)).status).toBe(401);
    await eventually(() => (node.hub.activeSubscriptions === before + 1 ? true : undefined), 10_000, "the reader's subscription cleaned up");
    expect(adminEnded).toBe(false);
    adminWatching.stop();
    await adminClient.dispose();
    await client.dispose();
  });

  it("ends the readingAdded subscriptions to a device deleted without a notice (NOT_FOUND, DEVICE_DELETED), and the node's ingest refuses it; other devices' subscriptions go on", async () => {
    await ok(node, adminKey, RegisterDeviceDocument, { input: { id: 'tank-4' } });
    await ok(node, adminKey, RegisterDeviceDocument, { input: { id: 'tank-5' } });
    // The node ingests for it once: its device directory then holds it.
    const ingest = () => gql(node, adminKey, IngestReadingDocument, { reading: { deviceId: 'tank-4', timestamp: now(), metrics: [{ name: 'v', value: 1 }] } });
    expect((await ingest()).data?.ingestReading.acceptedCount).toBe(1);
    const client = connect(node.wsUrl, adminKey);
    const before = node.hub.activeSubscriptions;
    const watching = subscribe(client, ReadingAddedDocument, { deviceId: 'tank-4' });
    const otherWatching = subscribe(client, ReadingAddedDocument, { deviceId: 'tank-5' });
    let otherEnded = false;
    void otherWatching.finished.then(() => (otherEnded = true));
    await eventually(() => (node.hub.activeSubscriptions === before + 2 ? true : undefined), 10_000, 'the subscriptions');

    expect(await store.deleteDevice(DEFAULT_TENANT_ID, 'tank-4', false, Date.now())).toBeDefined();

    expect(await within(watching.finished, 'the subscription to end')).toEqual([
      expect.objectContaining({
        message: 'device "tank-4" was deleted',
        extensions: expect.objectContaining({ code: 'NOT_FOUND', reason: 'DEVICE_DELETED' }),
      }),
    ]);
    expect((await ingest()).data?.ingestReading).toMatchObject({ acceptedCount: 0, rejected: [{ code: 'UNKNOWN_DEVICE' }] });
    await eventually(() => (node.hub.activeSubscriptions === before + 1 ? true : undefined), 10_000, 'the subscription cleaned up');
    expect(otherEnded).toBe(false);
    otherWatching.stop();
    await client.dispose();
  });
});
