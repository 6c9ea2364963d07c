import { rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { OracleStore } from '../../src/store/oracle/oracle-store';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store';
import type { Steps } from '../../src/store/batch-steps';
import type { BatchTransaction } from '../../src/store/batch-transaction';
import type { AppliedBatch } from '../../src/domain/consumer-batch';
import { OracleTables, type RollupRow } from '../support/oracle-tables';
import { newDataDir } from '../support/server';
import { describeDetectionContract } from './detection-contract';
import { deliverFresh, deliveryArb, messagesOf, type BatchSink } from './rollup-contract';
import { fakePort } from '../support/fake-port';

/**
 * The batch pipeline is one module that every backend runs over its own primitives. With no
 * Oracle database here, these run it through the Oracle backend at the driver boundary: its
 * real statements, checked by the fake connection, against tables kept by the fake
 * (support/oracle-tables.ts). The same suites run live with `npm run test:oracle`.
 */

describeDetectionContract('Oracle at the driver boundary', async () => {
  const tables = new OracleTables();
  return { store: OracleStore.over(tables.source), close: async () => {} };
});

/** detectedAt is the clock at apply time: two stores apply a batch at two moments. */
const comparable = (applied: AppliedBatch) => ({ ...applied, anomalies: applied.anomalies.map(({ detectedAt, ...anomaly }) => anomaly) });

describe('Rollup property: Oracle at the driver boundary', () => {
  const dir = newDataDir();
  const file = path.join(dir, 'telemetry.db');
  const embedded = new SqliteStore({ file });
  const tables = new OracleTables();
  const oracle = OracleStore.over(tables.source);
  afterAll(async () => {
    await embedded.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Each batch to both stores: the Oracle backend must answer exactly as the embedded one. */
  const twin = fakePort<BatchSink>({
    watermarks: (source) => embedded.watermarks(source),
    // The same work (a fresh run of the pipeline each call) in a transaction of each store.
    async transact<T>(work: (tx: BatchTransaction) => Steps<T>): Promise<T> {
      const expected = await embedded.transact(work);
      expect(comparable((await oracle.transact(work)) as AppliedBatch)).toEqual(comparable(expected as AppliedBatch));
      return expected;
    },
  });

  function embeddedRollups(tenantId: string): Map<string, RollupRow> {
    const db = new Database(file, { readonly: true });
    try {
      const rows = db
        .prepare(
          `SELECT s.device_id, s.metric, r.resolution_ms, r.bucket_start, r.count AS cnt, r.sum AS sum_value, r.sum_sq, r.min AS min_value, r.max AS max_value,
                  r.min_ts, r.max_ts, r.first_ts, r.first_value, r.last_ts, r.last_value FROM rollups r JOIN series s ON s.id = r.series_id WHERE s.tenant_id = ?`,
        )
        .all(tenantId) as (RollupRow & { device_id: string; metric: string; resolution_ms: number; bucket_start: number })[];
      return new Map(
        rows.map(({ device_id, metric, resolution_ms, bucket_start, ...row }) => [`${device_id}/${metric}/${resolution_ms}/${bucket_start}`, row]),
      );
    } finally {
      db.close();
    }
  }

  function oracleRollups(tenantId: string): Map<string, RollupRow> {
    const found = [...tables.rollups.values()].filter((row) => row.tenant_id === tenantId);
    return new Map(
      found.map(({ tenant_id, device_id, metric, resolution_ms, bucket_start, ...row }) => [`${device_id}/${metric}/${resolution_ms}/${bucket_start}`, row]),
    );
  }

  let run = 0;
  it('stores, skips and merges exactly what the embedded store does, through late, duplicate and replayed deliveries', async () => {
    await fc.assert(
      fc.asyncProperty(deliveryArb, async (delivery) => {
        const tenantId = `prop-${++run}`;
        const { messages } = messagesOf(tenantId, delivery);
        await deliverFresh(twin, tenantId, messages, delivery.batchSizes, delivery.replayEvery);
        // The embedded store's rollups equal the raw readings (rollup-contract.ts): so do these.
        const rollups = embeddedRollups(tenantId);
        expect(rollups.size).toBeGreaterThan(0);
        expect(oracleRollups(tenantId)).toEqual(rollups);
      }),
      { numRuns: 60 },
    );
  });
});
