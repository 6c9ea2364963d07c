import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { EventPublisher } from '../../src/consumers/event-publisher';
import type { FanoutMessage } from '../../src/domain/events-topic';
import type { PersistedReading } from '../../src/domain/reading';
import { EventTail } from '../../src/subscriptions/event-tail';
import { openEmbeddedBackends, type EmbeddedBackends } from '../support/embedded';
import { silentLogger } from '../support/logger';
import { readToEnd } from '../support/paging';
import { eventually } from '../support/server';

/**
 * On a shared stream (OCI Streaming) the consumer publishes to the `events` topic and every API
 * node tails it: the trace goes through the topic the way it goes through the readings topic.
 * The publisher's send span (child of the batch's publish span) travels in each events message,
 * and the tailing node's delivery span continues it. The SDK is registered in this test with an
 * in-memory exporter (what composition/tracing-sdk.ts registers, less the OTLP export).
 */

const reading: PersistedReading = {
  tenantId: 't',
  deviceId: 'd1',
  eventId: 'e1',
  timestamp: 1000,
  metrics: [{ name: 'v', value: 1 }],
  partition: 0,
  offset: 0,
};

describe('tracing through the events topic', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  let backends: EmbeddedBackends;
  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);
  });
  afterAll(async () => {
    await provider.shutdown();
    trace.disable();
    propagation.disable();
    context.disable();
  });
  beforeEach(async () => {
    backends = await openEmbeddedBackends();
  });
  afterEach(() => backends.close());

  it('carries the publish span in the message, and the API node delivers in its trace', async () => {
    const { stream, store } = backends;
    const delivered: PersistedReading[] = [];
    const tail = new EventTail(
      stream,
      {
        readings: (readings) => delivered.push(...readings),
        anomalies: () => {},
        statusChanges: () => {},
        commands: () => {},
        revokedKeys: () => {},
        deviceDeleted: () => {},
      },
      silentLogger,
    );
    await tail.start();
    try {
      const publisher = new EventPublisher(stream, store, silentLogger, 'io.telemetry');
      // The consumer's batch publishes inside its publish span (reading-persister.ts).
      const publishSpan = trace.getTracer('test').startSpan('publish committed');
      context.with(trace.setSpan(context.active(), publishSpan), () => publisher.publish([reading]));
      publishSpan.end();
      await publisher.flushed();
      await eventually(() => (delivered.length === 1 ? true : undefined), 15_000, 'the delivery');
    } finally {
      await tail.stop();
    }

    const spans = exporter.getFinishedSpans();
    const send = spans.find((span) => span.name === 'send events')!;
    expect(send.parentSpanContext?.spanId).toBe(spans.find((span) => span.name === 'publish committed')!.spanContext().spanId);
    const messages = (await Promise.all((await stream.partitions('events')).map((p) => readToEnd(stream, 'events', p)))).flat();
    expect(messages).toHaveLength(1);
    const message = JSON.parse(messages[0]!.value) as FanoutMessage;
    expect(message.kind).toBe('readings');
    expect(message.traceparent).toBe(`00-${send.spanContext().traceId}-${send.spanContext().spanId}-01`);
    const deliver = spans.find((span) => span.name === 'deliver readings')!;
    expect(deliver.spanContext().traceId).toBe(send.spanContext().traceId);
    expect(deliver.parentSpanContext?.spanId).toBe(send.spanContext().spanId);
  });
});
