import { applyBatch } from '../../src/consumers/pipeline/apply-batch';
import { readToEnd } from '../support/paging';
import { openEmbeddedBackends, type EmbeddedBackends } from '../support/embedded';
import { EventPublisher } from '../../src/consumers/event-publisher';
import type { FanoutMessage } from '../../src/domain/events-topic';
import { toEnvelope } from '../../src/domain/cloud-event';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store';
import type { PartitionBatch } from '../../src/domain/consumer-batch';
import { EmbeddedStream } from '../../src/stream/embedded/embedded-stream';
import { silentLogger } from '../support/logger';

const reading = (eventId: string, timestamp: number, value: number) => ({ tenantId: 't', deviceId: 'd1', eventId, timestamp, metrics: [{ name: 'v', value }] });

/** Everything on the events topic, decoded. */
async function eventsTopic(stream: EmbeddedStream): Promise<FanoutMessage[]> {
  const messages: FanoutMessage[] = [];
  for (const partition of await stream.partitions('events')) {
    for (const message of await readToEnd(stream, 'events', partition)) messages.push(JSON.parse(message.value) as FanoutMessage);
  }
  return messages;
}

describe('fan-out to the events topic', () => {
  let backends: EmbeddedBackends;
  let stream: EmbeddedStream;
  let store: SqliteStore;

  beforeEach(async () => {
    backends = await openEmbeddedBackends();
    ({ stream, store } = backends);
  });
  afterEach(() => backends.close());

  it('republishes, after a crash between commit and publication, exactly what was committed and not yet published', async () => {
    // Three messages on the readings topic; the second is a re-send of the first event id.
    const sent = [reading('e1', 1000, 1), reading('e1', 1000, 1), reading('e2', 2000, 500)];
    const positions = await stream.produce(
      'readings',
      sent.map((r) => ({ key: 't/d1', value: JSON.stringify(toEnvelope(r, 'io.telemetry')) })),
    );
    const partition = positions[0]!.partition;
    await store.putAnomalyRule({
      id: 'r',
      tenantId: 't',
      scope: { kind: 'tenant' },
      metric: '*',
      zScore: null,
      min: null,
      max: 100,
      maxRatePerSecond: null,
      severity: 'WARNING',
      clearAfterMs: null,
      updatedAt: 0,
    });
    // A consumer started (recording where publication stands), committed all three, then died
    // before publishing anything.
    await new EventPublisher(stream, store, silentLogger, 'io.telemetry').recover(await stream.partitions('readings'));
    expect(await eventsTopic(stream)).toEqual([]);
    const slice: PartitionBatch = {
      partition,
      lastOffset: positions[2]!.offset,
      readings: sent.map((r, i) => ({ ...r, offset: positions[i]!.offset })),
      deadLetters: [],
    };
    const applied = await applyBatch(store, { source: 'readings', partitions: [slice] });
    expect(applied.anomalies).toHaveLength(1);

    const publisher = new EventPublisher(stream, store, silentLogger, 'io.telemetry');
    await publisher.recover(await stream.partitions('readings'));
    const published = await eventsTopic(stream);
    const readings = published.flatMap((m) => (m.kind === 'readings' ? m.readings : []));
    // e1 once (from the message that stored it), e2 once; the re-send is not an event.
    expect(readings.map((r) => [r.eventId, r.offset])).toEqual([
      ['e1', positions[0]!.offset],
      ['e2', positions[2]!.offset],
    ]);
    expect(published.flatMap((m) => (m.kind === 'anomalies' ? m.anomalies : [])).map((a) => a.value)).toEqual([500]);
    const progress = await store.fanoutProgress();
    expect([progress.get(`readings:${partition}`), progress.get('anomalies')]).toEqual([positions[2]!.offset, applied.anomalies[0]!.seq]);

    // Recovering again publishes nothing more.
    await new EventPublisher(stream, store, silentLogger, 'io.telemetry').recover(await stream.partitions('readings'));
    expect(await eventsTopic(stream)).toHaveLength(published.length);
  });

  it('splits large batches into messages under the OCI Streaming size limit', async () => {
    const publisher = new EventPublisher(stream, store, silentLogger, 'io.telemetry');
    const many = Array.from({ length: 8000 }, (_, i) => ({ ...reading(`m${i}`, i, i), partition: 0, offset: i }));
    publisher.publish(many);
    await publisher.flushed();
    const sizes: number[] = [];
    for (const partition of await stream.partitions('events'))
      for (const message of await readToEnd(stream, 'events', partition)) sizes.push(Buffer.byteLength(message.value));
    expect(sizes.length).toBeGreaterThan(1);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(1024 * 1024);
    const readings = (await eventsTopic(stream)).flatMap((m) => (m.kind === 'readings' ? m.readings : []));
    expect(readings.map((r) => r.offset)).toEqual(many.map((r) => r.offset));
  });
});
