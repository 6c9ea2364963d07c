import { IngestReadingDocument, ReadingsDocument, RegisterDeviceDocument } from '../generated/graphql';
import { eventually, startTestServer, type TestServer } from '../support/server';

/**
 * Role `all` on the embedded log: the log's writer thread wakes the consumer once a produce is
 * durable (the API thread no longer does). With the consumer's idle poll set to a minute, each
 * reading below is applied within the wait only if that wake reaches the consumer thread.
 */
describe('the consumer of role all on the embedded log', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ TELEMETRY_CONSUMER_POLL_MS: '60000' });
    await server.ok(RegisterDeviceDocument, { input: { id: 'pump-1' } });
  });
  afterAll(() => server.close());

  it('is woken by each durable produce, not by its poll', async () => {
    const start = Date.now() - 60_000;
    for (let i = 1; i <= 3; i++) {
      const ingested = await server.ok(IngestReadingDocument, {
        reading: { deviceId: 'pump-1', timestamp: new Date(start + i * 1000).toISOString(), metrics: [{ name: 'flow', value: i }] },
      });
      expect(ingested.ingestReading.acceptedCount).toBe(1);
      const page = await eventually(
        async () => {
          const result = await server.ok(ReadingsDocument, { deviceId: 'pump-1', metric: 'flow', order: 'OLDEST_FIRST' });
          return result.readings.edges.length === i ? result : undefined;
        },
        20_000,
        `reading ${i} applied`,
      );
      expect(page.readings.edges.map((edge) => edge.node.value)).toEqual(Array.from({ length: i }, (_, k) => k + 1));
    }
  });
});
