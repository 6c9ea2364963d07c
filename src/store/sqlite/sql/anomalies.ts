import type Database from 'better-sqlite3';
import { SEVERITY_RANK, type Anomaly, type AnomalyTransition } from '../../../domain/anomalies/anomaly';
import type { AnomalyRule } from '../../../domain/anomalies/rules';
import { transitioned } from '../../../domain/anomalies/transition';
import type { AnomalyFilter } from '../../ports/anomaly-store';
import type { Page, PageRequest } from '../../../domain/page';
import { ANOMALY_COLUMNS, RULE_COLUMNS, scopeValue, storeAnomaly, toAnomaly, toRule, type AnomalyRow, type RuleRow } from './anomaly-rows';

/** SQLite statements for anomaly rules and the anomaly lifecycle (outside the batch path). */

export function putAnomalyRule(db: Database.Database, rule: AnomalyRule): AnomalyRule {
  const row = db
    .prepare(
      `INSERT INTO anomaly_rules (${RULE_COLUMNS}) VALUES (@tenantId, @id, @scopeKind, @scopeValue, @metric, @zThreshold, @zWindow, @zWarmup, @min, @max, @maxRate, @severity, @updatedAt, @clearAfterMs)
       ON CONFLICT (tenant_id, scope_kind, scope_value, metric) DO UPDATE SET
         zscore_threshold = excluded.zscore_threshold, zscore_window = excluded.zscore_window, zscore_warmup = excluded.zscore_warmup,
         min_value = excluded.min_value, max_value = excluded.max_value, max_rate_per_second = excluded.max_rate_per_second,
         severity = excluded.severity, updated_at = excluded.updated_at, clear_after_ms = excluded.clear_after_ms
       RETURNING ${RULE_COLUMNS}`,
    )
    .get({
      tenantId: rule.tenantId,
      id: rule.id,
      scopeKind: rule.scope.kind,
      scopeValue: scopeValue(rule.scope),
      metric: rule.metric,
      zThreshold: rule.zScore?.threshold ?? null,
      zWindow: rule.zScore?.window ?? null,
      zWarmup: rule.zScore?.warmup ?? null,
      min: rule.min,
      max: rule.max,
      maxRate: rule.maxRatePerSecond,
      severity: rule.severity,
      updatedAt: rule.updatedAt,
      clearAfterMs: rule.clearAfterMs,
    }) as RuleRow;
  return toRule(row);
}

export function listAnomalyRules(db: Database.Database, tenantId: string): AnomalyRule[] {
  return (db.prepare(`SELECT ${RULE_COLUMNS} FROM anomaly_rules WHERE tenant_id = ? ORDER BY scope_kind, scope_value, metric`).all(tenantId) as RuleRow[]).map(
    toRule,
  );
}

export function deleteAnomalyRule(db: Database.Database, tenantId: string, id: string): boolean {
  return db.prepare('DELETE FROM anomaly_rules WHERE tenant_id = ? AND id = ?').run(tenantId, id).changes > 0;
}

export function listAnomalies(db: Database.Database, tenantId: string, filter: AnomalyFilter, page: PageRequest): Page<Anomaly> {
  const rows = db
    .prepare(
      `SELECT ${ANOMALY_COLUMNS} FROM anomalies
       WHERE tenant_id = @tenantId
         AND (@after IS NULL OR seq < @after)
         AND (@deviceId IS NULL OR device_id = @deviceId)
         AND (@status IS NULL OR status = @status)
         AND (@kind IS NULL OR kind = @kind)
         AND (CASE severity WHEN 'INFO' THEN 0 WHEN 'WARNING' THEN 1 ELSE 2 END) >= @minRank
       ORDER BY seq DESC LIMIT @limit`,
    )
    .all({
      tenantId,
      after: page.afterKey === undefined ? null : Number(page.afterKey),
      deviceId: filter.deviceId ?? null,
      status: filter.status ?? null,
      kind: filter.kind ?? null,
      minRank: filter.minSeverity ? SEVERITY_RANK[filter.minSeverity] : 0,
      limit: page.first + 1,
    }) as AnomalyRow[];
  return { items: rows.slice(0, page.first).map(toAnomaly), hasMore: rows.length > page.first };
}

export function anomaliesAfter(db: Database.Database, tenantId: string, afterSeq: number, limit: number): Anomaly[] {
  return (
    db.prepare(`SELECT ${ANOMALY_COLUMNS} FROM anomalies WHERE tenant_id = ? AND seq > ? ORDER BY seq LIMIT ?`).all(tenantId, afterSeq, limit) as AnomalyRow[]
  ).map(toAnomaly);
}

export function anomaliesOfAllTenantsAfter(db: Database.Database, afterSeq: number, limit: number): Anomaly[] {
  return (db.prepare(`SELECT ${ANOMALY_COLUMNS} FROM anomalies WHERE seq > ? ORDER BY seq LIMIT ?`).all(afterSeq, limit) as AnomalyRow[]).map(toAnomaly);
}

export function lastAnomalySeq(db: Database.Database): number {
  return (db.prepare('SELECT coalesce(max(seq), 0) AS seq FROM anomalies').get() as { seq: number }).seq;
}

/** Stores the anomaly after the transition under a new seq (inside the caller's transaction). */
export function transitionAnomaly(db: Database.Database, tenantId: string, id: number, transition: AnomalyTransition): Anomaly | undefined {
  const row = db.prepare(`SELECT ${ANOMALY_COLUMNS} FROM anomalies WHERE tenant_id = ? AND id = ?`).get(tenantId, id) as AnomalyRow | undefined;
  if (!row) return undefined;
  return storeAnomaly(db, transitioned(toAnomaly(row), transition), transition.at);
}
