import { applyBatch } from '../../src/consumers/pipeline/apply-batch';
import { BackendError, TelemetryError } from '../../src/domain/errors';
import { isRetryableOracleError, toStoreError } from '../../src/store/oracle/errors';
import { ORACLE_MIGRATIONS } from '../../src/store/oracle/migrations';
import { OracleStore } from '../../src/store/oracle/oracle-store';
import { placeholders } from '../../src/store/oracle/session';
import * as anomalies from '../../src/store/oracle/sql/anomalies';
import * as batch from '../../src/store/oracle/sql/batch-transaction';
import * as commands from '../../src/store/oracle/sql/commands';
import * as devices from '../../src/store/oracle/sql/devices';
import * as keys from '../../src/store/oracle/sql/keys';
import * as operations from '../../src/store/oracle/sql/operations';
import * as queries from '../../src/store/oracle/sql/queries';
import * as webhooks from '../../src/store/oracle/sql/webhooks';
import * as retention from '../../src/store/oracle/sql/retention';
import { RETENTION_KINDS } from '../../src/domain/retention';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store';
import type { Store } from '../../src/store/store';
import { CheckingSource, type Call } from '../support/fake-oracle';

const ALL_SQL: Record<string, string> = Object.fromEntries(
  Object.entries({
    anomalies: anomalies.SQL,
    batch: batch.SQL,
    commands: commands.SQL,
    devices: devices.SQL,
    keys: keys.SQL,
    operations: operations.SQL,
    queries: queries.SQL,
    webhooks: webhooks.SQL,
    retention: retention.SQL,
  }).flatMap(([module, statements]) => Object.entries(statements).map(([name, sql]) => [`${module}.${name}`, sql])),
);

const T = 't1';
const anomalyRow = {
  SEQ: 7,
  ID: 7,
  OCCURRENCES: 1,
  LAST_VALUE: 1,
  LAST_TS: 1,
  TENANT_ID: T,
  DEVICE_ID: 'd1',
  METRIC: 'temp',
  KIND: 'THRESHOLD',
  SEVERITY: 'WARNING',
  SCORE: 2,
  VALUE: 12,
  EXPECTED_MIN: null,
  EXPECTED_MAX: 10,
  TS: 1000,
  DETECTED_AT: 2000,
  STATUS: 'OPEN',
  ACKNOWLEDGED_BY: null,
  ACKNOWLEDGED_AT: null,
  RESOLVED_BY: null,
  RESOLVED_AT: null,
};
const ruleRow = {
  TENANT_ID: T,
  ID: 'r1',
  SCOPE_KIND: 'tag',
  SCOPE_VALUE: 'hot',
  METRIC: '*',
  ZSCORE_THRESHOLD: null,
  ZSCORE_WINDOW: null,
  ZSCORE_WARMUP: null,
  MIN_VALUE: null,
  MAX_VALUE: 10,
  MAX_RATE_PER_SECOND: null,
  SEVERITY: 'WARNING',
  UPDATED_AT: 1,
  CLEAR_AFTER_MS: null,
};
const deviceRow = {
  TENANT_ID: T,
  ID: 'd1',
  NAME: 'D1',
  TAGS: '["hot"]',
  CREATED_AT: 1,
  STATUS: 'ONLINE',
  LAST_SEEN_AT: 5,
  HEARTBEAT_TIMEOUT_MS: null,
  ATTRIBUTES: '{"site":"paris"}',
};
const keyRow = { ID: 'k1', TENANT_ID: T, ROLE: 'admin', DEVICE_ID: null, LABEL: 'ops', CREATED_AT: 1, LAST_USED_AT: null, REVOKED_AT: null };
const deliveryRow = {
  ID: 3,
  TENANT_ID: T,
  WEBHOOK_ID: 'w1',
  ANOMALY_SEQ: 7,
  STATUS: 'PENDING',
  ATTEMPTS: 0,
  NEXT_ATTEMPT_AT: 1,
  LAST_STATUS_CODE: null,
  LAST_ERROR: null,
  DELIVERED_AT: null,
  CREATED_AT: 1,
};

const commandRow = {
  TENANT_ID: T,
  ID: 'c1',
  DEVICE_ID: 'd1',
  NAME: 'reboot',
  PAYLOAD: '{"delay":1}',
  STATUS: 'DELIVERED',
  RESULT: null,
  CREATED_AT: 1,
  EXPIRES_AT: 10,
  UPDATED_AT: 2,
};
const command = {
  id: 'c1',
  tenantId: T,
  deviceId: 'd1',
  name: 'reboot',
  payload: { delay: 1 },
  status: 'PENDING',
  createdAt: 1,
  expiresAt: 10,
  updatedAt: 1,
} as const;

