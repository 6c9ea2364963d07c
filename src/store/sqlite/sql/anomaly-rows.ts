import type Database from 'better-sqlite3';
import { SEVERITY_RANK, type Anomaly, type AnomalyKind, type AnomalyStatus, type NewAnomaly, type Severity } from '../../../domain/anomalies/anomaly';
import { scopeFromColumns, zScoreFromColumns, type AnomalyRule, type RuleScope } from '../../../domain/anomalies/rules';

/** Row mapping and the INSERT for anomalies and rules (shared by the batch and the queries). */

export const ANOMALY_COLUMNS =
  'seq, tenant_id, device_id, metric, kind, severity, score, value, expected_min, expected_max, ts, detected_at, status, acknowledged_by, acknowledged_at, resolved_by, resolved_at';

export interface AnomalyRow {
  seq: number;
  tenant_id: string;
  device_id: string;
  metric: string | null;
  kind: AnomalyKind;
  severity: Severity;
  score: number;
  value: number | null;
  expected_min: number | null;
  expected_max: number | null;
  ts: number;
  detected_at: number;
  status: AnomalyStatus;
  acknowledged_by: string | null;
  acknowledged_at: number | null;
  resolved_by: string | null;
  resolved_at: number | null;
}

export const toAnomaly = (row: AnomalyRow): Anomaly => ({
  seq: row.seq,
  tenantId: row.tenant_id,
  deviceId: row.device_id,
  metric: row.metric,
  kind: row.kind,
  severity: row.severity,
  score: row.score,
  value: row.value,
  expectedMin: row.expected_min,
  expectedMax: row.expected_max,
  timestamp: row.ts,
  detectedAt: row.detected_at,
  status: row.status,
  acknowledgedBy: row.acknowledged_by,
  acknowledgedAt: row.acknowledged_at,
  resolvedBy: row.resolved_by,
  resolvedAt: row.resolved_at,
});

/**
 * Inserts one anomaly (inside the caller's transaction) and returns it with its seq. Queues a
 * delivery for every webhook of the tenant whose minimum severity it reaches, in the same
 * transaction: an anomaly is never stored without its notifications, nor notified unstored.
 */
export function insertAnomaly(db: Database.Database, anomaly: NewAnomaly): Anomaly {
  const row = db
    .prepare(
      `INSERT INTO anomalies (tenant_id, device_id, metric, kind, severity, score, value, expected_min, expected_max, ts, detected_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${ANOMALY_COLUMNS}`,
    )
    .get(
      anomaly.tenantId,
      anomaly.deviceId,
      anomaly.metric,
      anomaly.kind,
      anomaly.severity,
      anomaly.score,
      anomaly.value,
      anomaly.expectedMin,
      anomaly.expectedMax,
      anomaly.timestamp,
      anomaly.detectedAt,
    ) as AnomalyRow;
  db.prepare(
    `INSERT INTO webhook_deliveries (tenant_id, webhook_id, anomaly_seq, next_attempt_at, created_at)
     SELECT tenant_id, id, ?, ?, ? FROM webhooks
     WHERE tenant_id = ? AND (CASE min_severity WHEN 'INFO' THEN 0 WHEN 'WARNING' THEN 1 ELSE 2 END) <= ?`,
  ).run(row.seq, anomaly.detectedAt, anomaly.detectedAt, anomaly.tenantId, SEVERITY_RANK[anomaly.severity]);
  return toAnomaly(row);
}

export const RULE_COLUMNS =
  'tenant_id, id, scope_kind, scope_value, metric, zscore_threshold, zscore_window, zscore_warmup, min_value, max_value, max_rate_per_second, severity, updated_at';

export interface RuleRow {
  tenant_id: string;
  id: string;
  scope_kind: RuleScope['kind'];
  scope_value: string;
  metric: string;
  zscore_threshold: number | null;
  zscore_window: number | null;
  zscore_warmup: number | null;
  min_value: number | null;
  max_value: number | null;
  max_rate_per_second: number | null;
  severity: Severity;
  updated_at: number;
}

export const toRule = (row: RuleRow): AnomalyRule => ({
  id: row.id,
  tenantId: row.tenant_id,
  scope: scopeFromColumns(row.scope_kind, row.scope_value),
  metric: row.metric,
  zScore: zScoreFromColumns(row.zscore_threshold, row.zscore_window, row.zscore_warmup),
  min: row.min_value,
  max: row.max_value,
  maxRatePerSecond: row.max_rate_per_second,
  severity: row.severity,
  updatedAt: row.updated_at,
});

export const scopeValue = (scope: RuleScope): string => (scope.kind === 'device' ? scope.deviceId : scope.kind === 'tag' ? scope.tag : '');
