import * as common from 'oci-common';
import { MonitoringClient, models } from 'oci-monitoring';
import { Counter, type Registry } from 'prom-client';
import { hostname } from 'node:os';
import type { OciMonitoringSettings } from '../config';
import type { Logger } from '../logger';
import type { MetricsJson } from '../metrics/consumer-metrics';
import { MonitoringPublisher, type PostMetricData } from '../metrics/monitoring-publisher';
import { ociAuthentication } from '../stream/oci/oci-auth';
import { routeOciRetrierWarnings } from '../stream/oci/sdk-console';

/** Longest wait for one PostMetricData, ms: a hung request must not hold the next minutes back (or a shutdown). */
const POST_TIMEOUT_MS = 10_000;

/** PostMetricData of OCI Monitoring, authenticated like the stream (TELEMETRY_OCI_AUTH). */
export async function ociPostMetricData(settings: OciMonitoringSettings): Promise<PostMetricData> {
  // The publisher retries at its own pace (the next interval); the SDK's retries would only stack up.
  const client = new MonitoringClient(
    { authenticationDetailsProvider: await ociAuthentication(settings) },
    { retryConfiguration: common.NoRetryConfigurationDetails },
  );
  client.endpoint = settings.endpoint;
  return async (metricData) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`PostMetricData did not answer within ${POST_TIMEOUT_MS} ms`)), POST_TIMEOUT_MS);
    });
    try {
      const response = await Promise.race([
        client.postMetricData({
          postMetricDataDetails: {
            metricData: metricData.map((datum) => ({ ...datum, dimensions: { ...datum.dimensions }, datapoints: [...datum.datapoints] })),
            // One refused stream (say, a name OCI rejects) must not cost the others.
            batchAtomicity: models.PostMetricDataDetails.BatchAtomicity.NonAtomic,
          },
        }),
        timeout,
      ]);
      return { failedMetricsCount: response.postMetricDataResponseDetails.failedMetricsCount };
    } finally {
      clearTimeout(timer);
    }
  };
}

/**
 * Starts publishing this process's key metrics to OCI Monitoring (metrics/monitoring-publisher.ts)
 * and counts its posts in `registry` (telemetry_oci_monitoring_posts_total by outcome).
 */
export async function startOciMonitoring(
  settings: OciMonitoringSettings,
  metrics: () => Promise<MetricsJson>,
  registry: Registry,
  role: string,
  logger: Logger,
): Promise<{ stop(): Promise<void> }> {
  const posts = new Counter({
    name: 'telemetry_oci_monitoring_posts_total',
    help: 'Posts of metrics to OCI Monitoring, by outcome: sent, failed (retried at the next interval) or dropped (after 3 failures, or too many waiting).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const log = logger.child({ component: 'oci-monitoring' });
  const publisher = new MonitoringPublisher(metrics, await ociPostMetricData(settings), {
    namespace: settings.namespace,
    compartmentId: settings.compartmentId,
    dimensions: { node: hostname(), role },
    logger: log,
    onOutcome: (outcome) => posts.inc({ outcome }),
  });
  // The publisher logs each failed post itself; the SDK's plain-text line for it would break the JSON log.
  const restoreConsole = routeOciRetrierWarnings(log);
  publisher.start(settings.intervalMs);
  return {
    async stop() {
      try {
        await publisher.stop();
      } finally {
        restoreConsole();
      }
    },
  };
}
