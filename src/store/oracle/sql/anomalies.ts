import {
  SEVERITY_RANK,
  type Anomaly,
  type AnomalyKind,
  type AnomalyStatus,
  type AnomalyRecord,
  type Severity,
  type AnomalyTransition,
} from '../../../domain/anomalies/anomaly';
import { scopeFromColumns, zScoreFromColumns, type AnomalyRule, type RuleScope } from '../../../domain/anomalies/rules';
import { transitioned } from '../../../domain/anomalies/transition';
import type { AnomalyFilter } from '../../ports/anomaly-store';
import type { Page, PageRequest } from '../../../domain/page';
import type { Session } from '../session';

/** Anomaly rules, anomalies with their lifecycle, and the webhook outbox rows they queue. */

const ANOMALY_COLUMNS =
  'seq, id, tenant_id, device_id, metric, kind, severity, score, value, expected_min, expected_max, ts, detected_at, status, acknowledged_by, acknowledged_at, resolved_by, resolved_at, occurrences, last_value, last_ts';

interface AnomalyRow {
  SEQ: number;
  ID: number;
  TENANT_ID: string;
  DEVICE_ID: string;
  METRIC: string | null;
  KIND: AnomalyKind;
  SEVERITY: Severity;
  SCORE: number;
  VALUE: number | null;
  EXPECTED_MIN: number | null;
  EXPECTED_MAX: number | null;
  TS: number;
  DETECTED_AT: number;
  STATUS: AnomalyStatus;
  ACKNOWLEDGED_BY: string | null;
  ACKNOWLEDGED_AT: number | null;
  RESOLVED_BY: string | null;
  RESOLVED_AT: number | null;
  OCCURRENCES: number;
  LAST_VALUE: number | null;
  LAST_TS: number;
}

export const toAnomaly = (row: AnomalyRow): Anomaly => ({
  seq: row.SEQ,
  id: row.ID,
  tenantId: row.TENANT_ID,
  deviceId: row.DEVICE_ID,
  metric: row.METRIC,
  kind: row.KIND,
  severity: row.SEVERITY,
  score: row.SCORE,
  value: row.VALUE,
  expectedMin: row.EXPECTED_MIN,
  expectedMax: row.EXPECTED_MAX,
  timestamp: row.TS,
  detectedAt: row.DETECTED_AT,
  status: row.STATUS,
  acknowledgedBy: row.ACKNOWLEDGED_BY,
  acknowledgedAt: row.ACKNOWLEDGED_AT,
  resolvedBy: row.RESOLVED_BY,
  resolvedAt: row.RESOLVED_AT,
  occurrences: row.OCCURRENCES,
  lastValue: row.LAST_VALUE,
  lastTimestamp: row.LAST_TS,
});

const RULE_COLUMNS =
  'tenant_id, id, scope_kind, scope_value, metric, zscore_threshold, zscore_window, zscore_warmup, min_value, max_value, max_rate_per_second, severity, updated_at, clear_after_ms';

interface RuleRow {
  TENANT_ID: string;
  ID: string;
  SCOPE_KIND: RuleScope['kind'];
  SCOPE_VALUE: string;
  METRIC: string;
  ZSCORE_THRESHOLD: number | null;
  ZSCORE_WINDOW: number | null;
  ZSCORE_WARMUP: number | null;
  MIN_VALUE: number | null;
  MAX_VALUE: number | null;
  MAX_RATE_PER_SECOND: number | null;
  SEVERITY: Severity;
  UPDATED_AT: number;
  CLEAR_AFTER_MS: number | null;
}

const toRule = (row: RuleRow): AnomalyRule => ({
  id: row.ID,
  tenantId: row.TENANT_ID,
  // Oracle stores '' as NULL: the tenant scope's empty scope value is kept as '-'.
  scope: scopeFromColumns(row.SCOPE_KIND, row.SCOPE_VALUE),
  metric: row.METRIC,
  zScore: zScoreFromColumns(row.ZSCORE_THRESHOLD, row.ZSCORE_WINDOW, row.ZSCORE_WARMUP),
  min: row.MIN_VALUE,
  max: row.MAX_VALUE,
  maxRatePerSecond: row.MAX_RATE_PER_SECOND,
  severity: row.SEVERITY,
  updatedAt: row.UPDATED_AT,
  clearAfterMs: row.CLEAR_AFTER_MS,
});

const scopeValue = (scope: RuleScope): string => (scope.kind === 'device' ? scope.deviceId : scope.kind === 'tag' ? scope.tag : '-');

const SEVERITY_RANK_SQL = "CASE severity WHEN 'INFO' THEN 0 WHEN 'WARNING' THEN 1 ELSE 2 END";

