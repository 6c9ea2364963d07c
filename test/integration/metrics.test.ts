import path from 'node:path';
import { streamFile } from '../../src/composition/backends';
import { toEnvelope } from '../../src/domain/cloud-event';
import { EmbeddedStream } from '../../src/stream/embedded/embedded-stream';
import { IngestReadingsDocument, ReadingAddedDocument, RegisterDeviceDocument } from '../generated/graphql';
import { scrape, total, type Sample } from '../support/metrics';
import { startApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { eventually, newDataDir, randomKey, startTestServer, type TestServer } from '../support/server';
import { rmSync } from 'node:fs';
import { holdWriteLock } from '../support/write-lock';
import { connect, subscribe } from '../support/ws-client';

/**
 * GET /metrics on TELEMETRY_METRICS_PORT tells an operator what the pipeline did: after a
 * known flow, the API thread's counters (accepted and rejected by path and code, deliveries)
 * and the consumer thread's (applied, dead letters) have exactly the expected values in one
 * scrape; the lag grows while the consumer is held back and returns to zero when it catches up.
 */

const reading = (deviceId: string, timestamp: number) => ({ deviceId, timestamp, metrics: [{ name: 'temperature', value: 20 }] });

async function ingestHttp(server: TestServer, body: unknown): Promise<Response> {
  return fetch(`${server.baseUrl}/ingest`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** Scrapes until `ready` holds for the samples (the consumer applies on its own thread). */
function scrapeUntil(server: TestServer, ready: (samples: Sample[]) => boolean, what: string): Promise<Sample[]> {
  return eventually(
    async () => {
      const samples = await scrape(server.app.metricsUrl!);
      return ready(samples) ? samples : undefined;
    },
    30_000,
    what,
  );
}

describe('GET /metrics', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startTestServer({ TELEMETRY_METRICS_PORT: '0' });
    await server.ok(RegisterDeviceDocument, { input: { id: 'boiler-1' } });
  });
  afterEach(() => server.close());

  it('is served on its own port, not on the API port', async () => {
    expect(server.app.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(new URL(server.app.metricsUrl!).port).not.toBe(String(server.app.port));
    // Bodies are read to the end: an unread one keeps its keep-alive socket open after the test.
    const response = await fetch(server.app.metricsUrl!);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await response.text()).toContain('telemetry_');
    const onApiPort = await fetch(`${server.baseUrl}/metrics`);
    await onApiPort.arrayBuffer();
    expect(onApiPort.status).toBe(404);
  });

  it('counts what was accepted, rejected, applied, delivered and dead-lettered, from both threads in one scrape', async () => {
    const client = connect(server.app.wsUrl, server.adminKey);
    const live = subscribe(client, ReadingAddedDocument, { deviceId: 'boiler-1' });
    try {
      await eventually(() => (server.app.hub.activeSubscriptions === 1 ? true : undefined), 15_000, 'the subscription');
      const now = Date.now();
      // GraphQL: two accepted, one for a device that does not exist.
      const viaGraphql = await server.ok(IngestReadingsDocument, {
        readings: [reading('boiler-1', now - 3000), reading('boiler-1', now - 2900), reading('ghost', now - 2800)].map((r) => ({
          ...r,
          timestamp: new Date(r.timestamp).toISOString(),
        })),
      });
      expect(viaGraphql.ingestReadings).toMatchObject({ acceptedCount: 2, rejectedCount: 1 });
      // HTTP: one accepted, one item that is not a JSON object (refused before validation).
      expect((await ingestHttp(server, [reading('boiler-1', now - 2000), 42])).status).toBe(202);
      // Another producer writes a reading for an unknown device straight into the log: a dead letter.
      const producer = new EmbeddedStream({ file: streamFile(server.config), partitions: server.config.partitions });
      const envelope = toEnvelope(
        { tenantId: 'default', deviceId: 'never-registered', eventId: 'ghost-event', timestamp: now - 1000, metrics: [{ name: 't', value: 1 }] },
        'io.telemetry',
      );
      await producer.produce('readings', [{ key: 'default/never-registered', value: JSON.stringify(envelope) }]);
      await producer.close();
      await eventually(() => (live.received.length === 3 ? true : undefined), 15_000, 'three deliveries');
      // A subscriber resuming after the first reading replays the two after it from the database.
      const resumed = subscribe(client, ReadingAddedDocument, { deviceId: 'boiler-1', after: live.received[0]!.data!.readingAdded.cursor });
      await eventually(() => (resumed.received.length === 2 ? true : undefined), 15_000, 'the replay');
      resumed.stop();

      const samples = await scrapeUntil(server, (s) => total(s, 'telemetry_consumer_dead_letters_total') === 1, 'the dead letter');
      expect(total(samples, 'telemetry_ingest_readings_accepted_total', { path: 'graphql' })).toBe(2);
      expect(total(samples, 'telemetry_ingest_readings_accepted_total', { path: 'http' })).toBe(1);
      expect(total(samples, 'telemetry_ingest_readings_rejected_total', { path: 'graphql', code: 'UNKNOWN_DEVICE' })).toBe(1);
      expect(total(samples, 'telemetry_ingest_readings_rejected_total', { path: 'http', code: 'INVALID_ENVELOPE' })).toBe(1);
      expect(total(samples, 'telemetry_ingest_readings_rejected_total')).toBe(2);
      expect(total(samples, 'telemetry_ingest_batch_size_count')).toBe(2);
      expect(total(samples, 'telemetry_consumer_readings_applied_total')).toBe(3);
      expect(total(samples, 'telemetry_consumer_dead_letters_total')).toBe(1);
      expect(total(samples, 'telemetry_subscription_deliveries_total')).toBe(5);
      expect(total(samples, 'telemetry_subscription_resumes_total', { feed: 'readings' })).toBe(1);
      expect(total(samples, 'telemetry_subscription_replayed_events_total', { feed: 'readings' })).toBe(2);
      expect(total(samples, 'telemetry_websocket_connections')).toBe(1);
      expect(total(samples, 'telemetry_websocket_subscriptions', { kind: 'readingAdded' })).toBe(1);
      expect(total(samples, 'telemetry_http_requests_total', { route: 'ingest', code: '202' })).toBe(1);
      expect(total(samples, 'telemetry_graphql_operation_duration_seconds_count', { operation_type: 'mutation', outcome: 'OK' })).toBe(2);
      expect(total(samples, 'telemetry_consumer_batches_total')).toBeGreaterThanOrEqual(1);
      expect(total(samples, 'telemetry_consumer_lag_messages')).toBe(0);
      expect(total(samples, 'telemetry_store_file_bytes')).toBeGreaterThan(0);
      expect(total(samples, 'nodejs_eventloop_lag_seconds')).toBeDefined();
      // Bounded labels only: no device id, tenant or key anywhere in the scrape.
      const labelValues = samples.flatMap((s) => Object.values(s.labels));
      for (const secret of ['boiler-1', 'ghost', 'never-registered', 'default', server.adminKey]) expect(labelValues).not.toContain(secret);
    } finally {
      live.stop();
      await client.dispose();
    }
  });

  it('counts the ingest mutations the compiled path answers, each stored once', async () => {
    // The same document five times: Apollo answers the first two (the second compiles it), the
    // compiled path the other three, with the same answer.
    const query = 'mutation One($r: ReadingInput!) { ingestReading(reading: $r) { acceptedCount rejected { code } } }';
    const now = Date.now();
    const answers: string[] = [];
    for (let n = 0; n < 5; n++) {
      const response = await fetch(`${server.baseUrl}/graphql`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ query, variables: { r: { ...reading('boiler-1', now - 5000 + n), timestamp: new Date(now - 5000 + n).toISOString() } } }),
      });
      answers.push(`${response.status} ${response.headers.get('content-type')} ${await response.text()}`);
    }
    expect(new Set(answers)).toEqual(new Set(['200 application/json; charset=utf-8 {"data":{"ingestReading":{"acceptedCount":1,"rejected":[]}}}\n']));
    const samples = await scrapeUntil(server, (s) => total(s, 'telemetry_consumer_readings_applied_total') === 5, 'five readings applied');
    expect(total(samples, 'telemetry_graphql_compiled_answers_total')).toBe(3);
    expect(total(samples, 'telemetry_ingest_readings_accepted_total', { path: 'graphql' })).toBe(5);
    // The device's registration and the five readings.
    expect(total(samples, 'telemetry_graphql_operation_duration_seconds_count', { operation_type: 'mutation', outcome: 'OK' })).toBe(6);
  });

  it('shows the lag per partition growing while the consumer is held back, and back to zero once it catches up', async () => {
    await scrapeUntil(server, (s) => total(s, 'telemetry_consumer_lag_messages') === 0, 'an idle consumer');
    const lock = holdWriteLock(path.join(server.dataDir, 'telemetry.db'));
    let released = false;
    try {
      expect((await ingestHttp(server, [reading('boiler-1', Date.now() - 2000), reading('boiler-1', Date.now() - 1000)])).status).toBe(202);
      // Both readings are for one device, so in one partition; its oldest unapplied message only ages.
      // The lag can show before the consumer's first attempt has failed on the lock: wait for both.
      const held = await scrapeUntil(
        server,
        (s) =>
          total(s, 'telemetry_consumer_lag_messages') === 2 &&
          (total(s, 'telemetry_consumer_lag_seconds') ?? 0) > 0 &&
          (total(s, 'telemetry_consumer_retries_total') ?? 0) > 0,
        'the lag and a retry while held back',
      );
      const lagging = held.filter((s) => s.name === 'telemetry_consumer_lag_messages' && s.value > 0);
      expect(lagging).toEqual([expect.objectContaining({ value: 2, labels: { partition: expect.stringMatching(/^\d+$/) } })]);
      expect(total(held, 'telemetry_consumer_readings_applied_total') ?? 0).toBe(0); // nothing applied while held
      lock.release();
      released = true;
      const caughtUp = await scrapeUntil(server, (s) => total(s, 'telemetry_consumer_lag_messages') === 0, 'the lag back to zero');
      expect(total(caughtUp, 'telemetry_consumer_lag_seconds')).toBe(0);
      expect(total(caughtUp, 'telemetry_consumer_readings_applied_total')).toBe(2);
    } finally {
      if (!released) lock.release();
    }
  });
});