/** Plausible answers, so every code path after each statement runs too. */
function respond(call: Call) {
  const sql = call.sql;
  const is = (statement: string) => sql === statement;
  if (sql.includes('FROM user_tables')) return { rows: [{ N: 0 }] };
  if (is(anomalies.SQL.insertAnomaly)) return { outBinds: { seq: [7] }, rowsAffected: 1 };
  if (is(anomalies.SQL.ruleByScope) || is(anomalies.SQL.rulesOfTenant) || is(anomalies.SQL.listRules)) return { rows: [ruleRow] };
  if (is(anomalies.SQL.anomalyForUpdate) || is(anomalies.SQL.anomalyById) || is(anomalies.SQL.listAnomalies) || is(anomalies.SQL.openOfSeries))
    return { rows: [anomalyRow] };
  if (is(anomalies.SQL.tagsOfDevice)) return { rows: [{ TAGS: '["hot"]' }] };
  if (is(devices.SQL.lockDevice)) return { rows: [{ STATUS: 'OFFLINE', LAST_SEEN_AT: 1 }] };
  if (is(devices.SQL.deviceRemovingData)) return { rows: [{ TENANT_ID: T, DEVICE_ID: 'd1' }] };
  if (is(devices.SQL.deviceDataLeft)) return { rows: [{ N: 0 }] };
  if (is(devices.SQL.silentDevices)) return { rows: [{ TENANT_ID: T, ID: 'd1', LAST_SEEN_AT: 1, TIMEOUT_MS: 1000 }] };
  if (is(devices.SQL.deviceById) || is(devices.SQL.devicesByIds) || is(devices.SQL.listDevices)) return { rows: [deviceRow] };
  if (is(keys.SQL.keyById) || is(keys.SQL.listKeys) || is(keys.SQL.keyByHash)) return { rows: [keyRow] };
  if (is(keys.SQL.activeDeviceKeys)) return { rows: [{ ID: 'k2' }] };
  // The ids named revoked-... are revoked keys.
  if (is(keys.SQL.revokedKeyIds))
    return { rows: (JSON.parse(call.binds[0]!['ids'] as string) as string[]).filter((id) => id.startsWith('revoked-')).map((id) => ({ ID: id })) };
  if (is(keys.SQL.countAdmins)) return { rows: [{ N: 1 }] };
  // Two active admins: revoking one of them is allowed (so the revoke statement runs).
  if (is(keys.SQL.countTenantAdmins)) return { rows: [{ N: 2 }] };
  if (is(webhooks.SQL.dueDeliveries) || is(webhooks.SQL.listDeliveries)) return { rows: [deliveryRow] };
  if (is(commands.SQL.commandById) || is(commands.SQL.commandsOf) || is(commands.SQL.pendingCommands) || is(commands.SQL.dueCommands))
    return { rows: [commandRow] };
  if (is(commands.SQL.updateCommand)) return { rowsAffected: 1 };
  if (is(webhooks.SQL.webhookSecret)) return { rows: [{ URL: 'https://example.com/h', SECRET: 's' }] };
  // Retention removed two events of d1 and one anomaly: what they reached is recorded.
  if (is(retention.SQL.deleteEventIds))
    return { rowsAffected: 2, outBinds: { removed_devices: ['d1', 'd1'], removed_partitions: [0, 0], removed_offsets: [4, 9] } };
  if (is(retention.SQL.deleteResolvedAnomalies)) return { rowsAffected: 1, outBinds: { removed_seqs: [3] } };
  // The second event of the batch was applied before: its insert is a unique violation.
  if (is(batch.SQL.insertEvent))
    return { rowsAffected: call.binds.length - 1, batchErrors: [{ errorNum: 1, offset: 1, message: 'ORA-00001: unique constraint violated' }] };
  // e1's value (5 at ts 1001) was stored before under another event id: the row is a duplicate.
  if (is(batch.SQL.insertReading) && call.binds[0]?.['value'] === 5)
    return { rowsAffected: call.binds.length - 1, batchErrors: [{ errorNum: 1, offset: 0, message: 'ORA-00001: unique constraint violated' }] };
  return undefined;
}

const reading = (eventId: string, offset: number, value: number) => ({
  tenantId: T,
  deviceId: 'd1',
  eventId,
  timestamp: 1000 + offset,
  offset,
  metrics: [{ name: 'temp', value }],
});
const page = { first: 10 };