export const SQL = {
  lockSequencer: 'SELECT id FROM anomaly_sequencer WHERE id = 1 FOR UPDATE',
  deleteAnomaly: 'DELETE FROM anomalies WHERE id = :id',
  insertAnomaly: `INSERT INTO anomalies (id, tenant_id, device_id, metric, kind, severity, score, value, expected_min, expected_max, ts, detected_at,
                    status, acknowledged_by, acknowledged_at, resolved_by, resolved_at, occurrences, last_value, last_ts)
                  VALUES (:id, :tenant_id, :device_id, :metric, :kind, :severity, :score, :value, :expected_min, :expected_max, :ts, :detected_at,
                    :status, :acknowledged_by, :acknowledged_at, :resolved_by, :resolved_at, :occurrences, :last_value, :last_ts)
                  RETURNING seq INTO :seq`,
  identifyNew: 'UPDATE anomalies SET id = seq WHERE seq = :seq',
  // anomaly_seq holds the anomaly's id; NOT EXISTS: a webhook hears of an anomaly once.
  queueDeliveries: `INSERT INTO webhook_deliveries (tenant_id, webhook_id, anomaly_seq, next_attempt_at, created_at)
                    SELECT w.tenant_id, w.id, :anomaly_id, :at, :at FROM webhooks w
                    WHERE w.tenant_id = :tenant_id AND (CASE w.min_severity WHEN 'INFO' THEN 0 WHEN 'WARNING' THEN 1 ELSE 2 END) <= :severity_rank
                      AND (w.kinds IS NULL OR EXISTS (SELECT 1 FROM JSON_TABLE(w.kinds, '$[*]' COLUMNS (value VARCHAR2(64) PATH '$')) k WHERE k.value = :anomaly_kind))
                      AND (w.tags IS NULL OR EXISTS (SELECT 1 FROM JSON_TABLE(w.tags, '$[*]' COLUMNS (value VARCHAR2(256) PATH '$')) t, devices dv,
                                                       JSON_TABLE(dv.tags, '$[*]' COLUMNS (value VARCHAR2(256) PATH '$')) dt
                                                     WHERE dv.tenant_id = w.tenant_id AND dv.id = :device_id AND dt.value = t.value))
                      AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.anomaly_seq = :anomaly_id)`,
  // FOR UPDATE: a key acknowledging or resolving one of them waits for the batch, which stores
  // it again from what it read here (else the batch would undo the key's transition).
  openOfSeries: `SELECT ${ANOMALY_COLUMNS} FROM anomalies
                 WHERE tenant_id = :tenant_id AND device_id = :device_id AND metric = :metric AND status <> 'RESOLVED' ORDER BY seq FOR UPDATE`,
  mergeRule: `MERGE INTO anomaly_rules r
              USING (SELECT :tenant_id AS tenant_id, :scope_kind AS scope_kind, :scope_value AS scope_value, :metric AS metric FROM dual) s
              ON (r.tenant_id = s.tenant_id AND r.scope_kind = s.scope_kind AND r.scope_value = s.scope_value AND r.metric = s.metric)
              WHEN MATCHED THEN UPDATE SET zscore_threshold = :z_threshold, zscore_window = :z_window, zscore_warmup = :z_warmup,
                min_value = :min_value, max_value = :max_value, max_rate_per_second = :max_rate, severity = :severity, updated_at = :updated_at,
                clear_after_ms = :clear_after_ms
              WHEN NOT MATCHED THEN INSERT (tenant_id, id, scope_kind, scope_value, metric, zscore_threshold, zscore_window, zscore_warmup, min_value, max_value, max_rate_per_second, severity, updated_at, clear_after_ms)
                VALUES (:tenant_id, :id, :scope_kind, :scope_value, :metric, :z_threshold, :z_window, :z_warmup, :min_value, :max_value, :max_rate, :severity, :updated_at, :clear_after_ms)`,
  ruleByScope: `SELECT ${RULE_COLUMNS} FROM anomaly_rules WHERE tenant_id = :tenant_id AND scope_kind = :scope_kind AND scope_value = :scope_value AND metric = :metric`,
  listRules: `SELECT ${RULE_COLUMNS} FROM anomaly_rules WHERE tenant_id = :tenant_id ORDER BY scope_kind, scope_value, metric`,
  deleteRule: 'DELETE FROM anomaly_rules WHERE tenant_id = :tenant_id AND id = :id',
  listAnomalies: `SELECT ${ANOMALY_COLUMNS} FROM anomalies
                  WHERE tenant_id = :tenant_id
                    AND (:after_seq IS NULL OR seq < :after_seq)
                    AND (:device_id IS NULL OR device_id = :device_id)
                    AND (:status IS NULL OR status = :status)
                    AND (:kind IS NULL OR kind = :kind)
                    AND ${SEVERITY_RANK_SQL} >= :min_rank
                  ORDER BY seq DESC FETCH FIRST :limit_rows ROWS ONLY`,
  anomaliesAfter: `SELECT ${ANOMALY_COLUMNS} FROM anomalies WHERE tenant_id = :tenant_id AND seq > :after_seq ORDER BY seq FETCH FIRST :limit_rows ROWS ONLY`,
  anomaliesOfAllTenantsAfter: `SELECT ${ANOMALY_COLUMNS} FROM anomalies WHERE seq > :after_seq ORDER BY seq FETCH FIRST :limit_rows ROWS ONLY`,
  lastSeq: 'SELECT NVL(MAX(seq), 0) AS seq FROM anomalies',
  anomalyForUpdate: `SELECT ${ANOMALY_COLUMNS} FROM anomalies WHERE tenant_id = :tenant_id AND id = :id FOR UPDATE`,
  anomalyById: `SELECT ${ANOMALY_COLUMNS} FROM anomalies WHERE id = :id`,
  rulesOfTenant: `SELECT ${RULE_COLUMNS} FROM anomaly_rules WHERE tenant_id = :tenant_id`,
  tagsOfDevice: 'SELECT tags FROM devices WHERE tenant_id = :tenant_id AND id = :id',
  readState: 'SELECT state FROM detector_state WHERE tenant_id = :tenant_id AND device_id = :device_id AND metric = :metric',
  mergeState: `MERGE INTO detector_state d
               USING (SELECT :tenant_id AS tenant_id, :device_id AS device_id, :metric AS metric FROM dual) s
               ON (d.tenant_id = s.tenant_id AND d.device_id = s.device_id AND d.metric = s.metric)
               WHEN MATCHED THEN UPDATE SET state = :state
               WHEN NOT MATCHED THEN INSERT (tenant_id, device_id, metric, state) VALUES (:tenant_id, :device_id, :metric, :state)`,
} as const;

