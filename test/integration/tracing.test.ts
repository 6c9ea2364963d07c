import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { openStream } from '../../src/composition/backends';
import { loadConfig, type Config } from '../../src/config';
import type { StreamMessage } from '../../src/stream/stream';
import { IngestReadingsDocument, ReadingAddedDocument, RegisterDeviceDocument } from '../generated/graphql';
import { postGraphQL } from '../support/graphql-post';
import { silentLogger } from '../support/logger';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver';
import { eventually, newDataDir, randomKey, startTestServer } from '../support/server';
import { startServiceProcess, stopGracefully, type ServiceProcess } from '../support/service-process';
import { connect, subscribe, untilLive } from '../support/ws-client';
import { print } from 'graphql';

/**
 * With OTEL_TRACES_EXPORTER=otlp, one reading leaves one connected trace in a collector (a
 * local OTLP/HTTP receiver here): the ingest request's span continues the client's
 * `traceparent`; the stream message carries the send span's context (CloudEvents
 * distributed-tracing extension); the consumer's batch span links to it; the database apply
 * and the publish are children of the batch span; the API thread's delivery to the subscriber
 * continues the publish. The service runs as a process, as `npm start` runs it: spans come
 * from its API thread and its consumer thread, each through its own exporter, and all are
 * exported by the time it has stopped on SIGTERM (no waiting on an export interval).
 */

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const reading = (deviceId: string) => ({ deviceId, timestamp: new Date().toISOString(), metrics: [{ name: 'temperature', value: 21.5 }] });

/** Every message of the readings topic (the stream file is shared: the service may still run). */
async function readingsMessages(config: Config): Promise<StreamMessage[]> {
  const stream = await openStream(config, silentLogger);
  try {
    return (await Promise.all((await stream.partitions('readings')).map((partition) => stream.read('readings', partition, 0, 100)))).flat();
  } finally {
    await stream.close();
  }
}

function one(spans: readonly ReceivedSpan[], what: string, where: (span: ReceivedSpan) => boolean): ReceivedSpan {
  const found = spans.filter(where);
  if (found.length !== 1) throw new Error(`expected one ${what}, got ${found.length}: ${JSON.stringify(spans.map((span) => span.name))}`);
  return found[0]!;
}

