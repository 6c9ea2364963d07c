import type Database from 'better-sqlite3';
import type { Anomaly } from '../../domain/anomalies/anomaly';
import { detectBatch, groupSeries, type DetectedValue } from '../../domain/anomalies/batch-detection';
import type { DetectorState } from '../../domain/anomalies/detector';
import { resolveDetection, type AnomalyRule } from '../../domain/anomalies/rules';
import { insertAnomaly, RULE_COLUMNS, toRule, type RuleRow } from './anomaly-rows';

export type { DetectedValue } from '../../domain/anomalies/batch-detection';

/**
 * Runs anomaly detection over the values a batch stored (grouped by series, as the batch
 * sorts them), inside its transaction: loads each series' state and the tenant's rules, judges
 * the values (domain/anomalies/batch-detection.ts), then writes the new states and the
 * anomalies. A crash rolls all of it back with the batch; a replay is skipped by the
 * watermark; so every value is judged exactly once.
 */
export function detectInTransaction(db: Database.Database, values: readonly DetectedValue[], detectedAt: number): Anomaly[] {
  if (values.length === 0) return [];
  const readState = db.prepare('SELECT state FROM detector_state WHERE tenant_id = ? AND device_id = ? AND metric = ?');
  const writeState = db.prepare(
    'INSERT INTO detector_state (tenant_id, device_id, metric, state) VALUES (?, ?, ?, ?) ON CONFLICT (tenant_id, device_id, metric) DO UPDATE SET state = excluded.state',
  );
  const rules = new Map<string, AnomalyRule[]>();
  const rulesOf = (tenantId: string) => {
    if (!rules.has(tenantId)) rules.set(tenantId, (db.prepare(`SELECT ${RULE_COLUMNS} FROM anomaly_rules WHERE tenant_id = ?`).all(tenantId) as RuleRow[]).map(toRule));
    return rules.get(tenantId)!;
  };
  const tagsOf = (tenantId: string, deviceId: string) => {
    const row = db.prepare('SELECT tags FROM devices WHERE tenant_id = ? AND id = ?').get(tenantId, deviceId) as { tags: string } | undefined;
    return new Set(row ? (JSON.parse(row.tags) as string[]) : []);
  };

  const { states, findings } = detectBatch(
    groupSeries(values),
    (series) => {
      const tenantRules = rulesOf(series.tenantId);
      const tags = tenantRules.some((rule) => rule.scope.kind === 'tag') ? tagsOf(series.tenantId, series.deviceId) : new Set<string>();
      return resolveDetection(tenantRules, series.deviceId, tags, series.metric);
    },
    (series) => {
      const stored = readState.get(series.tenantId, series.deviceId, series.metric) as { state: string } | undefined;
      return stored ? (JSON.parse(stored.state) as DetectorState) : undefined;
    },
  );
  for (const { series, state } of states) writeState.run(series.tenantId, series.deviceId, series.metric, JSON.stringify(state));
  return findings.map(({ finding, point }) =>
    insertAnomaly(db, { ...finding, tenantId: point.tenantId, deviceId: point.deviceId, metric: point.metric, timestamp: point.timestamp, detectedAt }),
  );
}
