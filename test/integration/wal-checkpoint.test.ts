import { statSync } from 'node:fs';
import path from 'node:path';
import { rmSync } from 'node:fs';
import { startCheckpointThread, WAL_BACKSTOP_PAGES } from '../../src/composition/checkpoint-thread';
import { applyBatch } from '../../src/consumers/pipeline/apply-batch';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store';
import { WalCheckpointer } from '../../src/store/sqlite/wal-checkpointer';
import { newDataDir, eventually } from '../support/server';
import { silentLogger } from '../support/logger';

const FRAME_BYTES = 4096 + 24; // page + WAL frame header

/** Applies `batches` batches of 2,000 readings over 50 devices, as the consumer does. */
async function ingest(store: SqliteStore, batches: number): Promise<void> {
  await store.ensureTenant('t', 'T');
  for (let d = 0; d < 50; d++) await store.registerDevice('t', { id: `d${d}`, name: `d${d}`, tags: [] });
  let offset = 0;
  for (let b = 0; b < batches; b++) {
    const readings = Array.from({ length: 2000 }, () => {
      const at = offset++;
      return {
        tenantId: 't',
        deviceId: `d${at % 50}`,
        eventId: `event-${String(at).padStart(8, '0')}`,
        timestamp: 1_700_000_000_000 + at,
        metrics: [{ name: 'v', value: at }],
        offset: at,
        receivedAt: 1_700_000_000_000 + at,
      };
    });
    await applyBatch(store, { source: 'readings', partitions: [{ partition: 0, lastOffset: offset - 1, readings, deadLetters: [] }] });
  }
}

describe('WAL checkpoints off the writer', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = newDataDir();
    file = path.join(dir, 'telemetry.db');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a store with the backstop leaves the log to the checkpointer, which copies all of it back', async () => {
    const store = new SqliteStore({ file, walAutocheckpointPages: WAL_BACKSTOP_PAGES });
    await ingest(store, 15);
    // Past SQLite's default of 1,000 pages a commit would have checkpointed and restarted the log.
    expect(statSync(`${file}-wal`).size).toBeGreaterThan(2000 * FRAME_BYTES);
    const checkpointer = new WalCheckpointer(file);
    const result = checkpointer.checkpoint();
    checkpointer.close();
    expect(result.walFrames).toBeGreaterThan(2000);
    expect(result.checkpointed).toBe(result.walFrames);
    const stored = await store.queryReadings('t', { deviceId: 'd7', metric: 'v', first: 1000, order: 'OLDEST_FIRST' });
    expect(stored.items).toHaveLength(600);
    await store.close();
  });

  it('the checkpoint thread copies the log back while the store stays open', async () => {
    const store = new SqliteStore({ file, walAutocheckpointPages: WAL_BACKSTOP_PAGES });
    await ingest(store, 3);
    const before = statSync(file).size;
    const thread = startCheckpointThread(file, silentLogger, 5);
    // The readings reach the database file itself, not only the log.
    await eventually(() => (statSync(file).size > before + 100 * FRAME_BYTES ? true : undefined), 15_000, 'a background checkpoint');
    await thread.stop();
    await store.close();
  });
});
