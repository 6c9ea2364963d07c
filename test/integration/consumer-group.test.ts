import path from 'node:path';
import { rmSync } from 'node:fs';
import { ReadingPersister } from '../../src/consumers/reading-persister';
import { toEnvelope } from '../../src/domain/cloud-event';
import { DeviceDirectory } from '../../src/ingest/device-directory';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store';
import { OciStream } from '../../src/stream/oci/oci-stream';
import * as common from 'oci-common';
import { startStreamingStandin } from '../support/oci-streaming-standin';
import { createOciTestIdentity } from '../support/oci-test-auth';
import { eventually, newDataDir } from '../support/server';

const silent = { info: () => {}, warn: () => {}, error: () => {} };
const identity = createOciTestIdentity();
const STREAMS = { readings: 'ocid1.stream.oc1.eu-frankfurt-1.readings', events: 'ocid1.stream.oc1.eu-frankfurt-1.events' };
const DEVICES = Array.from({ length: 8 }, (_, i) => `g${i}`);

/**
 * Two consumers in one OCI consumer group (stand-in): they split the partitions, and when one
 * stops, the other takes its partitions over from the database watermark. Every reading is
 * stored exactly once.
 */
describe('persisters in a consumer group', () => {
  it('split the partitions, survive one leaving, and apply every reading once', async () => {
    const standin = await startStreamingStandin({ partitions: 4, keyId: identity.keyId, publicKeyPem: identity.publicKeyPem });
    const dir = newDataDir();
    const file = path.join(dir, 'telemetry.db');
    const setup = new SqliteStore({ file });
    await setup.ensureTenant('t', 'T');
    for (const id of DEVICES) await setup.registerDevice('t', { id, name: id, tags: [] });
    const auth = new common.ConfigFileAuthenticationDetailsProvider(identity.configFile, 'DEFAULT');
    const stream = () => new OciStream({ messagesEndpoint: standin.endpoint, streamIds: STREAMS, partitions: 4, auth, readsPerSecondPerPartition: 1000, groupTimeoutMs: 300, retryPolicy: { initialDelayMs: 5, maxDelayMs: 20, multiplier: 2 } });
    const producer = stream();
    let sent = 0;
    const send = async (count: number) => {
      const records = Array.from({ length: count }, () => {
        const deviceId = DEVICES[sent % DEVICES.length]!;
        const reading = { tenantId: 't', deviceId, eventId: `e${sent}`, timestamp: 1_700_000_000_000 + sent++, metrics: [{ name: 'v', value: sent }] };
        return { key: `t/${deviceId}`, value: JSON.stringify(toEnvelope(reading, 'io.telemetry')) };
      });
      await producer.produce('readings', records);
    };
    const consumer = (instance: string) => {
      const store = new SqliteStore({ file });
      const persister = new ReadingPersister({
        stream: stream(),
        store,
        devices: new DeviceDirectory(store),
        publish: () => {},
        logger: silent,
        eventTypePrefix: 'io.telemetry',
        lingerMs: 0,
        pollIntervalMs: 5,
        instance,
        assignmentRefreshMs: 50,
      });
      return { persister, store };
    };
    const a = consumer('consumer-a');
    const b = consumer('consumer-b');
    try {
      await a.persister.start();
      await b.persister.start();
      await send(200);
      // Both end up holding partitions.
      await eventually(() => (a.persister.snapshot().positions.size === 2 && b.persister.snapshot().positions.size === 2 ? true : undefined), 10_000, 'partitions split');
      const heldByA = [...a.persister.snapshot().positions.keys()];
      const heldByB = [...b.persister.snapshot().positions.keys()];
      expect([...heldByA, ...heldByB].sort()).toEqual([0, 1, 2, 3]);
      await eventually(async () => ((await setup.watermarks('readings')).size === 4 ? true : undefined), 10_000, 'all partitions applied');

      // b leaves (stops renewing); a takes over its partitions from the watermarks.
      await b.persister.stop();
      await send(200);
      await eventually(() => (a.persister.snapshot().positions.size === 4 ? true : undefined), 10_000, 'a holds every partition');
      await eventually(async () => {
        let stored = 0;
        for (const deviceId of DEVICES) stored += (await setup.queryReadings('t', { deviceId, metric: 'v', first: 1000, order: 'OLDEST_FIRST' })).items.length;
        return stored === 400 ? stored : undefined;
      }, 15_000, 'every reading stored');
      expect(a.persister.snapshot().appliedReadings + b.persister.snapshot().appliedReadings).toBe(400);
      expect(a.persister.snapshot().duplicates + b.persister.snapshot().duplicates).toBe(0);
    } finally {
      await a.persister.stop();
      await a.store.close();
      await b.store.close();
      await setup.close();
      await standin.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
