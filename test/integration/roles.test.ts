import { anomalyCursor } from '../../src/subscriptions/anomaly-feed';
import { applyBatch } from '../../src/consumers/pipeline/apply-batch';
import { rmSync } from 'node:fs';
import path from 'node:path';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import {
  AcknowledgeAnomalyDocument,
  AnomalyDetectedDocument,
  IngestReadingsDocument,
  ReadingAddedDocument,
  ReadingsDocument,
  ReadingCursorDocument,
  RegisterDeviceDocument,
  SetAnomalyRuleDocument,
  type ReadingAddedSubscription,
  type ReadingCursorQuery,
  type ReadingsQuery,
} from '../generated/graphql';
import { EventPublisher } from '../../src/consumers/event-publisher';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store';
import { EmbeddedStream } from '../../src/stream/embedded/embedded-stream';
import { silentLogger } from '../support/logger';
import { allNodes } from '../support/paging';
import { eventually, newDataDir, randomKey } from '../support/server';
import { killHard, startServiceProcess, stopGracefully, type ServiceProcess } from '../support/service-process';
import { connect, subscribe, untilLive } from '../support/ws-client';

const DEVICES = ['split-0', 'split-1', 'split-2'];
/** Its readings raise an anomaly each: they show that an anomaly subscription is live. */
const PROBE_DEVICE = 'split-probe';

async function post<T>(url: string, key: string, document: TypedDocumentNode<T, never>, variables: unknown): Promise<{ data?: T; errors?: unknown[] }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: print(document), variables }),
  });
  return (await response.json()) as { data?: T; errors?: unknown[] };
}

/** Readings subscriptions registered on an API node (its /healthz counts them). */
async function readingSubscriptions(api: ServiceProcess): Promise<number> {
  return ((await (await fetch(new URL('/healthz', api.url))).json()) as { subscriptions: number }).subscriptions;
}

/**
 * A cursor at what `api` has stored now. A subscription without one starts at what is stored
 * when its feed opens, a moment its client cannot see: readings ingested right after
 * subscribing may fall before it. After this cursor, every reading stored later arrives.
 */
async function storedCursor(api: ServiceProcess, key: string): Promise<string> {
  const result = await post<ReadingCursorQuery>(api.url, key, ReadingCursorDocument, {});
  if (!result.data) throw new Error(`readingCursor failed: ${JSON.stringify(result.errors)}`);
  return result.data.readingCursor;
}

/** Every stored reading of a device and metric, page by page: how many there are depends on the machine's speed. */
async function allReadings(url: string, key: string, deviceId: string, metric: string): Promise<ReadingsQuery['readings']['edges'][number]['node'][]> {
  return allNodes(async (after) => {
    const page = await post<ReadingsQuery>(url, key, ReadingsDocument, { deviceId, metric, first: 1000, after });
    if (!page.data) throw new Error(`readings query failed: ${JSON.stringify(page.errors)}`);
    return page.data.readings;
  });
}

/**
 * Split roles on one machine: two API processes and one consumer process sharing the
 * embedded stream and database files, as they would share OCI Streaming and Autonomous
 * Database. Every process is started exactly as `npm start -- --role ...` starts it.
 */