/** One call of every Store operation, with arguments that reach every statement. */
const OPERATIONS: Record<string, (store: Store) => Promise<unknown>> = {
  ensureTenant: (s) => s.ensureTenant(T, 'T'),
  createTenant: (s) => s.createTenant('t2', 'T2'),
  tenantExists: (s) => s.tenantExists(T),
  createApiKey: (s) => s.createApiKey({ id: 'k1', tenantId: T, role: 'admin', label: 'ops', secretHash: 'f'.repeat(64) }),
  findApiKeyBySecretHash: (s) => s.findApiKeyBySecretHash('f'.repeat(64)),
  countAdminKeys: (s) => s.countAdminKeys(),
  listApiKeys: (s) => s.listApiKeys(T, true),
  revokeApiKey: (s) => s.revokeApiKey(T, 'k1', 5),
  replaceDeviceKeys: (s) =>
    s.replaceDeviceKeys(T, 'd1', { id: 'k3', tenantId: T, role: 'device', deviceId: 'd1', label: 'device d1', secretHash: 'e'.repeat(64) }, 5),
  touchApiKey: (s) => s.touchApiKey('k1', 5),
  revokedApiKeyIds: (s) => s.revokedApiKeyIds(['k1', 'k2']),
  registerDevice: (s) => s.registerDevice(T, { id: 'd1', name: 'D1', tags: ['hot'], heartbeatTimeoutMs: null, attributes: { site: 'paris' } }),
  getDevices: (s) => s.getDevices(T, ['d1', 'd2']),
  listDevices: (s) => s.listDevices(T, { tag: 'hot', nameContains: 'd', status: 'ONLINE', attributeEntry: 'site="paris"' }, { first: 10, afterKey: 'a' }),
  updateDevice: async (s) => {
    await s.updateDevice(T, 'd1', { name: 'D1', tags: ['x'], heartbeatTimeoutMs: null, attributes: { a: [1] } });
    return s.updateDevice(T, 'd1', {});
  },
  deleteDevice: async (s) => {
    await s.deleteDevice(T, 'd1', true, 5);
    return s.deleteDevice(T, 'd1', false, 5);
  },
  removeDeletedDeviceData: (s) => s.removeDeletedDeviceData(1000),
  latestReadings: (s) => s.latestReadings(T, ['d1']),
  setHeartbeatTimeout: (s) => s.setHeartbeatTimeout(T, 'd1', 60_000),
  decommissionDevice: (s) => s.decommissionDevice(T, 'd1', 5),
  markSilentDevices: (s) => s.markSilentDevices(10_000, 300_000),
  markConnection: async (s) => {
    await s.markConnection(T, 'd1', true, 5);
    return s.markConnection(T, 'd1', false, 6);
  },
  transact: (s) =>
    applyBatch(s, {
      source: 'readings',
      partitions: [
        {
          partition: 0,
          lastOffset: 3,
          readings: [reading('e1', 1, 5), reading('e1', 2, 5), reading('e2', 3, 50)],
          deadLetters: [{ tenantId: T, topic: 'readings', partition: 0, offset: 0, reason: 'MALFORMED: x', payload: '{}' }],
        },
      ],
    }),
  watermarks: (s) => s.watermarks('readings'),
  prunedReadingEvents: (s) => s.prunedReadingEvents(T, ['d1', 'd2']),
  queryReadings: async (s) => {
    await s.queryReadings(T, { deviceId: 'd1', metric: 'temp', first: 10, order: 'NEWEST_FIRST' });
    return s.queryReadings(T, { deviceId: 'd1', metric: 'temp', from: 0, to: 10, first: 10, afterTimestamp: 5, order: 'OLDEST_FIRST' });
  },
  readingEventsAfter: (s) =>
    s.readingEventsAfter({
      tenantId: T,
      deviceIds: ['d1'],
      after: new Map([
        [0, 5],
        [1, -1],
      ]),
      limit: 100,
    }),
  readingEventsByIds: (s) => s.readingEventsByIds(T, ['e1']),
  aggregateBuckets: async (s) => {
    return s.aggregateBuckets(T, [
      { deviceIds: ['d1'], metric: 'temp', boundaries: [0, 3_600_000], source: 3_600_000 },
      { deviceIds: ['d1'], metric: 'temp', boundaries: [0, 1000, 2000], source: 'raw' },
      { deviceIds: ['d1'], metric: 'temp', boundaries: [0, 1000, 2000], source: 'raw', withValues: true },
    ]);
  },
  seriesColumns: (s) => s.seriesColumns(T, { deviceId: 'd1', metric: 'temp', from: 0, to: 10, maxRows: 100 }),
  fanoutProgress: (s) => s.fanoutProgress(),
  recordFanoutProgress: (s) =>
    s.recordFanoutProgress(
      new Map([
        ['readings:0', 5],
        ['anomalies', 7],
      ]),
    ),
  anomaliesOfAllTenantsAfter: (s) => s.anomaliesOfAllTenantsAfter(0, 10),
  putAnomalyRule: (s) =>
    s.putAnomalyRule({
      id: 'r1',
      tenantId: T,
      scope: { kind: 'tag', tag: 'hot' },
      metric: '*',
      zScore: { threshold: 3, window: 60, warmup: 20 },
      min: null,
      max: 10,
      maxRatePerSecond: null,
      severity: 'WARNING',
      clearAfterMs: null,
      updatedAt: 1,
    }),
  listAnomalyRules: (s) => s.listAnomalyRules(T),
  deleteAnomalyRule: (s) => s.deleteAnomalyRule(T, 'r1'),
  listAnomalies: (s) => s.listAnomalies(T, { deviceId: 'd1', status: 'OPEN', kind: 'THRESHOLD', minSeverity: 'WARNING' }, { first: 10, afterKey: '9' }),
  anomaliesAfter: (s) => s.anomaliesAfter(T, 0, 10),
  lastAnomalySeq: (s) => s.lastAnomalySeq(),
  prunedAnomalySeq: (s) => s.prunedAnomalySeq(T),
  transitionAnomaly: async (s) => {
    await s.transitionAnomaly(T, 7, { action: 'acknowledge', by: 'k1', at: 5 });
    return s.transitionAnomaly(T, 7, { action: 'resolve', by: 'k1', at: 6 });
  },
  createWebhook: (s) =>
    s.createWebhook(
      {
        tenantId: T,
        id: 'w1',
        channel: 'ONS',
        url: 'ocid1.onstopic.oc1.eu-frankfurt-1.abc',
        minSeverity: 'WARNING',
        kinds: ['THRESHOLD'],
        tags: ['hall-a'],
        createdAt: 1,
        secret: 's',
      },
      20,
    ),
  listWebhooks: (s) => s.listWebhooks(T),
  deleteWebhook: (s) => s.deleteWebhook(T, 'w1'),
  listWebhookDeliveries: (s) => s.listWebhookDeliveries(T, 'w1', 10),
  claimDueDeliveries: (s) => s.claimDueDeliveries(10, 5, 1000),
  recordDeliveryAttempt: (s) => s.recordDeliveryAttempt(3, { at: 10, delivered: false, statusCode: 500, error: 'HTTP 500', nextAttemptAt: 20 }),
  listDeadLetters: (s) => s.listDeadLetters(T, page),
  getDeadLetter: (s) => s.getDeadLetter(T, 1),
  markDeadLetterReplayed: (s) => s.markDeadLetterReplayed(T, 1, 5),
  retentionOverrides: (s) => s.retentionOverrides(T),
  setRetentionOverrides: (s) => s.setRetentionOverrides(T, { RAW_READINGS: 86_400_000, EVENT_IDS: 3_600_000 }, 1),
  tenantsRetention: (s) => s.tenantsRetention(),
  dropReadingsBefore: (s) => s.dropReadingsBefore(86_400_000),
  // Every kind, and the dead letters of no tenant: each kind has its own statement.
  deleteExpired: async (s) => {
    for (const kind of RETENTION_KINDS.values) await s.deleteExpired({ kind, tenantId: T, cutoff: 86_400_000, limit: 100 });
    return s.deleteExpired({ kind: 'DEAD_LETTERS', tenantId: null, cutoff: 86_400_000, limit: 100 });
  },
  insertCommand: (s) => s.insertCommand(command),
  command: (s) => s.command(T, 'c1'),
  commandsOf: (s) => s.commandsOf(T, 'd1', { first: 10, after: { createdAt: 5, id: 'c0' } }),
  pendingCommands: (s) => s.pendingCommands(T, 'd1', 5),
  dueCommands: (s) => s.dueCommands(20, 100),
  updateCommand: (s) => s.updateCommand({ ...command, status: 'SUCCEEDED', result: { ok: true }, updatedAt: 5 }, 'DELIVERED'),
  close: (s) => s.close(),
};

