import { alarmChanges } from '../../src/domain/anomalies/alarm-lifecycle';
import type { JudgedValue } from '../../src/domain/anomalies/batch-detection';
import type { Anomaly, Finding, Severity } from '../../src/domain/anomalies/anomaly';

const SECOND = 1000;
const CLEAR_AFTER = 60 * SECOND;

/** A value of series t/d/temp at `second`, with the findings given (none: normal). */
function at(second: number, value: number, ...findings: Finding[]): JudgedValue {
  return { point: { tenantId: 't', deviceId: 'd', metric: 'temp', timestamp: second * SECOND, value, offset: second }, findings };
}
const over = (value: number, severity: Severity = 'WARNING'): Finding => ({
  kind: 'THRESHOLD',
  severity,
  score: value - 100,
  value,
  expectedMin: null,
  expectedMax: 100,
});

/** An anomaly stored by an earlier batch. */
const stored = (overrides: Partial<Anomaly> = {}): Anomaly => ({
  seq: 9,
  id: 4,
  tenantId: 't',
  deviceId: 'd',
  metric: 'temp',
  kind: 'THRESHOLD',
  severity: 'WARNING',
  score: 5,
  value: 105,
  expectedMin: null,
  expectedMax: 100,
  timestamp: 10 * SECOND,
  detectedAt: 1,
  status: 'OPEN',
  acknowledgedBy: null,
  acknowledgedAt: null,
  resolvedBy: null,
  resolvedAt: null,
  occurrences: 1,
  lastValue: 105,
  lastTimestamp: 10 * SECOND,
  ...overrides,
});

describe('alarm dedup', () => {
  it('raises one anomaly for a run of triggers, counting occurrences and keeping the peak', () => {
    const changes = alarmChanges([at(1, 50), at(2, 110, over(110)), at(3, 130, over(130)), at(4, 120, over(120)), at(5, 50)], [], CLEAR_AFTER, 777);
    expect(changes).toHaveLength(1);
    expect(changes[0]!.offset).toBe(2);
    expect(changes[0]!.escalated).toBe(false);
    expect(changes[0]!.record).toMatchObject({
      kind: 'THRESHOLD',
      status: 'OPEN',
      timestamp: 2 * SECOND,
      value: 110,
      occurrences: 3,
      lastValue: 120,
      lastTimestamp: 4 * SECOND,
      score: 30,
      detectedAt: 777,
    });
    expect(changes[0]!.record.id).toBeUndefined();
  });

  it('updates the stored open (or acknowledged) anomaly of the same kind instead of raising another', () => {
    const open = stored({ status: 'ACKNOWLEDGED', acknowledgedBy: 'k', acknowledgedAt: 2 });
    const [change, ...rest] = alarmChanges([at(20, 103, over(103))], [open], CLEAR_AFTER, 777);
    expect(rest).toEqual([]);
    expect(change!.record).toMatchObject({
      id: 4,
      status: 'ACKNOWLEDGED',
      occurrences: 2,
      lastValue: 103,
      lastTimestamp: 20 * SECOND,
      score: 5,
      detectedAt: 1,
    });
    expect(change!.record).not.toHaveProperty('seq');
  });

  it('takes the highest severity and says when it rose above the stored one', () => {
    const [change] = alarmChanges([at(20, 150, over(150, 'CRITICAL'))], [stored()], CLEAR_AFTER, 777);
    expect(change!.record.severity).toBe('CRITICAL');
    expect(change!.escalated).toBe(true);
    const [same] = alarmChanges([at(20, 150, over(150, 'INFO'))], [stored()], CLEAR_AFTER, 777);
    expect(same!.record.severity).toBe('WARNING');
    expect(same!.escalated).toBe(false);
  });

  it('keeps kinds apart: another kind raises its own anomaly', () => {
    const jump: Finding = { kind: 'RATE_OF_CHANGE', severity: 'WARNING', score: 50, value: 150, expectedMin: 90, expectedMax: 110 };
    const changes = alarmChanges([at(20, 150, over(150), jump)], [stored()], CLEAR_AFTER, 777);
    expect(changes.map((c) => [c.record.kind, c.record.id, c.record.occurrences])).toEqual([
      ['THRESHOLD', 4, 2],
      ['RATE_OF_CHANGE', undefined, 1],
    ]);
  });

  it('changes nothing when nothing fired and nothing cleared', () => {
    expect(alarmChanges([at(20, 50), at(30, 50)], [stored()], CLEAR_AFTER, 777)).toEqual([]);
  });
});

describe('alarm auto-clear', () => {
  it('clears once a normal reading comes clearAfter after the latest trigger, at that reading', () => {
    // Latest trigger at 10 s: 69 s is too soon, 70 s clears it.
    const [change] = alarmChanges([at(40, 50), at(69, 50), at(70, 50), at(71, 50)], [stored()], CLEAR_AFTER, 777);
    expect(change!.record).toMatchObject({ id: 4, status: 'RESOLVED', resolvedBy: 'system', resolvedAt: 70 * SECOND, occurrences: 1 });
    expect(change!.offset).toBe(70);
  });

  it('restarts the wait at every trigger', () => {
    expect(alarmChanges([at(50, 50), at(60, 101, over(101)), at(100, 50)], [stored()], CLEAR_AFTER, 777)[0]!.record.status).toBe('OPEN');
  });

  it('raises a new anomaly for a trigger after the clear', () => {
    const changes = alarmChanges([at(70, 50), at(80, 120, over(120))], [stored()], CLEAR_AFTER, 777);
    expect(changes.map((c) => [c.record.id, c.record.status, c.record.timestamp])).toEqual([
      [4, 'RESOLVED', 10 * SECOND],
      [undefined, 'OPEN', 80 * SECOND],
    ]);
  });

  it('clears an anomaly raised in the same batch', () => {
    const [change] = alarmChanges([at(1, 120, over(120)), at(61, 50)], [], CLEAR_AFTER, 777);
    expect(change!.record).toMatchObject({ status: 'RESOLVED', resolvedBy: 'system', resolvedAt: 61 * SECOND, occurrences: 1 });
  });

  it('is not fooled by a late reading (older than the latest trigger)', () => {
    expect(alarmChanges([at(5, 50)], [stored({ lastTimestamp: 100 * SECOND })], 0, 777)).toEqual([]);
  });

  it('clears at the first normal reading with clearAfter 0', () => {
    const [change] = alarmChanges([at(10, 50)], [stored()], 0, 777);
    expect(change!.record).toMatchObject({ status: 'RESOLVED', resolvedAt: 10 * SECOND });
  });

  it('gives the same result however the values are split into batches', () => {
    const values = [at(1, 120, over(120)), at(2, 140, over(140, 'CRITICAL')), at(30, 50), at(62, 50), at(63, 120, over(120)), at(64, 50)];
    const whole = alarmChanges(values, [], CLEAR_AFTER, 777).map((c) => c.record);
    // Split after each value: each part starts from what the previous stored (ids given as a store would).
    let open: Anomaly[] = [];
    const final = new Map<number, Anomaly>();
    let next = 1;
    for (const value of values) {
      for (const { record } of alarmChanges([value], open, CLEAR_AFTER, 777)) {
        const anomaly: Anomaly = { ...record, id: record.id ?? next, seq: next++ };
        final.set(anomaly.id, anomaly);
      }
      open = [...final.values()].filter((a) => a.status !== 'RESOLVED');
    }
    const split = [...final.values()].map(({ seq, id, ...record }) => record);
    expect(split).toEqual(whole.map(({ id, ...record }) => record));
  });
});
