/**
 * The embedded store's floor: how many readings a second the consumer's database could persist
 * if everything else it does were free.
 *
 *   npm run bench:store-floor -- [--readings 600000] [--round 4000] [--devices 100]
 *
 * Per reading only the two rows exactly-once storage cannot do without: its event row (the
 * deduplicating key, its stream position, its timestamp: `reading_events` and its two indexes)
 * and its value (`samples`), written through the store's own statements
 * (`store/sqlite/sql/batch-transaction.ts`, `insertEvents` and `insertReadings`) on a freshly
 * migrated file, `round` readings a transaction, as the consumer writes a round. No decoding,
 * rollups, latest values, detection, liveness or watermarks, no stream; the WAL is not
 * checkpointed during the timing (the node's checkpoint thread does that, on the other core).
 * The event ids, timestamps and values are made before the clock starts.
 *
 * Prints readings/s and the CPU time per reading. What it is for: a persisted throughput the
 * consumer thread cannot reach whatever the rest of the node does (docs/PERFORMANCE.md, "Not
 * done": batch ingest at twice the peer).
 */
import 'reflect-metadata';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { uuidv7 } from '../src/domain/ids';
import type { PersistedReading } from '../src/domain/reading';
import type { StoredValue } from '../src/domain/timeseries/rollup-deltas';
import { SeriesIds } from '../src/store/sqlite/series-ids';
import { sqliteBatchTransaction } from '../src/store/sqlite/sql/batch-transaction';
import { SqliteStore } from '../src/store/sqlite/sqlite-store';

const { values: args } = parseArgs({
  options: {
    readings: { type: 'string', default: '600000' },
    round: { type: 'string', default: '4000' },
    devices: { type: 'string', default: '100' },
  },
});
const READINGS = Number(args.readings);
const ROUND = Number(args.round);
const DEVICES = Number(args.devices);
const PARTITIONS = 4;
const TENANT = 'default';

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'store-floor-'));
  try {
    const file = path.join(dir, 'telemetry.db');
    await new SqliteStore({ file }).close(); // creates and migrates the file
    const db = new Database(file);
    // The consumer's connection settings (store/sqlite/sqlite-store.ts), checkpoints left out.
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('cache_size = -65536');
    db.pragma('wal_autocheckpoint = 0');
    const seriesIds = new SeriesIds(db);
    const batch = sqliteBatchTransaction(db, seriesIds);

    const start = Date.parse('2026-01-01T00:00:00Z');
    const rounds: { events: PersistedReading[]; values: StoredValue[] }[] = [];
    for (let from = 0; from < READINGS; from += ROUND) {
      const events: PersistedReading[] = [];
      const values: StoredValue[] = [];
      for (let i = from; i < Math.min(READINGS, from + ROUND); i++) {
        const deviceId = `floor-${i % DEVICES}`;
        const timestamp = start + Math.floor(i / DEVICES) * 1000;
        events.push({
          tenantId: TENANT,
          deviceId,
          eventId: uuidv7(start + i),
          timestamp,
          metrics: [{ name: 'temperature', value: i }],
          partition: i % PARTITIONS,
          offset: i,
        });
        values.push({ tenantId: TENANT, deviceId, metric: 'temperature', timestamp, value: i });
      }
      rounds.push({ events, values });
    }
    // SQLite's primitives answer synchronously (a Step is a value or a promise of it).
    const write = db.transaction((round: (typeof rounds)[number]) => {
      const newEvents = batch.insertEvents(round.events) as boolean[];
      const newValues = batch.insertReadings(round.values) as boolean[];
      if (!newEvents.every(Boolean) || !newValues.every(Boolean)) throw new Error('a reading was taken for a duplicate');
    });

    const cpu = process.cpuUsage();
    const began = performance.now();
    for (const round of rounds) {
      write.immediate(round);
      seriesIds.commit();
    }
    const seconds = (performance.now() - began) / 1000;
    const used = process.cpuUsage(cpu);
    const stored = db.prepare('SELECT count(*) FROM samples').pluck().get() as number;
    db.close();
    if (stored !== READINGS) throw new Error(`stored ${stored} values of ${READINGS}`);
    console.log(
      `${READINGS.toLocaleString('en-US')} readings, ${ROUND} a transaction, ${DEVICES} devices: ` +
        `${Math.round(READINGS / seconds).toLocaleString('en-US')} readings/s, ` +
        `${((used.user + used.system) / READINGS).toFixed(2)} µs of CPU a reading (event row + value only)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