/**
 * Stores an anomaly under a new seq and queues its webhook deliveries, in the caller's
 * transaction; `at` stamps the deliveries. New (no id): its id is its seq, and every webhook
 * whose minimum it reaches gets a delivery. Changed (an id): the row of that id is replaced,
 * and when `escalated` the webhooks it newly reaches get one. The transaction first takes the
 * anomaly_sequencer row lock and keeps it until it ends, so transactions that store anomalies
 * commit one after another, in seq order: subscribers and webhooks that resume "after seq N"
 * never skip an anomaly committed late. (Locking a row the transaction already holds costs
 * one round trip and nothing else.)
 */
export async function storeAnomaly(session: Session, anomaly: AnomalyRecord, at: number, escalated = false): Promise<Anomaly> {
  await session.execute(SQL.lockSequencer);
  if (anomaly.id !== undefined) await session.execute(SQL.deleteAnomaly, { id: anomaly.id });
  const result = await session.execute(SQL.insertAnomaly, {
    id: anomaly.id ?? null,
    tenant_id: anomaly.tenantId,
    device_id: anomaly.deviceId,
    metric: anomaly.metric,
    kind: anomaly.kind,
    severity: anomaly.severity,
    score: anomaly.score,
    value: anomaly.value,
    expected_min: anomaly.expectedMin,
    expected_max: anomaly.expectedMax,
    ts: anomaly.timestamp,
    detected_at: anomaly.detectedAt,
    status: anomaly.status,
    acknowledged_by: anomaly.acknowledgedBy,
    acknowledged_at: anomaly.acknowledgedAt,
    resolved_by: anomaly.resolvedBy,
    resolved_at: anomaly.resolvedAt,
    occurrences: anomaly.occurrences,
    last_value: anomaly.lastValue,
    last_ts: anomaly.lastTimestamp,
    seq: { dir: 'out', type: 'number' },
  });
  const seq = Number((result.outBinds as { seq: number[] }).seq[0]);
  if (anomaly.id === undefined) await session.execute(SQL.identifyNew, { seq });
  const id = anomaly.id ?? seq;
  if (anomaly.id === undefined || escalated)
    await session.execute(SQL.queueDeliveries, {
      anomaly_id: id,
      at,
      tenant_id: anomaly.tenantId,
      severity_rank: SEVERITY_RANK[anomaly.severity],
      anomaly_kind: anomaly.kind,
      device_id: anomaly.deviceId,
    });
  return { ...anomaly, seq, id };
}

