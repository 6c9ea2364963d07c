import { raised, SEVERITY_RANK, type Anomaly, type AnomalyKind, type AnomalyRecord } from './anomaly';
import type { JudgedValue } from './batch-detection';

/**
 * The alarm lifecycle of one series (tenant, device, metric), ThingsBoard style:
 *  - while an anomaly of a kind is OPEN or ACKNOWLEDGED, a new finding of that kind updates it
 *    (one more occurrence, the latest value and timestamp, the peak score and severity)
 *    instead of raising another;
 *  - it clears (RESOLVED by 'system', at the timestamp of the reading that proved it) once a
 *    reading of the series, with no finding of that kind, comes `clearAfterMs` or more after
 *    its latest trigger.
 * Time is the readings' own timestamps, never the clock, and values come in stream order: the
 * same stream gives the same alarms however it is cut into batches or replayed. A series that
 * sends nothing never clears (silence is the SILENCE anomaly's business); a late reading
 * (older than the latest trigger) proves nothing.
 */

/** What the batch stores for one anomaly it raised or changed. */
export interface AlarmChange {
  /** The anomaly as it is now; `id` set when it was stored before (it is stored again under a new seq). */
  readonly record: AnomalyRecord;
  /** Stream offset of the first value that changed it in this batch: changes are stored in that order. */
  readonly offset: number;
  /** Its severity rose above the stored one (webhooks whose minimum it now reaches are told). */
  readonly escalated: boolean;
}

interface Working {
  record: AnomalyRecord;
  readonly stored: Anomaly | undefined;
  offset: number;
  changed: boolean;
}

const bigger = (a: number, b: number) => Math.abs(a) > Math.abs(b);

/**
 * Runs the lifecycle over one series' judged values (in stream order), from its anomalies that
 * are still OPEN or ACKNOWLEDGED; returns the anomalies to insert or store again.
 */
export function alarmChanges(judged: readonly JudgedValue[], open: readonly Anomaly[], clearAfterMs: number, detectedAt: number): AlarmChange[] {
  const active = new Map<AnomalyKind, Working>();
  const all: Working[] = [];
  for (const anomaly of open) {
    const { seq, ...record } = anomaly;
    const working: Working = { record, stored: anomaly, offset: Number.POSITIVE_INFINITY, changed: false };
    active.set(anomaly.kind, working);
    all.push(working);
  }
  const touch = (working: Working, offset: number): Working => {
    if (!working.changed) working.offset = offset;
    working.changed = true;
    return working;
  };

  for (const { point, findings } of judged) {
    const fired = new Set<AnomalyKind>();
    for (const finding of findings) {
      fired.add(finding.kind);
      const current = active.get(finding.kind);
      if (!current) {
        const record = raised({ ...finding, tenantId: point.tenantId, deviceId: point.deviceId, metric: point.metric, timestamp: point.timestamp, detectedAt });
        const working: Working = { record, stored: undefined, offset: point.offset, changed: true };
        active.set(finding.kind, working);
        all.push(working);
        continue;
      }
      const working = touch(current, point.offset);
      const peak = bigger(finding.score, working.record.score);
      working.record = {
        ...working.record,
        occurrences: working.record.occurrences + 1,
        lastValue: finding.value,
        lastTimestamp: Math.max(working.record.lastTimestamp, point.timestamp),
        score: peak ? finding.score : working.record.score,
        expectedMin: peak ? finding.expectedMin : working.record.expectedMin,
        expectedMax: peak ? finding.expectedMax : working.record.expectedMax,
        severity: SEVERITY_RANK[finding.severity] > SEVERITY_RANK[working.record.severity] ? finding.severity : working.record.severity,
      };
    }
    for (const [kind, current] of active) {
      if (fired.has(kind) || point.timestamp - current.record.lastTimestamp < clearAfterMs) continue;
      const working = touch(current, point.offset);
      working.record = { ...working.record, status: 'RESOLVED', resolvedBy: 'system', resolvedAt: point.timestamp };
      active.delete(kind);
    }
  }

  return all
    .filter((working) => working.changed)
    .map(({ record, stored, offset }) => ({
      record,
      offset,
      escalated: stored !== undefined && SEVERITY_RANK[record.severity] > SEVERITY_RANK[stored.severity],
    }));
}
