import { MonitoringPublisher, type MetricDatum, type PostOutcome } from '../../src/metrics/monitoring-publisher';
import type { MetricsJson } from '../../src/metrics/consumer-metrics';
import { silentLogger } from '../support/logger';

/**
 * The OCI Monitoring publisher, ticked by hand (no timers): counters are posted as their
 * increase per interval, gauges as they are; a failed post is retried at the next tick, a
 * batch that failed 3 times is dropped, and at most 10 wait.
 */

const counter = (name: string, value: number) =>
  ({ name, help: '', type: 'counter', aggregator: 'sum', values: [{ value, labels: {} }] }) as unknown as MetricsJson[number];
const gauge = (name: string, value: number) =>
  ({ name, help: '', type: 'gauge', aggregator: 'sum', values: [{ value, labels: { partition: '0' } }] }) as unknown as MetricsJson[number];

function setup(limits: { maxAttempts?: number; maxQueued?: number } = {}) {
  let accepted = 0;
  let lag = 0;
  let failing = false;
  const posts: MetricDatum[][] = [];
  const outcomes: PostOutcome[] = [];
  const publisher = new MonitoringPublisher(
    async () => [counter('telemetry_ingest_readings_accepted_total', accepted), gauge('telemetry_consumer_lag_messages', lag)],
    async (metricData) => {
      if (failing) throw new Error('unreachable');
      posts.push([...metricData]);
      return { failedMetricsCount: 0 };
    },
    {
      namespace: 'iot_telemetry',
      compartmentId: 'ocid1.compartment.oc1..x',
      dimensions: { role: 'all' },
      logger: silentLogger,
      onOutcome: (o) => outcomes.push(o),
      ...limits,
    },
  );
  const value = (batch: MetricDatum[], name: string) => batch.find((metric) => metric.name === name)!.datapoints[0]!.value;
  return {
    publisher,
    posts,
    outcomes,
    value,
    set: (next: { accepted?: number; lag?: number; failing?: boolean }) => {
      accepted = next.accepted ?? accepted;
      lag = next.lag ?? lag;
      failing = next.failing ?? failing;
    },
  };
}

describe('MonitoringPublisher', () => {
  it('posts counters as their increase over the interval and gauges as they are now', async () => {
    const { publisher, posts, value, set } = setup();
    set({ accepted: 5, lag: 3 });
    await publisher.tick();
    set({ accepted: 12, lag: 0 });
    await publisher.tick();
    expect(posts.map((batch) => value(batch, 'ReadingsAccepted'))).toEqual([5, 7]);
    expect(posts.map((batch) => value(batch, 'ConsumerLagMessages'))).toEqual([3, 0]);
  });

  it('retries a failed batch at the next tick, in order, and drops one that failed 3 times', async () => {
    const { publisher, posts, outcomes, value, set } = setup();
    set({ accepted: 1, failing: true });
    await publisher.tick(); // batch 1: attempt 1
    set({ accepted: 3 });
    await publisher.tick(); // batch 1: attempt 2 (batch 2 waits)
    set({ failing: false, accepted: 6 });
    await publisher.tick(); // batch 1, 2 and 3 sent, oldest first
    expect(posts.map((batch) => value(batch, 'ReadingsAccepted'))).toEqual([1, 2, 3]);
    expect(outcomes).toEqual(['failed', 'failed', 'sent', 'sent', 'sent']);

    outcomes.length = 0;
    set({ failing: true, accepted: 10 });
    for (let i = 0; i < 3; i++) await publisher.tick();
    // Tick 1: batch A fails (1). Tick 2: A fails (2). Tick 3: A fails (3) and is dropped, then B fails (2).
    expect(outcomes).toEqual(['failed', 'failed', 'dropped', 'failed']);
    set({ failing: false });
    await publisher.tick();
    expect(posts).toHaveLength(3 + 3); // B, C and the new one: A (the +4) was dropped
    expect(posts.slice(3).map((batch) => value(batch, 'ReadingsAccepted'))).toEqual([0, 0, 0]);
  });

  it('keeps at most 10 batches waiting, dropping the oldest', async () => {
    // Attempts unbounded here, so that only the queue's bound drops anything.
    const { publisher, posts, outcomes, value, set } = setup({ maxAttempts: 1000 });
    set({ failing: true });
    for (let i = 1; i <= 12; i++) {
      set({ accepted: (i * (i + 1)) / 2 }); // batch i counts i readings
      await publisher.tick();
    }
    set({ failing: false, accepted: (13 * 14) / 2 });
    await publisher.tick();
    // 13 batches made; the 3 oldest dropped as the 11th, 12th and 13th arrived; the 10 newest sent in order.
    expect(outcomes.filter((o) => o === 'dropped')).toHaveLength(3);
    expect(posts.map((batch) => value(batch, 'ReadingsAccepted'))).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
  });
});