/** Each series' anomalies that are OPEN or ACKNOWLEDGED. */
export async function openOfSeries(session: Session, tenantId: string, deviceId: string, metric: string): Promise<Anomaly[]> {
  return ((await session.execute<AnomalyRow>(SQL.openOfSeries, { tenant_id: tenantId, device_id: deviceId, metric })).rows ?? []).map(toAnomaly);
}

export async function putRule(session: Session, rule: AnomalyRule): Promise<AnomalyRule> {
  const scope = { tenant_id: rule.tenantId, scope_kind: rule.scope.kind, scope_value: scopeValue(rule.scope), metric: rule.metric };
  await session.execute(SQL.mergeRule, {
    ...scope,
    id: rule.id,
    z_threshold: rule.zScore?.threshold ?? null,
    z_window: rule.zScore?.window ?? null,
    z_warmup: rule.zScore?.warmup ?? null,
    min_value: rule.min,
    max_value: rule.max,
    max_rate: rule.maxRatePerSecond,
    severity: rule.severity,
    updated_at: rule.updatedAt,
    clear_after_ms: rule.clearAfterMs,
  });
  const [row] = (await session.execute<RuleRow>(SQL.ruleByScope, scope)).rows ?? [];
  return toRule(row!);
}

export async function listRules(session: Session, tenantId: string): Promise<AnomalyRule[]> {
  return ((await session.execute<RuleRow>(SQL.listRules, { tenant_id: tenantId })).rows ?? []).map(toRule);
}

export async function rulesOfTenant(session: Session, tenantId: string): Promise<AnomalyRule[]> {
  return ((await session.execute<RuleRow>(SQL.rulesOfTenant, { tenant_id: tenantId })).rows ?? []).map(toRule);
}

export async function deleteRule(session: Session, tenantId: string, id: string): Promise<boolean> {
  return ((await session.execute(SQL.deleteRule, { tenant_id: tenantId, id })).rowsAffected ?? 0) > 0;
}

export async function listAnomalies(session: Session, tenantId: string, filter: AnomalyFilter, page: PageRequest): Promise<Page<Anomaly>> {
  const rows =
    (
      await session.execute<AnomalyRow>(SQL.listAnomalies, {
        tenant_id: tenantId,
        after_seq: page.afterKey === undefined ? null : Number(page.afterKey),
        device_id: filter.deviceId ?? null,
        status: filter.status ?? null,
        kind: filter.kind ?? null,
        min_rank: filter.minSeverity ? SEVERITY_RANK[filter.minSeverity] : 0,
        limit_rows: page.first + 1,
      })
    ).rows ?? [];
  return { items: rows.slice(0, page.first).map(toAnomaly), hasMore: rows.length > page.first };
}

export async function anomaliesAfter(session: Session, tenantId: string | undefined, afterSeq: number, limit: number): Promise<Anomaly[]> {
  const rows =
    tenantId === undefined
      ? (await session.execute<AnomalyRow>(SQL.anomaliesOfAllTenantsAfter, { after_seq: afterSeq, limit_rows: limit })).rows
      : (await session.execute<AnomalyRow>(SQL.anomaliesAfter, { tenant_id: tenantId, after_seq: afterSeq, limit_rows: limit })).rows;
  return (rows ?? []).map(toAnomaly);
}

export async function lastSeq(session: Session): Promise<number> {
  return (await session.execute<{ SEQ: number }>(SQL.lastSeq)).rows?.[0]?.SEQ ?? 0;
}

/** Stores the anomaly after the transition under a new seq; its row stays locked from the read to the write. */
export async function transition(session: Session, tenantId: string, id: number, change: AnomalyTransition): Promise<Anomaly | undefined> {
  const [row] = (await session.execute<AnomalyRow>(SQL.anomalyForUpdate, { tenant_id: tenantId, id })).rows ?? [];
  if (!row) return undefined;
  return storeAnomaly(session, transitioned(toAnomaly(row), change), change.at);
}

export async function deviceTags(session: Session, tenantId: string, deviceId: string): Promise<Set<string>> {
  const [row] = (await session.execute<{ TAGS: string }>(SQL.tagsOfDevice, { tenant_id: tenantId, id: deviceId })).rows ?? [];
  return new Set(row ? (JSON.parse(row.TAGS) as string[]) : []);
}

export async function readState(session: Session, tenantId: string, deviceId: string, metric: string): Promise<string | undefined> {
  return (await session.execute<{ STATE: string }>(SQL.readState, { tenant_id: tenantId, device_id: deviceId, metric })).rows?.[0]?.STATE;
}

export async function writeState(session: Session, tenantId: string, deviceId: string, metric: string, state: string): Promise<void> {
  await session.execute(SQL.mergeState, { tenant_id: tenantId, device_id: deviceId, metric, state });
}
