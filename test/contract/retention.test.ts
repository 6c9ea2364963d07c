import { rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { effectivePolicy, RETENTION_KINDS, resolutionOf, type RetentionKind, type RetentionOverrides, type RetentionPolicy } from '../../src/domain/retention';
import { RetentionEnforcer } from '../../src/retention/retention-enforcer';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store';
import { OracleStore } from '../../src/store/oracle/oracle-store';
import { SQL as ORACLE_SQL } from '../../src/store/oracle/sql/retention';
import { CheckingSource, type Call } from '../support/fake-oracle';
import { recordingLogger } from '../support/logger';
import { newDataDir } from '../support/server';
import { seriesIdOf, storedSampleKeys } from '../support/sqlite-samples';

/**
 * Retention on each backend: after one pass, no row of any kind older than its tenant's policy
 * remains, and no newer row was removed, whatever the policies, the data and the batch size
 * (batches smaller than the data, so the pass goes through many short transactions). Oracle runs
 * at the driver boundary: its real statements, checked by the fake connection, against tables
 * the fake keeps as those statements say (ROWNUM-bounded deletes, day partitions dropped).
 */

const NOW = Date.UTC(2026, 5, 15, 12, 34, 56, 789);
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const TENANTS = ['acme', 'globex'] as const;
const RESOLUTIONS = [MINUTE, HOUR, DAY];

interface Rows {
  readings: { tenant: string; device: string; metric: string; ts: number }[];
  rollups: { tenant: string; device: string; metric: string; resolution: number; bucket: number }[];
  /** offset: unique, in no relation to ts (a late reading sits at a recent offset). */
  events: { tenant: string; id: string; device: string; partition: number; offset: number; ts: number }[];
  /** Their seq is their place in the list, from 1 (the order they are inserted). */
  anomalies: { tenant: string; device: string; resolvedAt: number | null }[];
  deadLetters: { tenant: string | null; createdAt: number }[];
  deliveries: { tenant: string; status: 'PENDING' | 'DELIVERED' | 'FAILED'; createdAt: number }[];
}

const ageArb = fc.integer({ min: 0, max: 40 * DAY });
const tenantArb = fc.constantFrom(...TENANTS);
const seriesArb = fc.record({ tenant: tenantArb, device: fc.constantFrom('d1', 'd2'), metric: fc.constantFrom('t', 'h') });

const rowsArb: fc.Arbitrary<Rows> = fc.record({
  readings: fc
    .array(fc.record({ series: seriesArb, age: ageArb }), { maxLength: 60 })
    .map((list) => list.map(({ series, age }) => ({ ...series, ts: NOW - age }))),
  rollups: fc
    .array(fc.record({ series: seriesArb, resolution: fc.constantFrom(...RESOLUTIONS), age: ageArb }), { maxLength: 60 })
    .map((list) => list.map(({ series, resolution, age }) => ({ ...series, resolution, bucket: Math.floor((NOW - age) / resolution) * resolution }))),
  events: fc
    .uniqueArray(
      fc.record({ tenant: tenantArb, device: fc.constantFrom('d1', 'd2'), partition: fc.integer({ min: 0, max: 1 }), offset: fc.nat(10_000), age: ageArb }),
      { maxLength: 40, selector: (e) => `${e.partition}/${e.offset}` },
    )
    .map((list) => list.map(({ age, ...e }, i) => ({ ...e, id: `e${i}`, ts: NOW - age }))),
  anomalies: fc.array(fc.record({ tenant: tenantArb, device: fc.constant('d1'), resolvedAt: fc.option(ageArb.map((age) => NOW - age)) }), { maxLength: 20 }),
  deadLetters: fc.array(fc.record({ tenant: fc.option(tenantArb), createdAt: ageArb.map((age) => NOW - age) }), { maxLength: 20 }),
  deliveries: fc.array(fc.record({ tenant: tenantArb, status: fc.constantFrom('PENDING', 'DELIVERED', 'FAILED'), createdAt: ageArb.map((age) => NOW - age) }), {
    maxLength: 20,
  }),
});

/** A valid policy: levels non-decreasing from raw to day rollups. */
const policyArb: fc.Arbitrary<RetentionPolicy> = fc
  .record({
    levels: fc.array(fc.integer({ min: MINUTE, max: 30 * DAY }), { minLength: 4, maxLength: 4 }).map((list) => [...list].sort((a, b) => a - b)),
    others: fc.array(fc.integer({ min: 1, max: 30 * DAY }), { minLength: 4, maxLength: 4 }),
  })
  .map(({ levels, others }) => ({
    RAW_READINGS: levels[0]!,
    MINUTE_ROLLUPS: levels[1]!,
    HOUR_ROLLUPS: levels[2]!,
    DAY_ROLLUPS: levels[3]!,
    RESOLVED_ANOMALIES: others[0]!,
    DEAD_LETTERS: others[1]!,
    WEBHOOK_DELIVERIES: others[2]!,
    EVENT_IDS: others[3]!,
  }));

const overridesArb: fc.Arbitrary<RetentionOverrides> = policyArb.chain((policy) =>
  fc.subarray([...RETENTION_KINDS.values]).map((kinds) => Object.fromEntries(kinds.map((kind) => [kind, policy[kind]]))),
);

function insert(db: Database.Database, rows: Rows): void {
  for (const tenant of TENANTS) db.prepare('INSERT INTO tenants (id, name, created_at) VALUES (?, ?, 0)').run(tenant, tenant);
  db.prepare(
    "INSERT INTO webhooks (tenant_id, id, url, min_severity, secret, created_at) SELECT id, 'w', 'https://example.com', 'INFO', 's', 0 FROM tenants",
  ).run();
  for (const r of rows.readings) {
    db.prepare('INSERT OR IGNORE INTO samples (series_id, ts, value) VALUES (?, ?, 1)').run(seriesIdOf(db, r.tenant, r.device, r.metric), r.ts);
    db.prepare('INSERT OR IGNORE INTO latest_readings (tenant_id, device_id, metric, ts, value) VALUES (?, ?, ?, ?, 1)').run(
      r.tenant,
      r.device,
      r.metric,
      r.ts,
    );
  }
  for (const r of rows.rollups) {
    db.prepare(
      `INSERT OR IGNORE INTO rollups (series_id, resolution_ms, bucket_start, count, sum, sum_sq, min, max, first_ts, first_value, last_ts, last_value)
       VALUES (?, ?, ?, 1, 1, 1, 1, 1, ?, 1, ?, 1)`,
    ).run(seriesIdOf(db, r.tenant, r.device, r.metric), r.resolution, r.bucket, r.bucket, r.bucket);
  }
  for (const e of rows.events) {
    db.prepare("INSERT INTO reading_events (tenant_id, event_id, device_id, stream_partition, stream_offset, ts, metrics) VALUES (?, ?, ?, ?, ?, ?, '{}')").run(
      e.tenant,
      e.id,
      e.device,
      e.partition,
      e.offset,
      e.ts,
    );
  }
  for (const a of rows.anomalies) {
    db.prepare(
      "INSERT INTO anomalies (tenant_id, device_id, metric, kind, severity, score, ts, detected_at, status, resolved_at) VALUES (?, ?, 't', 'THRESHOLD', 'INFO', 1, 0, 0, ?, ?)",
    ).run(a.tenant, a.device, a.resolvedAt === null ? 'OPEN' : 'RESOLVED', a.resolvedAt);
  }
  for (const d of rows.deadLetters) {
    db.prepare(
      "INSERT INTO dead_letters (tenant_id, topic, stream_partition, stream_offset, reason, payload, created_at) VALUES (?, 'readings', 0, 0, 'r', 'p', ?)",
    ).run(d.tenant, d.createdAt);
  }
  rows.deliveries.forEach((d, i) =>
    db
      .prepare("INSERT INTO webhook_deliveries (tenant_id, webhook_id, anomaly_seq, status, next_attempt_at, created_at) VALUES (?, 'w', ?, ?, 0, ?)")
      .run(d.tenant, i, d.status, d.createdAt),
  );
}

/** What must remain: each row judged against its own tenant's policy (the defaults for no tenant). */
function expected(rows: Rows, policyOf: (tenant: string | null) => RetentionPolicy) {
  const cutoff = (tenant: string | null, kind: RetentionKind) => NOW - policyOf(tenant)[kind];
  const unique = <T>(list: T[], key: (row: T) => string) => [...new Map(list.map((row) => [key(row), row])).values()];
  const kindOf = (resolution: number): RetentionKind => RETENTION_KINDS.values.find((kind) => kind.endsWith('ROLLUPS') && resolutionOf(kind) === resolution)!;
  return {
    readings: unique(rows.readings, (r) => `${r.tenant}/${r.device}/${r.metric}/${r.ts}`)
      .filter((r) => r.ts >= cutoff(r.tenant, 'RAW_READINGS'))
      .map((r) => `${r.tenant}/${r.device}/${r.metric}/${r.ts}`)
      .sort(),
    // A bucket goes once it ends at or before the cut-off: a bucket holding newer data stays whole.
    rollups: unique(rows.rollups, (r) => `${r.tenant}/${r.device}/${r.metric}/${r.resolution}/${r.bucket}`)
      .filter((r) => r.bucket + r.resolution > cutoff(r.tenant, kindOf(r.resolution)))
      .map((r) => `${r.tenant}/${r.device}/${r.metric}/${r.resolution}/${r.bucket}`)
      .sort(),
    events: rows.events
      .filter((e) => e.ts >= cutoff(e.tenant, 'EVENT_IDS'))
      .map((e) => `${e.tenant}/${e.id}`)
      .sort(),
    anomalies: rows.anomalies.filter((a) => a.resolvedAt === null || a.resolvedAt >= cutoff(a.tenant, 'RESOLVED_ANOMALIES')).length,
    deadLetters: rows.deadLetters.filter((d) => d.createdAt >= cutoff(d.tenant, 'DEAD_LETTERS')).length,
    deliveries: rows.deliveries.filter((d) => d.status === 'PENDING' || d.createdAt >= cutoff(d.tenant, 'WEBHOOK_DELIVERIES')).length,
  };
}

type Pruned = Record<string, number>;

/**
 * What a pass must record as removed, for resumes (expired cursors): per tenant, device and
 * partition the highest offset of a removed event (and per tenant and partition over both
 * devices, as a subscription to several reads it), per tenant the highest removed anomaly seq.
 */
function expectedPruned(rows: Rows, policyOf: (tenant: string) => RetentionPolicy): Pruned {
  const pruned: Pruned = {};
  const raise = (key: string, value: number) => (pruned[key] = Math.max(pruned[key] ?? 0, value));
  for (const e of rows.events) {
    if (e.ts >= NOW - policyOf(e.tenant).EVENT_IDS) continue;
    raise(`${e.tenant}/${e.device}/${e.partition}`, e.offset);
    raise(`${e.tenant}/*/${e.partition}`, e.offset);
  }
  rows.anomalies.forEach((a, i) => {
    if (a.resolvedAt !== null && a.resolvedAt < NOW - policyOf(a.tenant).RESOLVED_ANOMALIES) raise(`${a.tenant}/anomalies`, i + 1);
  });
  return pruned;
}

/** What the store answers a resume with, in expectedPruned's shape. */
async function recordedPruned(store: Pick<SqliteStore, 'prunedReadingEvents' | 'prunedAnomalySeq'>): Promise<Pruned> {
  const pruned: Pruned = {};
  for (const tenant of TENANTS) {
    for (const device of ['d1', 'd2', '*']) {
      const positions = await store.prunedReadingEvents(tenant, device === '*' ? ['d1', 'd2'] : [device]);
      for (const [partition, offset] of positions) pruned[`${tenant}/${device}/${partition}`] = offset;
    }
    const seq = await store.prunedAnomalySeq(tenant);
    if (seq > 0) pruned[`${tenant}/anomalies`] = seq;
  }
  return pruned;
}

function remaining(db: Database.Database) {
  const keys = (sql: string) => (db.prepare(sql).pluck().all() as string[]).sort();
  const count = (table: string) => db.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get() as number;
  return {
    readings: storedSampleKeys(db),
    rollups: keys(
      "SELECT s.tenant_id || '/' || s.device_id || '/' || s.metric || '/' || r.resolution_ms || '/' || r.bucket_start FROM rollups r JOIN series s ON s.id = r.series_id",
    ),
    events: keys("SELECT tenant_id || '/' || event_id FROM reading_events"),
    anomalies: count('anomalies'),
    deadLetters: count('dead_letters'),
    deliveries: count('webhook_deliveries'),
  };
}

describe('Retention on the embedded store', () => {
  it('removes every row older than its tenant policy and none newer, across kinds, levels and tenants, in small batches', async () => {
    await fc.assert(
      fc.asyncProperty(
        rowsArb,
        policyArb,
        fc.record({ acme: overridesArb, globex: overridesArb }),
        fc.integer({ min: 1, max: 7 }),
        async (rows, defaults, overrides, batchRows) => {
          const dir = newDataDir();
          const file = path.join(dir, 'telemetry.db');
          const store = new SqliteStore({ file });
          const db = new Database(file);
          try {
            insert(db, rows);
            for (const tenant of TENANTS) await store.setRetentionOverrides(tenant, overrides[tenant], NOW);
            const logger = recordingLogger();
            const counted = new Map<RetentionKind, number>();
            const enforcer = new RetentionEnforcer(
              store,
              { defaults, intervalMs: 60_000, batchRows },
              logger,
              (kind, n) => counted.set(kind, (counted.get(kind) ?? 0) + n),
              () => NOW,
            );
            const before = remaining(db);
            const removed = await enforcer.enforce();
            const after = remaining(db);
            expect(after).toEqual(expected(rows, (tenant) => (tenant === null ? defaults : effectivePolicy(defaults, overrides[tenant as 'acme' | 'globex']))));
            expect(await recordedPruned(store)).toEqual(expectedPruned(rows, (tenant) => effectivePolicy(defaults, overrides[tenant as 'acme' | 'globex'])));
            // The pass reports what it removed: per kind in its log line, and to the metrics.
            expect(removed.RAW_READINGS).toBe(before.readings.length - after.readings.length);
            expect(removed.EVENT_IDS).toBe(before.events.length - after.events.length);
            expect(removed.DEAD_LETTERS).toBe(before.deadLetters - after.deadLetters);
            expect(Object.fromEntries(counted)).toEqual(Object.fromEntries(Object.entries(removed).filter(([, n]) => n > 0)));
            expect(logger.lines.filter((line) => line.message === 'retention pass done')).toHaveLength(1);
          } finally {
            db.close();
            await store.close();
            rmSync(dir, { recursive: true, force: true });
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('keeps a tenant’s settings apart from another’s, and replaces them as a whole', async () => {
    const dir = newDataDir();
    const store = new SqliteStore({ file: path.join(dir, 'telemetry.db') });
    try {
      await store.ensureTenant('acme', 'acme');
      await store.ensureTenant('globex', 'globex');
      await store.setRetentionOverrides('acme', { RAW_READINGS: DAY, EVENT_IDS: HOUR }, NOW);
      await store.setRetentionOverrides('acme', { RAW_READINGS: 2 * DAY }, NOW);
      expect(await store.retentionOverrides('acme')).toEqual({ RAW_READINGS: 2 * DAY });
      expect(await store.retentionOverrides('globex')).toEqual({});
      expect(await store.tenantsRetention()).toEqual(
        new Map([
          ['acme', { RAW_READINGS: 2 * DAY }],
          ['globex', {}],
        ]),
      );
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * The tables the retention statements touch, answered as their SQL says. Readings sit in day
 * partitions (RANGE on ts, INTERVAL one day, as the schema creates them): dropping one removes
 * its rows whatever their tenant.
 */
class OracleRetentionTables {
  readonly source = new CheckingSource((call) => this.respond(call));
  readonly settings = new Map<string, RetentionOverrides>();
  partitionsDropped = 0;
  /** pruned_reading_events by (tenant, device, partition); pruned_anomalies by tenant. */
  readonly prunedEvents = new Map<string, { tenant: string; device: string; partition: number; offset: number }>();
  readonly prunedAnomalies = new Map<string, number>();
  /** Each anomaly's seq (the identity column), by its row. */
  private readonly seqs: Map<Rows['anomalies'][number], number>;

  constructor(private readonly rows: Rows) {
    this.seqs = new Map(rows.anomalies.map((a, i) => [a, i + 1]));
  }

  private respond(call: Call) {
    const b = call.binds[0] ?? {};
    const limit = b['limit_rows'] as number;
    const cutoff = b['cutoff'] as number;
    const tenant = b['tenant_id'] as string;
    /** Removes at most `limit` rows matching `expired` (ROWNUM <= :limit_rows) from `list`. */
    const removing = <T>(list: T[], expired: (row: T) => boolean): T[] => {
      const removed: T[] = [];
      for (let i = 0; i < list.length && removed.length < limit;) {
        if (expired(list[i]!)) removed.push(...list.splice(i, 1));
        else i++;
      }
      return removed;
    };
    const bounded = <T>(list: T[], expired: (row: T) => boolean) => ({ rowsAffected: removing(list, expired).length });
    switch (call.sql) {
      case ORACLE_SQL.allTenants:
        return { rows: TENANTS.map((id) => ({ ID: id })) };
      case ORACLE_SQL.allSettings:
        return {
          rows: [...this.settings].flatMap(([tenantId, overrides]) =>
            Object.entries(overrides).map(([kind, ms]) => ({ TENANT_ID: tenantId, KIND: kind, RETENTION_MS: ms })),
          ),
        };
      case ORACLE_SQL.deleteReadings:
        return bounded(this.rows.readings, (r) => r.tenant === tenant && r.ts < cutoff);
      case ORACLE_SQL.deleteRollups:
        return bounded(this.rows.rollups, (r) => r.tenant === tenant && r.resolution === b['resolution_ms'] && r.bucket <= cutoff - r.resolution);
      case ORACLE_SQL.deleteEventIds: {
        // RETURNING ... INTO: one array element per deleted row, as the driver answers a DML RETURNING.
        const removed = removing(this.rows.events, (e) => e.tenant === tenant && e.ts < cutoff);
        return {
          rowsAffected: removed.length,
          outBinds: {
            removed_devices: removed.map((e) => e.device),
            removed_partitions: removed.map((e) => e.partition),
            removed_offsets: removed.map((e) => e.offset),
          },
        };
      }
      case ORACLE_SQL.deleteResolvedAnomalies: {
        const removed = removing(this.rows.anomalies, (a) => a.tenant === tenant && a.resolvedAt !== null && a.resolvedAt < cutoff);
        return { rowsAffected: removed.length, outBinds: { removed_seqs: removed.map((a) => this.seqs.get(a)!) } };
      }
      case ORACLE_SQL.mergePrunedEvent:
        // MERGE ... GREATEST: the highest offset removed so far stays.
        for (const row of call.binds) {
          const id = `${String(row['tenant_id'])}/${String(row['device_id'])}/${String(row['stream_partition'])}`;
          const offset = Math.max(this.prunedEvents.get(id)?.offset ?? -Infinity, row['max_offset'] as number);
          this.prunedEvents.set(id, {
            tenant: row['tenant_id'] as string,
            device: row['device_id'] as string,
            partition: row['stream_partition'] as number,
            offset,
          });
        }
        return undefined;
      case ORACLE_SQL.mergePrunedAnomaly:
        this.prunedAnomalies.set(tenant, Math.max(this.prunedAnomalies.get(tenant) ?? 0, b['max_seq'] as number));
        return undefined;
      case ORACLE_SQL.prunedEvents: {
        const devices = JSON.parse(b['ids'] as string) as string[];
        const highest = new Map<number, number>();
        for (const p of this.prunedEvents.values())
          if (p.tenant === tenant && devices.includes(p.device)) highest.set(p.partition, Math.max(highest.get(p.partition) ?? -Infinity, p.offset));
        return { rows: [...highest].map(([partition, offset]) => ({ STREAM_PARTITION: partition, MAX_OFFSET: offset })) };
      }
      case ORACLE_SQL.prunedAnomalySeq: {
        const seq = this.prunedAnomalies.get(tenant);
        return { rows: seq === undefined ? [] : [{ MAX_SEQ: seq }] };
      }
      case ORACLE_SQL.deleteDeadLetters:
        return bounded(this.rows.deadLetters, (d) => d.tenant === tenant && d.createdAt < cutoff);
      case ORACLE_SQL.deleteTenantlessDeadLetters:
        return bounded(this.rows.deadLetters, (d) => d.tenant === null && d.createdAt < cutoff);
      case ORACLE_SQL.deleteDeliveries:
        return bounded(this.rows.deliveries, (d) => d.tenant === tenant && d.status !== 'PENDING' && d.createdAt < cutoff);
      case ORACLE_SQL.dropPartitions: {
        // A partition's high value is the end of its day; it goes when that end is at or before the cut-off.
        const days = new Set(this.rows.readings.filter((r) => Math.floor(r.ts / DAY) * DAY + DAY <= cutoff).map((r) => Math.floor(r.ts / DAY)));
        this.rows.readings = this.rows.readings.filter((r) => !days.has(Math.floor(r.ts / DAY)));
        this.partitionsDropped += days.size;
        return { outBinds: { dropped: days.size } };
      }
      default:
        throw new Error(`a statement retention does not use: ${call.sql.slice(0, 80)}`);
    }
  }
}

describe('Retention on Oracle at the driver boundary', () => {
  it('removes every row older than its tenant policy and none newer, dropping only day partitions every tenant lets go', async () => {
    await fc.assert(
      fc.asyncProperty(
        rowsArb,
        policyArb,
        fc.record({ acme: overridesArb, globex: overridesArb }),
        fc.integer({ min: 1, max: 7 }),
        async (generated, defaults, overrides, batchRows) => {
          // Unique keys, as the tables' primary keys keep them.
          const rows: Rows = {
            ...generated,
            readings: [...new Map(generated.readings.map((r) => [`${r.tenant}/${r.device}/${r.metric}/${r.ts}`, r])).values()],
            rollups: [...new Map(generated.rollups.map((r) => [`${r.tenant}/${r.device}/${r.metric}/${r.resolution}/${r.bucket}`, r])).values()],
          };
          const tables = new OracleRetentionTables(rows);
          for (const tenant of TENANTS) tables.settings.set(tenant, overrides[tenant]);
          const store = OracleStore.over(tables.source);
          // Before the pass: the fake tables remove from these very lists.
          const wantPruned = expectedPruned(generated, (tenant) => effectivePolicy(defaults, overrides[tenant as 'acme' | 'globex']));
          const enforcer = new RetentionEnforcer(store, { defaults, intervalMs: 60_000, batchRows }, recordingLogger(), undefined, () => NOW);
          await enforcer.enforce();
          const want = expected(generated, (tenant) => (tenant === null ? defaults : effectivePolicy(defaults, overrides[tenant as 'acme' | 'globex'])));
          expect({
            readings: rows.readings.map((r) => `${r.tenant}/${r.device}/${r.metric}/${r.ts}`).sort(),
            rollups: rows.rollups.map((r) => `${r.tenant}/${r.device}/${r.metric}/${r.resolution}/${r.bucket}`).sort(),
            events: rows.events.map((e) => `${e.tenant}/${e.id}`).sort(),
            anomalies: rows.anomalies.length,
            deadLetters: rows.deadLetters.length,
            deliveries: rows.deliveries.length,
          }).toEqual(want);
          expect(await recordedPruned(store)).toEqual(wantPruned);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('drops the day partitions older than the most generous tenant, then deletes the rest in ranges', async () => {
    const rows: Rows = {
      readings: [
        { tenant: 'acme', device: 'd1', metric: 't', ts: NOW - 20 * DAY },
        { tenant: 'globex', device: 'd1', metric: 't', ts: NOW - 20 * DAY },
        { tenant: 'globex', device: 'd1', metric: 't', ts: NOW - 8 * DAY },
        { tenant: 'globex', device: 'd1', metric: 't', ts: NOW - DAY },
      ],
      rollups: [],
      events: [],
      anomalies: [],
      deadLetters: [],
      deliveries: [],
    };
    const tables = new OracleRetentionTables(rows);
    tables.settings.set('acme', { RAW_READINGS: 10 * DAY });
    tables.settings.set('globex', { RAW_READINGS: 5 * DAY });
    const defaults: RetentionPolicy = {
      RAW_READINGS: 30 * DAY,
      MINUTE_ROLLUPS: 30 * DAY,
      HOUR_ROLLUPS: 30 * DAY,
      DAY_ROLLUPS: 30 * DAY,
      RESOLVED_ANOMALIES: DAY,
      DEAD_LETTERS: DAY,
      WEBHOOK_DELIVERIES: DAY,
      EVENT_IDS: DAY,
    };
    const removed = await new RetentionEnforcer(
      OracleStore.over(tables.source),
      { defaults, intervalMs: 60_000, batchRows: 100 },
      recordingLogger(),
      undefined,
      () => NOW,
    ).enforce();
    // Day 20 is past both tenants' retention: its partition went whole. Day 8 is past globex's
    // 5 days but not acme's 10: a ranged delete of globex's rows only.
    expect(tables.partitionsDropped).toBe(1);
    expect(rows.readings.map((r) => [r.tenant, (NOW - r.ts) / DAY])).toEqual([['globex', 1]]);
    expect(removed.RAW_READINGS).toBe(1);
    const deletes = tables.source.calls.filter((call) => call.sql === ORACLE_SQL.deleteReadings);
    expect(deletes.map((call) => call.binds[0]!['tenant_id'])).toEqual(['acme', 'globex']);
  });
});
