import path from 'node:path';
import { rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { print } from 'graphql';
import { IngestReadingsDocument, RegisterDeviceDocument } from '../generated/graphql';
import { eventually, newDataDir, randomKey } from '../support/server';
import { killHard, startServiceProcess, stopGracefully, type ServiceProcess } from '../support/service-process';
import { postGraphQL } from '../support/graphql-post';
import { eventIdOf, type EventKey } from '../../src/store/sqlite/sql/event-rows';

const DEVICES = Array.from({ length: 6 }, (_, i) => `crash-${i}`);
const KILLS = 3;

describe('crash safety (kill -9 of the whole service mid-flow)', () => {
  it('stores every acknowledged reading exactly once and ends with watermarks equal to the stream', async () => {
    const dataDir = newDataDir();
    const key = randomKey();
    const env = { TELEMETRY_DATA_DIR: dataDir, TELEMETRY_ADMIN_KEY: key, TELEMETRY_PARTITIONS: '4', TELEMETRY_CONSUMER_BATCH_SIZE: '200' };
    let service: ServiceProcess = await startServiceProcess(env);
    for (const id of DEVICES) await postGraphQL(service.url, key, print(RegisterDeviceDocument), { input: { id } });

    const acknowledged = new Set<string>();
    let timestamp = Date.now() - 3_600_000;
    let sending = true as boolean; // not `true`: the loop below runs on after this function sets it to false
    const client = (async () => {
      while (sending) {
        const readings = Array.from({ length: 40 }, (_, i) => ({
          deviceId: DEVICES[i % DEVICES.length]!,
          timestamp: timestamp + i,
          metrics: [{ name: 'value', value: i }],
        }));
        timestamp += 40;
        try {
          const body = (await postGraphQL(service.url, key, print(IngestReadingsDocument), { readings })) as {
            data?: { ingestReadings: { accepted: { eventId: string }[]; rejectedCount: number } };
          };
          if (body.data) {
            expect(body.data.ingestReadings.rejectedCount).toBe(0);
            for (const accepted of body.data.ingestReadings.accepted) acknowledged.add(accepted.eventId);
          }
        } catch {
          // connection refused or reset while the service is down: not acknowledged
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    })();

    const delays: number[] = [];
    for (let kill = 0; kill < KILLS; kill++) {
      const before = acknowledged.size;
      await eventually(() => (acknowledged.size > before + 200 ? true : undefined), 20_000, 'readings flowing');
      const delay = Math.floor(Math.random() * 400);
      delays.push(delay);
      await new Promise((resolve) => setTimeout(resolve, delay));
      await killHard(service);
      service = await startServiceProcess(env);
    }
    sending = false;
    await client;

    // Let the consumer of the last incarnation catch up with everything in the stream.
    const streamDb = new Database(path.join(dataDir, 'stream.db'), { readonly: true });
    const storeDb = new Database(path.join(dataDir, 'telemetry.db'), { readonly: true });
    const heads = () =>
      new Map(
        (
          streamDb.prepare("SELECT partition, next_offset FROM partition_heads WHERE topic = 'readings'").all() as { partition: number; next_offset: number }[]
        ).map((r) => [r.partition, r.next_offset - 1]),
      );
    const marks = () =>
      new Map(
        (
          storeDb.prepare("SELECT stream_partition, applied_offset FROM stream_watermarks WHERE source = 'readings'").all() as {
            stream_partition: number;
            applied_offset: number;
          }[]
        ).map((r) => [r.stream_partition, r.applied_offset]),
      );
    await eventually(
      () => {
        const [h, m] = [heads(), marks()];
        return [...h].every(([p, last]) => last < 0 || m.get(p) === last) ? true : undefined;
      },
      30_000,
      'consumer to reach the end of the stream',
    );
    expect(await stopGracefully(service)).toBe(0);

    const [h, m] = [heads(), marks()];
    for (const [partition, last] of h) if (last >= 0) expect(m.get(partition)).toBe(last);

    const stored = storeDb.prepare('SELECT event_id, COUNT(*) AS n FROM reading_events GROUP BY event_id').all() as { event_id: EventKey; n: number }[];
    const storedIds = new Set(stored.map((row) => eventIdOf(row.event_id)));
    expect(stored.filter((row) => row.n !== 1)).toEqual([]);
    const lost = [...acknowledged].filter((id) => !storedIds.has(id));
    expect({ lost: lost.length, acknowledged: acknowledged.size, delays }).toEqual({ lost: 0, acknowledged: acknowledged.size, delays });
    // One row per metric per stored event: nothing double-counted.
    const readingRows = (storeDb.prepare('SELECT COUNT(*) AS n FROM samples').get() as { n: number }).n;
    expect(readingRows).toBe(stored.length);
    expect(acknowledged.size).toBeGreaterThan(KILLS * 200);
    streamDb.close();
    storeDb.close();
    rmSync(dataDir, { recursive: true, force: true });
  }, 120_000);
});
