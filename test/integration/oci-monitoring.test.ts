import { IngestReadingsDocument, RegisterDeviceDocument } from '../generated/graphql';
import { scrape, total } from '../support/metrics';
import { startMonitoringStandin, type MonitoringStandin } from '../support/oci-monitoring-standin';
import { createOciTestIdentity } from '../support/oci-test-auth';
import { eventually, startTestServer } from '../support/server';

/**
 * With TELEMETRY_OCI_MONITORING_ENDPOINT set, the service posts its key metrics to OCI
 * Monitoring with the real `oci-monitoring` client, here against a local stand-in of the
 * ingestion API that checks each request's signature and the payload's shape. The last
 * interval is posted on a graceful stop, so the test waits on no timer; a Monitoring that
 * refuses every post costs the pipeline nothing.
 */

const identity = createOciTestIdentity();
const COMPARTMENT = 'ocid1.compartment.oc1..standincompartment';
const reading = (deviceId: string, secondsAgo = 0) => ({
  deviceId,
  timestamp: new Date(Date.now() - secondsAgo * 1000).toISOString(),
  metrics: [{ name: 'temperature', value: 20 }],
});

describe('OCI Monitoring (TELEMETRY_OCI_MONITORING_ENDPOINT)', () => {
  let standin: MonitoringStandin;
  beforeEach(async () => {
    standin = await startMonitoringStandin({ keyId: identity.keyId, publicKeyPem: identity.publicKeyPem });
  });
  afterEach(() => standin.close());

  const monitoringEnv = (configFile: string) => ({
    TELEMETRY_METRICS_PORT: '0',
    TELEMETRY_OCI_MONITORING_ENDPOINT: standin.endpoint,
    TELEMETRY_OCI_MONITORING_COMPARTMENT_OCID: COMPARTMENT,
    TELEMETRY_OCI_AUTH: 'config-file',
    TELEMETRY_OCI_CONFIG_FILE: configFile,
  });

  it('posts signed, well-formed datapoints whose counts are what the pipeline did', async () => {
    const server = await startTestServer(monitoringEnv(identity.configFile));
    try {
      await server.ok(RegisterDeviceDocument, { input: { id: 'boiler-1' } });
      const result = await server.ok(IngestReadingsDocument, { readings: [reading('boiler-1', 2), reading('boiler-1', 1), reading('unknown')] });
      expect(result.ingestReadings.acceptedCount).toBe(2);
      await eventually(
        async () => (total(await scrape(server.app.metricsUrl!), 'telemetry_consumer_readings_applied_total') === 2 ? true : undefined),
        30_000,
        'the readings applied',
      );
    } finally {
      await server.close();
    }
    expect(standin.refused).toEqual([]);
    const posted = standin.posted;
    expect(new Set(posted.map((metric) => metric.name))).toEqual(
      new Set(['ReadingsAccepted', 'ReadingsApplied', 'DeadLetters', 'AnomaliesRaised', 'ConsumerLagMessages', 'ConsumerLagSeconds']),
    );
    for (const metric of posted) {
      expect(metric).toMatchObject({ namespace: 'iot_telemetry', compartmentId: COMPARTMENT, dimensions: { role: 'all', node: expect.any(String) } });
    }
    const sum = (name: string) =>
      posted.filter((metric) => metric.name === name).reduce((all, metric) => all + metric.datapoints.reduce((s, p) => s + p.value, 0), 0);
    expect(sum('ReadingsAccepted')).toBe(2);
    expect(sum('ReadingsApplied')).toBe(2);
    expect(sum('DeadLetters')).toBe(0);
    // The last datapoint of the lag is taken once everything was applied.
    const lag = posted.filter((metric) => metric.name === 'ConsumerLagMessages');
    expect(lag[lag.length - 1]!.datapoints[0]!.value).toBe(0);
  });

  it('never holds the pipeline up when Monitoring refuses the posts (here: a key it does not know)', async () => {
    const stranger = createOciTestIdentity();
    const server = await startTestServer(monitoringEnv(stranger.configFile));
    try {
      await server.ok(RegisterDeviceDocument, { input: { id: 'boiler-1' } });
      expect((await server.ok(IngestReadingsDocument, { readings: [reading('boiler-1')] })).ingestReadings.acceptedCount).toBe(1);
      await eventually(
        async () => (total(await scrape(server.app.metricsUrl!), 'telemetry_consumer_readings_applied_total') === 1 ? true : undefined),
        30_000,
        'the reading applied',
      );
    } finally {
      await server.close();
    }
    expect(standin.posted).toEqual([]);
    expect(standin.refused).toEqual(['signature']);
  });
});