describe('tracing (OTEL_TRACES_EXPORTER=otlp)', () => {
  let receiver: OtlpReceiver;
  let service: ServiceProcess | undefined;
  const dataDir = newDataDir();
  const adminKey = randomKey();
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
  });
  afterAll(async () => {
    if (service && service.child.exitCode === null) await stopGracefully(service);
    await receiver.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('follows a reading from the ingest request through the stream and the consumer to the subscriber, in the traces of the client', async () => {
    const env = {
      TELEMETRY_DATA_DIR: dataDir,
      TELEMETRY_ADMIN_KEY: adminKey,
      TELEMETRY_STREAM_SYNC: 'normal',
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_SERVICE_NAME: 'telemetry-under-test',
    };
    service = await startServiceProcess(env);
    const graphql = (query: Parameters<typeof print>[0], variables: unknown) => postGraphQL(service!.url, adminKey, print(query), variables);
    expect(await graphql(RegisterDeviceDocument, { input: { id: 'boiler-1' } })).not.toHaveProperty('errors');

    const restTrace = hex(16);
    const restParent = hex(8);
    const graphqlTrace = hex(16);
    const client = connect(service.url.replace(/^http/, 'ws'), adminKey);
    const live = subscribe(client, ReadingAddedDocument, { deviceId: 'boiler-1' });
    try {
      // Readings sent until the subscription delivers one (their spans are in traces of their own).
      await untilLive(
        () => graphql(IngestReadingsDocument, { readings: [reading('boiler-1')] }),
        () => live.received.length > 0,
        'the subscription',
      );
      const delivered = live.received.length;
      const rest = await fetch(`${service.url.replace(/\/graphql$/, '')}/ingest`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json', traceparent: `00-${restTrace}-${restParent}-01` },
        body: JSON.stringify(reading('boiler-1')),
      });
      expect(rest.status).toBe(202);
      const mutation = await fetch(service.url, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json', traceparent: `00-${graphqlTrace}-${hex(8)}-01` },
        body: JSON.stringify({ query: print(IngestReadingsDocument), variables: { readings: [reading('boiler-1'), reading('no-such-device')] } }),
      });
      expect(((await mutation.json()) as { data: { ingestReadings: { acceptedCount: number } } }).data.ingestReadings.acceptedCount).toBe(1);
      await eventually(() => (live.received.length === delivered + 2 ? true : undefined), 15_000, 'the two traced readings delivered');
    } finally {
      live.stop();
      await client.dispose();
    }

    // The stream messages carry the trace context as CloudEvents extension attributes.
    const config = loadConfig({ TELEMETRY_DATA_DIR: dataDir });
    const traced = (await readingsMessages(config)).map((message) => JSON.parse(message.value) as { traceparent?: string });
    expect(traced.filter((event) => event.traceparent?.startsWith(`00-${restTrace}-`))).toHaveLength(1);
    expect(traced.every((event) => /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/.test(event.traceparent ?? ''))).toBe(true);

    expect(await stopGracefully(service)).toBe(0);
    const spans = receiver.spans;
    expect(receiver.refused).toEqual([]);
    expect(new Set(spans.map((span) => span.service))).toEqual(new Set(['telemetry-under-test']));

    // API thread: the request's span continues the client's trace; the send is its child.
    const ingest = one(spans, 'ingest span of the POST', (span) => span.name === 'ingest readings' && span.traceId === restTrace);
    expect(ingest).toMatchObject({ parentSpanId: restParent, kind: 2 });
    expect(ingest.attributes).toEqual(expect.arrayContaining([{ key: 'telemetry.ingest.path', value: { stringValue: 'http' } }]));
    const send = one(spans, 'send span', (span) => span.name === 'send readings' && span.parentSpanId === ingest.spanId);
    expect(send).toMatchObject({ traceId: restTrace, kind: 4 });

    // Consumer thread: the batch span links to the send span the message carried.
    const batch = one(
      spans,
      'batch linked to the send',
      (span) => span.name === 'process readings' && (span.links ?? []).some((link) => link.spanId === send.spanId),
    );
    expect(batch.kind).toBe(5);
    expect(batch.links).toEqual(expect.arrayContaining([expect.objectContaining({ traceId: restTrace, spanId: send.spanId })]));
    one(spans, 'apply span', (span) => span.name === 'apply batch' && span.parentSpanId === batch.spanId && span.traceId === batch.traceId);
    const publish = one(spans, 'publish span', (span) => span.name === 'publish committed' && span.parentSpanId === batch.spanId);
    expect(publish).toMatchObject({ traceId: batch.traceId, kind: 4 });

    // API thread again: the delivery to the subscriber continues the publish.
    const deliver = one(spans, 'delivery span', (span) => span.name === 'deliver readings' && span.parentSpanId === publish.spanId);
    expect(deliver).toMatchObject({ traceId: batch.traceId, kind: 5 });

    // The GraphQL mutation continues its client's trace too, and counts what it accepted and refused.
    const mutation = one(spans, 'ingest span of the mutation', (span) => span.name === 'ingest readings' && span.traceId === graphqlTrace);
    expect(mutation.attributes).toEqual(
      expect.arrayContaining([
        { key: 'telemetry.ingest.path', value: { stringValue: 'graphql' } },
        { key: 'telemetry.ingest.accepted', value: { intValue: 1 } },
        { key: 'telemetry.ingest.rejected', value: { intValue: 1 } },
      ]),
    );
    expect(spans.filter((span) => span.name === 'process readings').flatMap((span) => span.links ?? [])).toEqual(
      expect.arrayContaining([expect.objectContaining({ traceId: graphqlTrace })]),
    );
  });
});

describe('tracing off (the default)', () => {
  it('writes no trace context into the stream messages, even for a request that sends a traceparent', async () => {
    const server = await startTestServer();
    try {
      expect(server.config.tracing).toBeUndefined();
      await server.ok(RegisterDeviceDocument, { input: { id: 'boiler-1' } });
      await server.ok(IngestReadingsDocument, { readings: [reading('boiler-1')] });
      const response = await fetch(`${server.baseUrl}/ingest`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.adminKey}`, 'content-type': 'application/json', traceparent: `00-${hex(16)}-${hex(8)}-01` },
        body: JSON.stringify(reading('boiler-1')),
      });
      expect(response.status).toBe(202);
      await server.app.close();
      const messages = await readingsMessages(server.config);
      expect(messages).toHaveLength(2);
      for (const message of messages) expect(Object.keys(JSON.parse(message.value) as object)).not.toContain('traceparent');
    } finally {
      await server.close();
    }
  });
});
