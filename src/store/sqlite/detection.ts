import type Database from 'better-sqlite3';
import type { Anomaly, Finding } from '../../domain/anomalies/anomaly';
import { detect, EMPTY_STATE, type DetectorState } from '../../domain/anomalies/detector';
import { resolveDetection, type AnomalyRule } from '../../domain/anomalies/rules';
import { insertAnomaly, RULE_COLUMNS, toRule, type RuleRow } from './anomaly-rows';

export interface DetectedValue {
  readonly tenantId: string;
  readonly deviceId: string;
  readonly metric: string;
  readonly timestamp: number;
  readonly value: number;
  /** Stream offset: values are judged in stream order, per series. */
  readonly offset: number;
}

/**
 * Runs anomaly detection over the values a batch stored (grouped by series, as the batch
 * sorts them), inside its transaction: loads each
 * series' state and the tenant's rules, feeds the values in stream order, then writes the new
 * states and the anomalies. A crash rolls all of it back with the batch; a replay is skipped
 * by the watermark; so every value is judged exactly once.
 */
export function detectInTransaction(db: Database.Database, values: readonly DetectedValue[], detectedAt: number): Anomaly[] {
  if (values.length === 0) return [];
  // The batch hands values sorted by series then time; within each series, judge them in
  // stream order (a late reading is judged when it arrived, not where its timestamp falls).
  const ordered: DetectedValue[] = [];
  for (let start = 0; start < values.length; ) {
    let end = start + 1;
    while (end < values.length && sameSeries(values[end]!, values[start]!)) end++;
    ordered.push(...values.slice(start, end).sort((a, b) => a.offset - b.offset));
    start = end;
  }
  const readState = db.prepare('SELECT state FROM detector_state WHERE tenant_id = ? AND device_id = ? AND metric = ?');
  const writeState = db.prepare(
    'INSERT INTO detector_state (tenant_id, device_id, metric, state) VALUES (?, ?, ?, ?) ON CONFLICT (tenant_id, device_id, metric) DO UPDATE SET state = excluded.state',
  );
  const rulesOf = memo((tenantId: string) =>
    (db.prepare(`SELECT ${RULE_COLUMNS} FROM anomaly_rules WHERE tenant_id = ?`).all(tenantId) as RuleRow[]).map(toRule),
  );
  const tagsOf = memo((key: string) => {
    const [tenantId, deviceId] = key.split('\u0000');
    const row = db.prepare('SELECT tags FROM devices WHERE tenant_id = ? AND id = ?').get(tenantId, deviceId) as { tags: string } | undefined;
    return new Set(row ? (JSON.parse(row.tags) as string[]) : []);
  });

  const pending: { finding: Finding; point: DetectedValue }[] = [];
  for (let i = 0; i < ordered.length; ) {
    const first = ordered[i]!;
    const rules: AnomalyRule[] = rulesOf(first.tenantId);
    const hasTagRules = rules.some((rule) => rule.scope.kind === 'tag');
    const tags = hasTagRules ? tagsOf(`${first.tenantId}\u0000${first.deviceId}`) : new Set<string>();
    const settings = resolveDetection(rules, first.deviceId, tags, first.metric);
    const stored = readState.get(first.tenantId, first.deviceId, first.metric) as { state: string } | undefined;
    let state: DetectorState = stored ? (JSON.parse(stored.state) as DetectorState) : EMPTY_STATE;
    for (; i < ordered.length && sameSeries(ordered[i]!, first); i++) {
      const point = ordered[i]!;
      const result = detect(state, settings, point.timestamp, point.value);
      state = result.state;
      for (const finding of result.findings) pending.push({ finding, point });
    }
    writeState.run(first.tenantId, first.deviceId, first.metric, JSON.stringify(state));
  }
  // Stored in stream order (then metric), so seq order does not depend on how the stream was batched.
  pending.sort((a, b) => a.point.offset - b.point.offset || cmp(a.point.deviceId, b.point.deviceId) || cmp(a.point.metric, b.point.metric));
  return pending.map(({ finding, point }) =>
    insertAnomaly(db, { ...finding, tenantId: point.tenantId, deviceId: point.deviceId, metric: point.metric, timestamp: point.timestamp, detectedAt }),
  );
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const sameSeries = (a: DetectedValue, b: DetectedValue) => a.tenantId === b.tenantId && a.deviceId === b.deviceId && a.metric === b.metric;

function memo<T>(load: (key: string) => T): (key: string) => T {
  const cache = new Map<string, T>();
  return (key) => {
    if (!cache.has(key)) cache.set(key, load(key));
    return cache.get(key)!;
  };
}