describe('running split by role', () => {
  const dataDir = newDataDir();
  const key = randomKey();
  const env = { TELEMETRY_DATA_DIR: dataDir, TELEMETRY_ADMIN_KEY: key, TELEMETRY_CONSUMER_BATCH_SIZE: '100', TELEMETRY_STREAM_SYNC: 'normal' };
  let consumer: ServiceProcess;
  let apiA: ServiceProcess;
  let apiB: ServiceProcess;

  beforeAll(async () => {
    // The first API node registers the admin key; the second finds it.
    apiA = await startServiceProcess(env, ['--role', 'api']);
    apiB = await startServiceProcess(env, ['--role', 'api']);
    consumer = await startServiceProcess(env, ['--role', 'consumer']);
    for (const id of [...DEVICES, PROBE_DEVICE]) await post(apiA.url, key, RegisterDeviceDocument, { input: { id } });
    await post(apiA.url, key, SetAnomalyRuleDocument, { input: { deviceId: PROBE_DEVICE, zScore: null, max: 0 } });
  });
  afterAll(async () => {
    await Promise.all([apiA, apiB, consumer].map((service) => stopGracefully(service)));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('delivers to a subscriber on API node B the readings and anomalies ingested through node A', async () => {
    expect(await (await fetch(consumer.url)).json()).toMatchObject({ status: 'ok', role: 'consumer' });
    await post(apiA.url, key, SetAnomalyRuleDocument, { input: { deviceId: 'split-0', zScore: null, max: 100 } });
    const client = connect(apiB.url.replace(/^http/, 'ws'), key);
    const readings = subscribe(client, ReadingAddedDocument, { deviceIds: DEVICES });
    const anomalies = subscribe(client, AnomalyDetectedDocument, {});
    // Both subscriptions are live-only: wait until node B has registered them (a fixed sleep was too short on a loaded machine).
    await eventually(async () => ((await readingSubscriptions(apiB)) === 1 ? true : undefined), 10_000, 'readings subscription registered on B');
    let probes = 0;
    await untilLive(
      () =>
        post(apiA.url, key, IngestReadingsDocument, {
          readings: [{ deviceId: PROBE_DEVICE, timestamp: new Date(Date.now() - 20_000 + probes++).toISOString(), metrics: [{ name: 'probe', value: 1 }] }],
        }),
      () => anomalies.received.length > 0,
      'anomaly subscription live on B',
    );
    const now = Date.now() - 10_000;
    const result = await post<{ ingestReadings: { acceptedCount: number } }>(apiA.url, key, IngestReadingsDocument, {
      readings: [
        { deviceId: 'split-0', timestamp: new Date(now).toISOString(), metrics: [{ name: 'pressure', value: 150 }] },
        { deviceId: 'split-1', timestamp: new Date(now).toISOString(), metrics: [{ name: 'pressure', value: 50 }] },
      ],
    });
    expect(result.data?.ingestReadings.acceptedCount).toBe(2);
    const received = await eventually(() => (readings.received.length >= 2 ? readings.received : undefined), 15_000, 'readings on node B');
    expect(received.map((r) => [r.data!.readingAdded.deviceId, r.data!.readingAdded.metrics[0]!.value]).sort()).toEqual([
      ['split-0', 150],
      ['split-1', 50],
    ]);
    const anomaly = await eventually(
      () => anomalies.received.map((r) => r.data?.anomalyDetected).find((a) => a?.deviceId === 'split-0'),
      15_000,
      'anomaly on node B',
    );
    expect(anomaly).toMatchObject({ deviceId: 'split-0', kind: 'THRESHOLD', value: 150 });
    // An acknowledge answered by node A reaches the subscriber on node B (through the events topic).
    await post(apiA.url, key, AcknowledgeAnomalyDocument, { id: anomaly.id });
    const acknowledged = await eventually(
      () => anomalies.received.map((r) => r.data?.anomalyDetected).find((a) => a?.id === anomaly.id && a.status === 'ACKNOWLEDGED'),
      15_000,
      'acknowledge on node B',
    );
    expect(acknowledged.cursor).not.toBe(anomaly.cursor);
    await client.dispose();
    await eventually(async () => ((await readingSubscriptions(apiB)) === 0 ? true : undefined), 10_000, 'subscription cleaned up on B');
  });

  it('resumes on API node B from a cursor a subscriber was given on node A: exactly the readings after it, then live ones', async () => {
    let value = 0;
    let timestamp = Date.now() - 7_200_000;
    /** Ingests `count` readings of metric `resume` (values counting up, round-robin over the devices) through `api`. */
    const ingest = async (api: ServiceProcess, count: number) => {
      const readings = Array.from({ length: count }, (_, i) => ({
        deviceId: DEVICES[i % DEVICES.length]!,
        timestamp: new Date(timestamp++).toISOString(),
        metrics: [{ name: 'resume', value: ++value }],
      }));
      const result = await post<{ ingestReadings: { acceptedCount: number } }>(api.url, key, IngestReadingsDocument, { readings });
      expect(result.data?.ingestReadings.acceptedCount).toBe(count);
    };
    const readingsOf = (subscription: { received: { data?: unknown }[] }) =>
      subscription.received.map((r) => (r.data as ReadingAddedSubscription).readingAdded);

    // A first session on node A: six readings; the client keeps the cursor of the third it got.
    const onA = connect(apiA.url.replace(/^http/, 'ws'), key);
    const first = subscribe(onA, ReadingAddedDocument, { deviceIds: DEVICES, metric: 'resume', after: await storedCursor(apiA, key) });
    await ingest(apiA, 6);
    const seenOnA = await eventually(() => (readingsOf(first).length >= 6 ? readingsOf(first) : undefined), 15_000, 'six readings on A');
    const cursor = seenOnA[2]!.cursor;
    await onA.dispose();

    // While the client is away, readings arrive through node B; then it resumes on node B.
    await ingest(apiB, 4);
    const onB = connect(apiB.url.replace(/^http/, 'ws'), key);
    const resumed = subscribe(onB, ReadingAddedDocument, { deviceIds: DEVICES, metric: 'resume', after: cursor });
    await eventually(() => (readingsOf(resumed).length >= 7 ? true : undefined), 15_000, 'the missed readings on B');
    await ingest(apiA, 2); // live again, through the other node
    await eventually(() => (readingsOf(resumed).length >= 9 ? true : undefined), 15_000, 'live readings on B');

    // Exactly what followed the cursor on A, what came while away, and the live ones: no gap, no duplicate.
    const got = readingsOf(resumed).map((r) => r.metrics[0]!.value);
    const expected = [...seenOnA.slice(3).map((r) => r.metrics[0]!.value), 7, 8, 9, 10, 11, 12];
    expect([...got].sort((a, b) => a - b)).toEqual(expected.sort((a, b) => a - b));
    for (const device of DEVICES) {
      const ofDevice = readingsOf(resumed)
        .filter((r) => r.deviceId === device)
        .map((r) => r.metrics[0]!.value);
      expect(ofDevice).toEqual([...ofDevice].sort((a, b) => a - b)); // each device's readings in the order ingested
    }
    await onB.dispose();
  });

  it('loses nothing when the consumer is killed: every acknowledged reading is stored once and reaches the subscriber on B once, in order', async () => {
    const client = connect(apiB.url.replace(/^http/, 'ws'), key);
    // From a cursor: a live-only subscription could start after the first readings were stored (it once missed the first request).
    const live = subscribe(client, ReadingAddedDocument, { deviceIds: DEVICES, metric: 'seq', after: await storedCursor(apiB, key) });

    const acknowledged: string[] = [];
    let timestamp = Date.now() - 3_600_000;
    let sending = true as boolean; // not `true`: the loop below runs on after this function sets it to false
    const sender = (async () => {
      while (sending) {
        const readings = Array.from({ length: 15 }, (_, i) => ({
          deviceId: DEVICES[i % DEVICES.length]!,
          timestamp: timestamp + i,
          metrics: [{ name: 'seq', value: timestamp + i }],
        }));
        timestamp += 15;
        const body = await post<{ ingestReadings: { accepted: { eventId: string }[] } }>(apiA.url, key, IngestReadingsDocument, { readings });
        acknowledged.push(...(body.data?.ingestReadings.accepted.map((a) => a.eventId) ?? []));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();

    await eventually(() => (acknowledged.length > 300 ? true : undefined), 20_000, 'readings flowing');
    await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 200)));
    await killHard(consumer);
    // The API nodes keep accepting while the consumer is down: the stream buffers.
    const atKill = acknowledged.length;
    await eventually(() => (acknowledged.length > atKill + 150 ? true : undefined), 20_000, 'ingest continues without a consumer');
    consumer = await startServiceProcess(env, ['--role', 'consumer']);
    await eventually(() => (acknowledged.length > atKill + 450 ? true : undefined), 20_000, 'readings flowing after the restart');
    sending = false;
    await sender;

    const expected = new Set(acknowledged);
    const eventIds = () => live.received.map((r) => (r.data as ReadingAddedSubscription).readingAdded.eventId);
    await eventually(() => (eventIds().filter((id) => expected.has(id)).length >= expected.size ? true : undefined), 30_000, 'every reading delivered on B');
    const delivered = eventIds();
    expect(new Set(delivered).size).toBe(delivered.length); // no duplicate
    expect(delivered.filter((id) => expected.has(id)).length).toBe(expected.size); // no gap
    // Per device, in the order ingested.
    for (const device of DEVICES) {
      const values = live.received
        .map((r) => (r.data as ReadingAddedSubscription).readingAdded)
        .filter((r) => r.deviceId === device)
        .map((r) => r.metrics[0]!.value);
      expect(values).toEqual([...values].sort((a, b) => a - b));
    }
    // Stored exactly once: every page (a loaded machine sends more than 1,000 readings per device before the thresholds above are met).
    const stored: number[] = [];
    for (const deviceId of DEVICES) stored.push(...(await allReadings(apiB.url, key, deviceId, 'seq')).map((reading) => reading.value));
    expect(new Set(stored).size).toBe(stored.length); // every reading has its own value
    expect(stored.length).toBe(expected.size);
    await client.dispose();
  });
});

/**
 * Two consumers on one database (as on OCI Streaming with Autonomous Database) commit
 * anomalies in seq order but may publish them to the events topic in the other order. This
 * test plays both consumers against one real API process.
 */
describe('anomalies from several consumers', () => {
  it('reach a subscriber on an API node in seq order, each once, when the consumers publish them out of order', async () => {
    const dataDir = newDataDir();
    const key = randomKey();
    const api = await startServiceProcess({ TELEMETRY_DATA_DIR: dataDir, TELEMETRY_ADMIN_KEY: key, TELEMETRY_STREAM_SYNC: 'normal' }, ['--role', 'api']);
    const store = new SqliteStore({ file: path.join(dataDir, 'telemetry.db') });
    const stream = new EmbeddedStream({ file: path.join(dataDir, 'stream.db'), partitions: 4, synchronous: 'normal' });
    try {
      for (const id of ['boiler', PROBE_DEVICE]) await post(api.url, key, RegisterDeviceDocument, { input: { id } });
      await post(api.url, key, SetAnomalyRuleDocument, { input: { deviceId: 'boiler', zScore: null, max: 100 } });
      await post(api.url, key, SetAnomalyRuleDocument, { input: { deviceId: PROBE_DEVICE, zScore: null, max: 0 } });
      const client = connect(api.url.replace(/^http/, 'ws'), key);
      const anomalies = subscribe(client, AnomalyDetectedDocument, {});
      const base = Date.now() - 3_600_000;
      const commit = async (partition: number, offset: number, deviceId: string, value: number, metric = 'temp') => {
        // Timestamps differ per (partition, offset): a value with the timestamp of a stored one is not judged again.
        const reading = {
          tenantId: 'default',
          deviceId,
          eventId: `${deviceId}-${partition}-${offset}`,
          timestamp: base + partition * 1_000_000 + offset,
          metrics: [{ name: metric, value }],
          offset,
        };
        const applied = await applyBatch(store, { source: 'readings', partitions: [{ partition, lastOffset: offset, readings: [reading], deadLetters: [] }] });
        return applied.anomalies;
      };
      const publish = async (committed: Awaited<ReturnType<typeof commit>>) => {
        const publisher = new EventPublisher(stream, store, silentLogger, 'io.telemetry');
        publisher.publish([], { anomalies: committed, statusChanges: [] });
        await publisher.flushed();
      };
      // Probe anomalies (partition 2) until the live-only subscription delivers: it is registered.
      let probeOffset = 0;
      const probe = async () => publish(await commit(2, probeOffset++, PROBE_DEVICE, 1));
      await untilLive(probe, () => anomalies.received.length > 0, 'subscription registered');
      const boiler = () => anomalies.received.map((r) => r.data!.anomalyDetected).filter((a) => a.deviceId === 'boiler');

      // Two series, so two anomalies (a second trigger of one series would update its anomaly).
      const first = await commit(0, 0, 'boiler', 150); // consumer A commits first...
      const second = await commit(1, 0, 'boiler', 160, 'pressure'); // ...then consumer B
      expect(second[0]!.seq).toBeGreaterThan(first[0]!.seq);
      // B publishes before A.
      for (const committed of [second, first]) await publish(committed);
      await eventually(() => (boiler().length >= 2 ? true : undefined), 15_000, 'both anomalies');
      // Nothing more: an anomaly committed and published after both arrives after anything they could still bring.
      const last = await commit(2, probeOffset++, PROBE_DEVICE, 2);
      await publish(last);
      await eventually(
        // The probe's later triggers update its anomaly: the change published last has the newest cursor.
        () => (anomalies.received.some((r) => r.data!.anomalyDetected.cursor === anomalyCursor(last[0]!.seq)) ? true : undefined),
        15_000,
        'the anomaly published last',
      );
      expect(boiler().map((a) => a.value)).toEqual([150, 160]);
      expect(boiler().map((a) => a.id)).toEqual([String(first[0]!.id), String(second[0]!.id)]);
      await client.dispose();
    } finally {
      await stopGracefully(api);
      await stream.close();
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