describe('Oracle store at the driver boundary (a checking fake connection)', () => {
  it('has a case for every Store operation', () => {
    // run and read are SqliteStore's private helpers, not Store operations.
    const helpers = new Set(['constructor', 'run', 'read', 'write', 'withoutWaiting']);
    const operations = Object.getOwnPropertyNames(SqliteStore.prototype).filter((name) => !helpers.has(name));
    expect(operations.filter((name) => !(name in OPERATIONS))).toEqual([]);
  });

  it('runs every migration statement and every statement of every module with binds matching its placeholders', async () => {
    const source = new CheckingSource(respond);
    const store = OracleStore.over(source);
    await store.migrate();
    for (const [name, operation] of Object.entries(OPERATIONS)) {
      try {
        await operation(store);
      } catch (error) {
        throw new Error(`${name}: ${(error as Error).message}`, { cause: error });
      }
    }
    const executed = new Set(source.calls.map((call) => call.sql));
    expect(
      Object.entries(ALL_SQL)
        .filter(([, sql]) => !executed.has(sql))
        .map(([name]) => name),
    ).toEqual([]);
    for (const migration of ORACLE_MIGRATIONS) for (const statement of migration.statements) expect(executed.has(statement)).toBe(true);
    expect(source.rollbacks).toBe(0);
  });

  it('asks which keys are revoked 500 ids per statement (the JSON bind stays small), and nothing for no id', async () => {
    const source = new CheckingSource(respond);
    const store = OracleStore.over(source);
    const ids = Array.from({ length: 1201 }, (_, i) => (i % 400 === 0 ? `revoked-${i}` : `k${i}`));
    expect(await store.revokedApiKeyIds(ids)).toEqual(['revoked-0', 'revoked-400', 'revoked-800', 'revoked-1200']);
    const statements = source.calls.filter((call) => call.sql === keys.SQL.revokedKeyIds);
    expect(statements.map((call) => (JSON.parse(call.binds[0]!['ids'] as string) as string[]).length)).toEqual([500, 500, 201]);
    expect(statements.flatMap((call) => JSON.parse(call.binds[0]!['ids'] as string) as string[])).toEqual(ids);
    const before = source.calls.length;
    expect(await store.revokedApiKeyIds([])).toEqual([]);
    expect(source.calls.slice(before).filter((call) => call.sql === keys.SQL.revokedKeyIds)).toEqual([]);
  });

  it('reads the runs of one aggregate in a READ ONLY transaction, so a batch committed meanwhile is in all buckets or none', async () => {
    const source = new CheckingSource(respond);
    await OPERATIONS.aggregateBuckets!(OracleStore.over(source));
    // First in the transaction (Oracle refuses it later), then the three runs.
    expect(source.calls.map((call) => call.sql)).toEqual(['SET TRANSACTION READ ONLY', expect.anything(), expect.anything(), expect.anything()]);
    expect(source.commits).toBe(1);
  });

  it('applies a batch with bulk statements: a repeated event id is a duplicate, not a failure', async () => {
    const source = new CheckingSource(respond);
    const result = await applyBatch(OracleStore.over(source), {
      source: 'readings',
      partitions: [{ partition: 0, lastOffset: 3, readings: [reading('e1', 1, 5), reading('e1', 2, 5), reading('e2', 3, 50)], deadLetters: [] }],
    });
    expect(result.duplicateEvents).toBe(1);
    // e1's only value was stored before: e1 keeps its id row with no metrics and publishes nothing.
    expect(result.persisted.map((r) => r.offset)).toEqual([3]);
    const rewrite = source.calls.find((call) => call.sql === batch.SQL.rewriteEventMetrics)!;
    expect(rewrite.binds).toEqual([{ metrics: '[]', tenant_id: T, event_id: 'e1' }]);
    // The tag rule (max 10) fires on 50: the fake holds an open THRESHOLD anomaly of the series
    // (raised by 12), so the trigger updates it, stored again in the same transaction.
    expect(result.anomalies.map((a) => [a.kind, a.id, a.value, a.lastValue, a.occurrences])).toEqual([['THRESHOLD', 7, 12, 50, 2]]);
    const insertReadings = source.calls.find((call) => call.sql === batch.SQL.insertReading)!;
    expect(insertReadings.kind).toBe('executeMany');
    expect(insertReadings.binds.map((row) => row['ts'])).toEqual([1001, 1003]);
    // The update did not escalate it (WARNING either way): no webhook is told again.
    expect(source.calls.filter((call) => call.sql === anomalies.SQL.queueDeliveries)).toHaveLength(0);
    expect(source.commits).toBe(1);
  });

  it('dead-letters readings of a deleted device with two statements per batch, whatever it holds: lock the devices, read the tombstones', async () => {
    const source = new CheckingSource((call) => (call.sql === batch.SQL.deletedDevices ? { rows: [{ TENANT_ID: T, DEVICE_ID: 'gone' }] } : respond(call)));
    const gone = { ...reading('e9', 4, 5), deviceId: 'gone', payload: '{"original":true}' };
    await applyBatch(OracleStore.over(source), {
      source: 'readings',
      partitions: [{ partition: 0, lastOffset: 4, readings: [reading('e1', 1, 5), gone, reading('e2', 2, 5)], deadLetters: [] }],
    });
    const events = source.calls.find((call) => call.sql === batch.SQL.insertEvent)!;
    expect(events.binds.map((row) => row['event_id'])).toEqual(['e1', 'e2']);
    const lock = source.calls.filter((call) => call.sql === batch.SQL.lockBatchDevices);
    const tombstones = source.calls.filter((call) => call.sql === batch.SQL.deletedDevices);
    expect(lock).toHaveLength(1);
    expect(tombstones).toHaveLength(1);
    expect(source.calls.indexOf(lock[0]!)).toBeLessThan(source.calls.indexOf(tombstones[0]!));
    expect(JSON.parse(tombstones[0]!.binds[0]!['devices'] as string)).toEqual([
      [T, 'd1'],
      [T, 'gone'],
    ]);
    const letter = source.calls.find((call) => call.sql === batch.SQL.insertDeadLetter)!;
    expect(letter.binds).toEqual([
      expect.objectContaining({ payload: '{"original":true}', stream_offset: 4, reason: expect.stringMatching(/^DEVICE_DELETED: /) }),
    ]);
  });

  it('locks the anomaly sequencer before every anomaly insert, so transactions with anomalies commit in seq order', async () => {
    const source = new CheckingSource(respond);
    const store = OracleStore.over(source);
    await applyBatch(store, {
      source: 'readings',
      partitions: [{ partition: 0, lastOffset: 2, readings: [reading('e1', 1, 50), reading('e2', 2, 60)], deadLetters: [] }],
    });
    const sqls = source.calls.map((call) => call.sql);
    const inserts = sqls.flatMap((sql, index) => (sql === anomalies.SQL.insertAnomaly ? [index] : []));
    expect(inserts.length).toBeGreaterThanOrEqual(1);
    // (An update deletes the old row between the lock and the insert.)
    for (const index of inserts) expect(sqls[sqls[index - 1] === anomalies.SQL.deleteAnomaly ? index - 2 : index - 1]).toBe(anomalies.SQL.lockSequencer);
    // A batch that finds nothing does not take the lock.
    const before = source.calls.length;
    await applyBatch(store, { source: 'readings', partitions: [{ partition: 0, lastOffset: 3, readings: [reading('e3', 3, 5)], deadLetters: [] }] });
    expect(source.calls.slice(before).map((call) => call.sql)).not.toContain(anomalies.SQL.lockSequencer);
  });

  it('fetches the reads that can return many rows in large batches (series, rollup and raw buckets, raw values, long pages), and only those', async () => {
    const source = new CheckingSource(respond);
    const store = OracleStore.over(source);
    for (const operation of Object.values(OPERATIONS)) await operation(store);
    await store.queryReadings(T, { deviceId: 'd1', metric: 'temp', first: 1000, order: 'NEWEST_FIRST' });
    const always = new Set<string>([queries.SQL.series, queries.SQL.rollupRows, queries.SQL.rawBuckets, queries.SQL.rawValues]);
    const pages = new Set<string>([queries.SQL.readingsNewestFirst, queries.SQL.readingsOldestFirst]);
    const reads = source.calls.filter((call) => call.kind === 'execute');
    const large = reads.filter((call) => always.has(call.sql));
    expect(large.length).toBeGreaterThanOrEqual(4);
    expect(large.filter((call) => !call.bulk)).toEqual([]);
    // A page of readings is bulk only when long (a short one is one round trip anyway).
    expect(reads.filter((call) => pages.has(call.sql)).map((call) => [call.binds[0]!['limit_rows'], call.bulk])).toEqual([
      [11, false],
      [11, false],
      [1001, true],
    ]);
    expect(reads.filter((call) => !always.has(call.sql) && !pages.has(call.sql) && call.bulk)).toEqual([]);
  });

  it('refuses a statement whose binds do not match its placeholders', async () => {
    const source = new CheckingSource();
    await expect(source.transaction((s) => s.execute('SELECT 1 FROM dual WHERE a = :a AND b = :b', { a: 1 }))).rejects.toThrow(/missing b/);
    await expect(source.transaction((s) => s.execute('SELECT 1 FROM dual WHERE a = :a', { a: 1, c: 2 }))).rejects.toThrow(/extra c/);
    await expect(source.transaction((s) => s.execute('SELECT 1 FROM dual WHERE a = :size', { size: 1 }))).rejects.toThrow(/reserved words/);
    await expect(source.transaction((s) => s.execute('SELECT 1 FROM dual;'))).rejects.toThrow(/semicolon/);
    await expect(
      source.transaction((s) => s.executeMany('INSERT INTO t (a) VALUES (:a)', [{ a: 1.5 }], { bindDefs: { a: { type: 'number' } } })),
    ).rejects.toThrow(/integer/);
    expect(placeholders("SELECT ':not_a_bind' FROM dual WHERE x = :real -- :comment")).toEqual(new Set(['real']));
  });

  it('maps every Oracle error it handles to the right typed error', async () => {
    const ora = (errorNum: number) => Object.assign(new Error(`ORA-${String(errorNum).padStart(5, '0')}: x`), { errorNum });
    for (const retryable of [60, 54, 3113, 3114, 3135, 12170, 12514, 12541, 25408, 30006, 1033, 1089])
      expect({ retryable, mapped: isRetryableOracleError(ora(retryable)) }).toEqual({ retryable, mapped: true });
    for (const fatal of [1, 1400, 2291, 2290, 12899, 1438, 942, 904])
      expect({ fatal, mapped: isRetryableOracleError(ora(fatal)) }).toEqual({ fatal, mapped: false });
    for (const code of ['NJS-040', 'NJS-500', 'NJS-503', 'DPI-1080', 'NJS-003'])
      expect(isRetryableOracleError(Object.assign(new Error('x'), { code }))).toBe(true);
    expect(toStoreError(ora(60))).toMatchObject({ retryable: true, message: expect.stringMatching(/ORA-00060/) });
    expect(toStoreError(ora(1400))).toBeInstanceOf(BackendError);

    // A duplicate device id is ALREADY_EXISTS; a lost connection is retryable.
    const failing = (error: Error) =>
      new CheckingSource(() => {
        throw error;
      });
    await expect(OracleStore.over(failing(ora(1))).registerDevice(T, { id: 'd1', name: 'd1', tags: [] })).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    await expect(OracleStore.over(failing(ora(1))).registerDevice(T, { id: 'd1', name: 'd1', tags: [] })).rejects.toBeInstanceOf(TelemetryError);
    await expect(applyBatch(OracleStore.over(failing(ora(3113))), { source: 'readings', partitions: [] })).resolves.toBeDefined();
    await expect(OracleStore.over(failing(ora(3113))).watermarks('readings')).rejects.toMatchObject({ retryable: true });
    await expect(OracleStore.over(failing(Object.assign(new Error('pool queue timeout'), { code: 'NJS-040' }))).tenantExists(T)).rejects.toMatchObject({
      retryable: true,
    });
    // Any other per-row error of a bulk insert fails the batch (it is not a duplicate).
    const badRow = new CheckingSource((call) =>
      call.sql === batch.SQL.insertEvent ? { batchErrors: [{ errorNum: 12899, offset: 0, message: 'ORA-12899: value too large' }] } : undefined,
    );
    await expect(
      applyBatch(OracleStore.over(badRow), {
        source: 'readings',
        partitions: [{ partition: 0, lastOffset: 1, readings: [reading('e1', 1, 5)], deadLetters: [] }],
      }),
    ).rejects.toMatchObject({ retryable: false });
  });

  it('upgrades a schema at version 9 with table compression, then the background removal flag, recording versions 10 and 11 (docs/STORAGE.md)', async () => {
    const source = new CheckingSource((call) => {
      if (call.sql.includes('FROM user_tables')) return { rows: [{ N: 1 }] };
      if (call.sql.startsWith('SELECT version FROM schema_migrations')) return { rows: [1, 2, 3, 4, 5, 6, 7, 8, 9].map((version) => ({ VERSION: version })) };
      return undefined;
    });
    expect(await OracleStore.over(source).migrate()).toBe(11);
    const ddl = source.calls.map((call) => call.sql).filter((sql) => !sql.startsWith('SELECT') && !sql.startsWith('INSERT INTO schema_migrations'));
    expect(ddl).toEqual([
      'ALTER TABLE readings MODIFY DEFAULT ATTRIBUTES ROW STORE COMPRESS ADVANCED',
      'ALTER TABLE rollups ROW STORE COMPRESS ADVANCED',
      'ALTER TABLE reading_events ROW STORE COMPRESS ADVANCED',
      'ALTER TABLE deleted_devices ADD (removing_data NUMBER(1) DEFAULT 0 NOT NULL)',
    ]);
    expect(source.calls.filter((call) => call.sql.startsWith('INSERT INTO schema_migrations')).map((call) => call.binds[0]!['version'])).toEqual([10, 11]);
    expect(source.commits).toBe(1);
  });

  it("deletes a device's bulk data in bounded steps after the delete, and refuses its id meanwhile, rolling the insert back", async () => {
    // The delete: small tables only; the bulk tables are not touched in its transaction.
    let rowsLeft = 1;
    const deleting = new CheckingSource((call) =>
      call.sql === devices.SQL.lockDevice
        ? { rows: [{ STATUS: 'ONLINE', LAST_SEEN_AT: 1 }] }
        : call.sql === devices.SQL.deviceDataLeft
          ? { rows: [{ N: rowsLeft }] }
          : undefined,
    );
    // A device that never sent a reading has nothing to remove: its id is free at once.
    rowsLeft = 0;
    expect(await OracleStore.over(deleting).deleteDevice(T, 'd1', false, 5)).toEqual({ revokedKeyIds: [], removingData: false });
    expect(deleting.calls.find((call) => call.sql.startsWith('MERGE INTO deleted_devices'))?.binds[0]).toMatchObject({ removing_data: 0 });
    deleting.calls.length = 0;
    rowsLeft = 1;
    expect(await OracleStore.over(deleting).deleteDevice(T, 'd1', false, 5)).toEqual({ revokedKeyIds: [], removingData: true });
    const deleted = deleting.calls.filter((call) => call.sql.startsWith('DELETE')).map((call) => call.sql.split(/\s+/)[2]);
    expect(deleted).toEqual(['devices', 'webhook_deliveries', 'anomalies', 'latest_readings', 'detector_state']);
    expect(deleting.calls.find((call) => call.sql.startsWith('MERGE INTO deleted_devices'))?.binds[0]).toMatchObject({ removing_data: 1 });

    // Registering the id while the flag is set: refused, retryable, nothing committed.
    const registering = new CheckingSource((call) => (call.sql.includes('SELECT removing_data') ? { rows: [{ REMOVING_DATA: 1 }] } : undefined));
    await expect(OracleStore.over(registering).registerDevice(T, { id: 'd1', name: 'd1', tags: [] })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      retryable: true,
      details: { reason: 'DEVICE_DATA_REMOVAL' },
    });
    expect([registering.commits, registering.rollbacks]).toEqual([0, 1]);

    // One step: the device claimed (FOR UPDATE SKIP LOCKED: a second remover skips it), each bulk
    // table bounded by ROWNUM; the flag goes only when every table gave fewer rows than asked AND
    // none of the device's rows is left (rows another deleter took meanwhile are not "done").
    const affected: Record<string, number> = { readings: 1000, rollups: 10, reading_events: 1000 };
    let left = 0;
    const stepping = new CheckingSource((call) => {
      if (call.sql === devices.SQL.deviceRemovingData) return { rows: [{ TENANT_ID: T, DEVICE_ID: 'd1' }] };
      if (call.sql === devices.SQL.deviceDataLeft) return { rows: [{ N: left }] };
      const table = call.sql.startsWith('DELETE FROM') ? call.sql.split(/\s+/)[2]! : undefined;
      return table && table in affected ? { rows: [], rowsAffected: affected[table] } : undefined;
    });
    expect(await OracleStore.over(stepping).removeDeletedDeviceData(1000)).toEqual({ removedRows: 2010, more: true });
    expect(stepping.calls.filter((call) => call.sql.startsWith('DELETE')).every((call) => call.sql.endsWith('AND ROWNUM <= :limit_rows'))).toBe(true);
    expect(stepping.calls.some((call) => call.sql.startsWith('UPDATE deleted_devices SET removing_data = 0'))).toBe(false);
    expect(devices.SQL.deviceRemovingData).toMatch(/FOR UPDATE SKIP LOCKED$/);
    affected['readings'] = affected['reading_events'] = 3;
    left = 1;
    const short = new CheckingSource(stepping['respond' as never]);
    expect(await OracleStore.over(short).removeDeletedDeviceData(1000)).toEqual({ removedRows: 16, more: true });
    expect(short.calls.some((call) => call.sql.startsWith('UPDATE deleted_devices SET removing_data = 0'))).toBe(false);
    left = 0;
    const last = new CheckingSource(stepping['respond' as never]);
    expect(await OracleStore.over(last).removeDeletedDeviceData(1000)).toMatchObject({ removedRows: 16 });
    expect(last.calls.some((call) => call.sql.startsWith('UPDATE deleted_devices SET removing_data = 0'))).toBe(true);
  });

  it('keeps its DDL executable statement by statement', () => {
    for (const statement of ORACLE_MIGRATIONS.flatMap((m) => m.statements)) {
      expect(statement.trim()).not.toMatch(/;$/);
      expect(placeholders(statement).size).toBe(0);
    }
    const readings = ORACLE_MIGRATIONS[0]!.statements.find((s) => s.includes('CREATE TABLE readings'))!;
    expect(readings).toMatch(/PARTITION BY RANGE \(ts\) INTERVAL \(86400000\)/);
    expect(readings).toMatch(/USING INDEX LOCAL/);
  });
});
