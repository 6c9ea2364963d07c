import type Database from 'better-sqlite3';
import { SEVERITY_RANK, type Anomaly, type AnomalyKind, type AnomalyRecord, type AnomalyStatus, type Severity } from '../../../domain/anomalies/anomaly';
import { scopeFromColumns, zScoreFromColumns, type AnomalyRule, type RuleScope } from '../../../domain/anomalies/rules';

/** Row mapping and the INSERT for anomalies and rules (shared by the batch and the queries). */

export const ANOMALY_COLUMNS =
  'seq, id, tenant_id, device_id, metric, kind, severity, score, value, expected_min, expected_max, ts, detected_at, status, acknowledged_by, acknowledged_at, resolved_by, resolved_at, occurrences, last_value, last_ts';

export interface AnomalyRow {
  seq: number;
  id: number;
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
  occurrences: number;
  last_value: number | null;
  last_ts: number;
}

export const toAnomaly = (row: AnomalyRow): Anomaly => ({
  seq: row.seq,
  id: row.id,
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
  occurrences: row.occurrences,
  lastValue: row.last_value,
  lastTimestamp: row.last_ts,
});

/**
 * Stores one anomaly under a new seq (inside the caller's transaction) and returns it; `at` stamps its deliveries. New (no
 * id): its id is its seq, and a delivery is queued for every webhook of the tenant whose
 * minimum severity it reaches. Changed (an id): the row of that id is replaced, and when
 * `escalated` the webhooks it newly reaches get a delivery (ON CONFLICT: one per webhook and
 * anomaly). Deliveries are written in the same transaction: an anomaly is never stored
 * without its notifications, nor notified unstored.
 */
export function storeAnomaly(db: Database.Database, anomaly: AnomalyRecord, at: number, escalated = false): Anomaly {
  if (anomaly.id !== undefined) db.prepare('DELETE FROM anomalies WHERE id = ?').run(anomaly.id);
  const inserted = db
    .prepare(
      `INSERT INTO anomalies (id, tenant_id, device_id, metric, kind, severity, score, value, expected_min, expected_max, ts, detected_at,
         status, acknowledged_by, acknowledged_at, resolved_by, resolved_at, occurrences, last_value, last_ts)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
    )
    .pluck()
    .get(
      anomaly.id ?? null,
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
      anomaly.status,
      anomaly.acknowledgedBy,
      anomaly.acknowledgedAt,
      anomaly.resolvedBy,
      anomaly.resolvedAt,
      anomaly.occurrences,
      anomaly.lastValue,
      anomaly.lastTimestamp,
    ) as number;
  // A new anomaly's id is the seq it was first stored with.
  if (anomaly.id === undefined) db.prepare('UPDATE anomalies SET id = seq WHERE seq = ?').run(inserted);
  const id = anomaly.id ?? inserted;
  if (anomaly.id === undefined || escalated) {
    db.prepare(
      `INSERT INTO webhook_deliveries (tenant_id, webhook_id, anomaly_seq, next_attempt_at, created_at)
       SELECT w.tenant_id, w.id, ?, ?, ? FROM webhooks w
       WHERE w.tenant_id = ? AND (CASE w.min_severity WHEN 'INFO' THEN 0 WHEN 'WARNING' THEN 1 ELSE 2 END) <= ?
         AND (w.kinds IS NULL OR EXISTS (SELECT 1 FROM json_each(w.kinds) k WHERE k.value = ?))
         AND (w.tags IS NULL OR EXISTS (SELECT 1 FROM json_each(w.tags) t, devices d, json_each(d.tags) dt
                                        WHERE d.tenant_id = w.tenant_id AND d.id = ? AND dt.value = t.value))
       ON CONFLICT (webhook_id, anomaly_seq) DO NOTHING`,
    ).run(id, at, at, anomaly.tenantId, SEVERITY_RANK[anomaly.severity], anomaly.kind, anomaly.deviceId);
  }
  return { ...anomaly, seq: inserted, id };
}

export const RULE_COLUMNS =
  'tenant_id, id, scope_kind, scope_value, metric, zscore_threshold, zscore_window, zscore_warmup, min_value, max_value, max_rate_per_second, severity, updated_at, clear_after_ms';

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
  clear_after_ms: number | null;
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
  clearAfterMs: row.clear_after_ms,
});

export const scopeValue = (scope: RuleScope): string => (scope.kind === 'device' ? scope.deviceId : scope.kind === 'tag' ? scope.tag : '');
