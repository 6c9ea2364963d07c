import { ApiMetrics } from '../../src/metrics/api-metrics';
import { ConsumerMetrics, type ConsumerTotals, type PartitionLag } from '../../src/metrics/consumer-metrics';
import { TrafficSummary } from '../../src/metrics/traffic-summary';
import { recordingLogger } from '../support/logger';

/**
 * The once-a-minute line: what happened in the interval (from the API and consumer metrics),
 * silent while nothing happens, a warning when the consumer lags or retries.
 */
function setUp() {
  const api = new ApiMetrics();
  api.watchWebSockets(
    () => 2,
    () => new Map(),
  );
  let totals: ConsumerTotals = { appliedReadings: 0, deadLetters: 0, duplicates: 0, retries: 0 };
  let lag: PartitionLag[] = [];
  const consumer = new ConsumerMetrics(
    () => totals,
    async () => lag,
  );
  const logger = recordingLogger();
  const summary = new TrafficSummary(async () => [...(await api.registry.getMetricsAsJSON()), ...(await consumer.json())], logger, 60);
  return {
    api,
    logger,
    summary,
    consumerDid: (next: Partial<ConsumerTotals>) => (totals = { ...totals, ...next }),
    lagIs: (next: PartitionLag[]) => (lag = next),
  };
}

describe('traffic summary', () => {
  it("reports the interval's readings, requests and errors, and the lag and connections now", async () => {
    const { api, logger, summary, consumerDid } = setUp();
    api.ingested('http', 5, 4, ['UNKNOWN_DEVICE']);
    api.httpRequest('ingest', 202, 0.01);
    api.httpRequest('graphql', 500, 0.01);
    consumerDid({ appliedReadings: 4 });
    await summary.tick();
    expect(logger.lines).toEqual([
      {
        level: 'info',
        fields: { accepted: 4, rejected: 1, applied: 4, requests: 2, errors: 1, deadLetters: 0, retries: 0, connections: 2, lagMessages: 0, lagSeconds: 0 },
        message: expect.stringMatching(/^readings accepted 4, rejected 1, applied 4; lag 0 messages/),
      },
    ]);
    // The next interval counts from there.
    api.ingested('graphql', 1, 1, []);
    await summary.tick();
    expect(logger.lines[1]?.fields).toMatchObject({ accepted: 1, rejected: 0, applied: 0, requests: 0, errors: 0 });
  });

  it('stays silent while nothing happens and nothing waits', async () => {
    const { logger, summary } = setUp();
    await summary.tick();
    await summary.tick();
    expect(logger.lines).toEqual([]);
  });

  it('warns when the consumer lags beyond the threshold or retried batches', async () => {
    const { logger, summary, consumerDid, lagIs } = setUp();
    lagIs([{ partition: 0, messages: 120, seconds: 75 }]);
    await summary.tick();
    lagIs([]);
    consumerDid({ retries: 3 });
    await summary.tick();
    expect(logger.lines.map((line) => [line.level, line.fields['lagMessages'], line.fields['retries']])).toEqual([
      ['warn', 120, 0],
      ['warn', 0, 3],
    ]);
  });
});