describe('GET /metrics on the consumer role', () => {
  it("serves the consumer's own metrics and the process's, on its metrics port", async () => {
    const dataDir = newDataDir();
    const config = loadConfig({
      PORT: '0',
      TELEMETRY_METRICS_PORT: '0',
      TELEMETRY_DATA_DIR: dataDir,
      TELEMETRY_ADMIN_KEY: randomKey(),
      TELEMETRY_STREAM_SYNC: 'normal',
      LOG_LEVEL: 'silent',
    });
    const consumer = await startApp(config, createLogger('silent'), 'consumer');
    try {
      // Nothing is registered in this store: the reading is a dead letter, counted by this role.
      const producer = new EmbeddedStream({ file: streamFile(config), partitions: config.partitions });
      const envelope = toEnvelope(
        { tenantId: 'default', deviceId: 'unregistered', eventId: 'e-1', timestamp: Date.now() - 1000, metrics: [{ name: 't', value: 1 }] },
        'io.telemetry',
      );
      await producer.produce('readings', [{ key: 'default/unregistered', value: JSON.stringify(envelope) }]);
      await producer.close();
      const samples = await eventually(
        async () => {
          const scraped = await scrape(consumer.metricsUrl!);
          return total(scraped, 'telemetry_consumer_dead_letters_total') === 1 ? scraped : undefined;
        },
        30_000,
        'the dead letter',
      );
      expect(total(samples, 'telemetry_consumer_lag_messages')).toBe(0);
      expect(total(samples, 'telemetry_stream_file_bytes')).toBeGreaterThan(0);
      expect(total(samples, 'process_cpu_seconds_total')).toBeGreaterThan(0);
      expect(total(samples, 'telemetry_http_requests_total')).toBeUndefined();
    } finally {
      await consumer.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
