import * as anomalies from '../../src/store/oracle/sql/anomalies';
import * as batch from '../../src/store/oracle/sql/batch-transaction';
import { CheckingSource, type Call } from './fake-oracle';

/**
 * The checking fake connection (fake-oracle.ts) with the tables behind the statements that the
 * batch pipeline and the detection contract reach, so that whole contracts run through the
 * Oracle backend at the driver boundary: every statement is still checked (binds, types,
 * sizes), and each is answered as its SQL says: the unique keys of reading_events and
 * readings answer ORA-00001 as batch errors (a repeat within one executeMany included), the
 * MERGEs insert or update as written, SELECT ... FOR UPDATE reads what was merged, anomalies
 * are inserted, deleted and read as the lifecycle needs. Any other
 * statement gets the fake's default answer. No transaction is modelled: nothing rolls back.
 */

type Row = Readonly<Record<string, unknown>>;

/** A rollups row by its bind names (what mergeRollup writes). */
export interface RollupRow {
  cnt: number;
  sum_value: number;
  sum_sq: number;
  min_value: number;
  max_value: number;
  min_ts: number | null;
  max_ts: number | null;
  first_ts: number;
  first_value: number;
  last_ts: number;
  last_value: number;
}

const UNIQUE_VIOLATION = 1;
const key = (...parts: unknown[]) => parts.map(String).join('\u0000');
const least = (a: number | null, b: number | null) => (a === null || b === null ? null : Math.min(a, b));

export class OracleTables {
  readonly watermarks = new Map<string, number>();
  readonly events = new Set<string>();
  readonly readings = new Set<string>();
  /** By (tenant, device, metric, resolution, bucket start). */
  readonly rollups = new Map<string, RollupRow & { tenant_id: string; device_id: string; metric: string; resolution_ms: number; bucket_start: number }>();
  readonly detectorStates = new Map<string, string>();
  readonly rules = new Map<string, Record<string, unknown>>();
  readonly anomalies: Record<string, unknown>[] = [];
  private lastSeq = 0;
  readonly source = new CheckingSource((call) => this.respond(call));

