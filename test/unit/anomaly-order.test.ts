import { AnomalyOrder } from '../../src/subscriptions/anomaly-order';
import type { Anomaly } from '../../src/domain/anomalies/anomaly';
import { BackendError } from '../../src/domain/errors';
import { silentLogger } from '../support/logger';
import type { AnomalyStore } from '../../src/store/ports/anomaly-store';
import { fakePort } from '../support/fake-port';

const anomaly = (seq: number): Anomaly => ({
  seq,
  tenantId: 't',
  deviceId: 'd',
  metric: 'v',
  kind: 'THRESHOLD',
  severity: 'WARNING',
  score: 1,
  value: 1,
  expectedMin: null,
  expectedMax: 0,
  timestamp: seq,
  detectedAt: seq,
  status: 'OPEN',
  acknowledgedBy: null,
  acknowledgedAt: null,
  resolvedBy: null,
  resolvedAt: null,
  id: seq,
  occurrences: 1,
  lastValue: 1,
  lastTimestamp: seq,
});

/** A database holding anomalies with the given seqs (committed), and a record of its queries. */
function database(seqs: number[], failures = 0) {
  const queries: number[] = [];
  let failuresLeft = failures;
  return {
    queries,
    commit: (...more: number[]) => seqs.push(...more),
    store: fakePort<AnomalyStore>({
      lastAnomalySeq: async () => Math.max(0, ...seqs),
      anomaliesOfAllTenantsAfter: async (after: number, limit: number) => {
        queries.push(after);
        if (failuresLeft-- > 0) throw new BackendError('connection lost', true);
        return seqs
          .filter((seq) => seq > after)
          .sort((a, b) => a - b)
          .slice(0, limit)
          .map(anomaly);
      },
    }),
  };
}

async function ordered(db: ReturnType<typeof database>, pushes: number[][]): Promise<number[]> {
  const delivered: number[] = [];
  const order = new AnomalyOrder(db.store, (anomalies) => delivered.push(...anomalies.map((a) => a.seq)), silentLogger, {
    initialDelayMs: 1,
    maxDelayMs: 2,
    multiplier: 2,
  });
  await order.start();
  for (const push of pushes) order.push(push.map(anomaly));
  await order.settled();
  return delivered;
}

describe('anomaly order on an API node', () => {
  it('delivers contiguous anomalies as they come, without asking the database', async () => {
    const fresh = database([1, 2]);
    const delivered: number[] = [];
    const order = new AnomalyOrder(fresh.store, (anomalies) => delivered.push(...anomalies.map((a) => a.seq)), silentLogger);
    await order.start();
    fresh.commit(3, 4, 5);
    order.push([anomaly(3), anomaly(4)]);
    order.push([anomaly(5)]);
    await order.settled();
    expect(delivered).toEqual([3, 4, 5]);
    expect(fresh.queries).toEqual([]);
  });

  it('puts anomalies published out of order by two consumers back in seq order, each once', async () => {
    const db = database([]);
    const delivered: number[] = [];
    const order = new AnomalyOrder(db.store, (anomalies) => delivered.push(...anomalies.map((a) => a.seq)), silentLogger);
    await order.start();
    db.commit(1, 2, 3);
    expect(order.publishedThrough).toBe(0);
    order.push([anomaly(2), anomaly(3)]); // consumer B published first; 1 is committed, not yet published
    order.push([anomaly(1)]); // consumer A, late: already delivered from the database
    await order.settled();
    expect(delivered).toEqual([1, 2, 3]);
    expect(order.publishedThrough).toBe(3); // every change through 3 has reached the hub
    expect(db.queries).toEqual([0]);
  });

  it('skips seqs that were never committed (a rolled-back transaction) after one look at the database', async () => {
    const db = database([]);
    const delivered: number[] = [];
    const order = new AnomalyOrder(db.store, (anomalies) => delivered.push(...anomalies.map((a) => a.seq)), silentLogger);
    await order.start();
    db.commit(1, 3);
    order.push([anomaly(1)]);
    order.push([anomaly(3)]);
    db.commit(4);
    order.push([anomaly(4)]);
    await order.settled();
    expect(delivered).toEqual([1, 3, 4]);
    expect(db.queries).toEqual([1]);
  });

  it('does not deliver what was committed before it started, and retries a failing database', async () => {
    const db = database([1, 2], 2);
    expect(await ordered(db, [[2]])).toEqual([]);
    const later = database([1, 2], 2);
    const delivered: number[] = [];
    const order = new AnomalyOrder(later.store, (anomalies) => delivered.push(...anomalies.map((a) => a.seq)), silentLogger, {
      initialDelayMs: 1,
      maxDelayMs: 2,
      multiplier: 2,
    });
    await order.start();
    later.commit(3, 4);
    order.push([anomaly(4)]);
    await order.settled();
    expect(delivered).toEqual([3, 4]);
    expect(later.queries).toEqual([2, 2, 2]); // two failures, then the answer
  });
});