  private respond(call: Call) {
    const rows = call.binds;
    const one = rows[0] ?? {};
    switch (call.sql) {
      case batch.SQL.lockWatermark: {
        const offset = this.watermarks.get(key(one['source'], one['stream_partition']));
        return { rows: offset === undefined ? [] : [{ APPLIED_OFFSET: offset }] };
      }
      case batch.SQL.mergeWatermark:
        for (const row of rows) this.watermarks.set(key(row['source'], row['stream_partition']), row['applied_offset'] as number);
        return undefined;
      case batch.SQL.insertEvent:
        return this.insertUnique(rows, this.events, (row) => key(row['tenant_id'], row['event_id']));
      case batch.SQL.insertReading:
        return this.insertUnique(rows, this.readings, (row) => key(row['tenant_id'], row['device_id'], row['metric'], row['ts']));
      case batch.SQL.mergeRollup:
        for (const row of rows) this.mergeRollup(row);
        return undefined;
      case anomalies.SQL.readState: {
        const state = this.detectorStates.get(key(one['tenant_id'], one['device_id'], one['metric']));
        return { rows: state === undefined ? [] : [{ STATE: state }] };
      }
      case anomalies.SQL.mergeState:
        this.detectorStates.set(key(one['tenant_id'], one['device_id'], one['metric']), one['state'] as string);
        return undefined;
      case anomalies.SQL.mergeRule: {
        const scope = key(one['tenant_id'], one['scope_kind'], one['scope_value'], one['metric']);
        this.rules.set(scope, {
          TENANT_ID: one['tenant_id'],
          ID: this.rules.get(scope)?.['ID'] ?? one['id'],
          SCOPE_KIND: one['scope_kind'],
          SCOPE_VALUE: one['scope_value'],
          METRIC: one['metric'],
          ZSCORE_THRESHOLD: one['z_threshold'],
          ZSCORE_WINDOW: one['z_window'],
          ZSCORE_WARMUP: one['z_warmup'],
          MIN_VALUE: one['min_value'],
          MAX_VALUE: one['max_value'],
          MAX_RATE_PER_SECOND: one['max_rate'],
          SEVERITY: one['severity'],
          UPDATED_AT: one['updated_at'],
          CLEAR_AFTER_MS: one['clear_after_ms'],
        });
        return undefined;
      }
      case anomalies.SQL.ruleByScope:
        return { rows: [this.rules.get(key(one['tenant_id'], one['scope_kind'], one['scope_value'], one['metric']))].filter(Boolean) };
      case anomalies.SQL.listRules:
      case anomalies.SQL.rulesOfTenant:
        return { rows: [...this.rules.values()].filter((rule) => rule['TENANT_ID'] === one['tenant_id']) };
      case anomalies.SQL.insertAnomaly: {
        // An identity column: never reused, even after a delete.
        const seq = ++this.lastSeq;
        this.anomalies.push({
          SEQ: seq,
          ID: one['id'],
          TENANT_ID: one['tenant_id'],
          DEVICE_ID: one['device_id'],
          METRIC: one['metric'],
          KIND: one['kind'],
          SEVERITY: one['severity'],
          SCORE: one['score'],
          VALUE: one['value'],
          EXPECTED_MIN: one['expected_min'],
          EXPECTED_MAX: one['expected_max'],
          TS: one['ts'],
          DETECTED_AT: one['detected_at'],
          STATUS: one['status'],
          ACKNOWLEDGED_BY: one['acknowledged_by'],
          ACKNOWLEDGED_AT: one['acknowledged_at'],
          RESOLVED_BY: one['resolved_by'],
          RESOLVED_AT: one['resolved_at'],
          OCCURRENCES: one['occurrences'],
          LAST_VALUE: one['last_value'],
          LAST_TS: one['last_ts'],
        });
        return { outBinds: { seq: [seq] }, rowsAffected: 1 };
      }
      case anomalies.SQL.identifyNew: {
        const row = this.anomalies.find((a) => a['SEQ'] === one['seq'])!;
        row['ID'] = row['SEQ'];
        return { rowsAffected: 1 };
      }
      case anomalies.SQL.deleteAnomaly: {
        const index = this.anomalies.findIndex((a) => a['ID'] === one['id']);
        if (index >= 0) this.anomalies.splice(index, 1);
        return { rowsAffected: index >= 0 ? 1 : 0 };
      }
      case anomalies.SQL.openOfSeries:
        return {
          rows: this.anomalies
            .filter(
              (a) => a['TENANT_ID'] === one['tenant_id'] && a['DEVICE_ID'] === one['device_id'] && a['METRIC'] === one['metric'] && a['STATUS'] !== 'RESOLVED',
            )
            .sort((a, b) => (a['SEQ'] as number) - (b['SEQ'] as number)),
        };
      case anomalies.SQL.listAnomalies: {
        const after = one['after_seq'] as number | null;
        const found = this.anomalies
          .filter((a) => a['TENANT_ID'] === one['tenant_id'] && (after === null || (a['SEQ'] as number) < after))
          .filter(
            (a) =>
              (one['device_id'] === null || a['DEVICE_ID'] === one['device_id']) &&
              (one['status'] === null || a['STATUS'] === one['status']) &&
              (one['kind'] === null || a['KIND'] === one['kind']),
          )
          .sort((a, b) => (b['SEQ'] as number) - (a['SEQ'] as number));
        return { rows: found.slice(0, one['limit_rows'] as number) };
      }
      default:
        return undefined;
    }
  }

  /** executeMany with batchErrors into a table with a unique key. */
  private insertUnique(rows: readonly Row[], table: Set<string>, keyOf: (row: Row) => string) {
    const batchErrors: { errorNum: number; offset: number; message: string }[] = [];
    rows.forEach((row, offset) => {
      const unique = keyOf(row);
      if (table.has(unique)) batchErrors.push({ errorNum: UNIQUE_VIOLATION, offset, message: 'ORA-00001: unique constraint violated' });
      else table.add(unique);
    });
    return { rowsAffected: rows.length - batchErrors.length, batchErrors };
  }

  /** As batch.SQL.mergeRollup says: every right-hand side reads the row as it was. */
  private mergeRollup(s: Row) {
    const id = key(s['tenant_id'], s['device_id'], s['metric'], s['resolution_ms'], s['bucket_start']);
    const source = s as unknown as RollupRow & { tenant_id: string; device_id: string; metric: string; resolution_ms: number; bucket_start: number };
    const r = this.rollups.get(id);
    if (!r) return void this.rollups.set(id, { ...source });
    this.rollups.set(id, {
      ...r,
      cnt: r.cnt + source.cnt,
      sum_value: r.sum_value + source.sum_value,
      sum_sq: r.sum_sq + source.sum_sq,
      min_ts: source.min_value < r.min_value ? source.min_ts : source.min_value === r.min_value ? least(r.min_ts, source.min_ts) : r.min_ts,
      max_ts: source.max_value > r.max_value ? source.max_ts : source.max_value === r.max_value ? least(r.max_ts, source.max_ts) : r.max_ts,
      min_value: Math.min(r.min_value, source.min_value),
      max_value: Math.max(r.max_value, source.max_value),
      first_value: source.first_ts < r.first_ts ? source.first_value : r.first_value,
      first_ts: Math.min(r.first_ts, source.first_ts),
      last_value: source.last_ts > r.last_ts ? source.last_value : r.last_value,
      last_ts: Math.max(r.last_ts, source.last_ts),
    });
  }
}
