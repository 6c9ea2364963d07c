import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ociSignatureValid, type OciSigners } from './oci-signature';

/**
 * A local stand-in for OCI Monitoring's metric ingestion API (PostMetricData, version
 * 20180401, on the telemetry-ingestion endpoint), for tests: the real `oci-monitoring` client
 * talks to it over HTTP. It checks each request's signature (oci-signature.ts, as the
 * Streaming stand-in does) and the payload's shape against the API's rules: namespace and
 * metric name patterns, a compartment OCID, 1-20 dimensions, datapoints with an RFC 3339
 * timestamp and a finite value, at most 50 metric streams; and keeps what it accepted.
 */

export interface PostedMetric {
  readonly namespace: string;
  readonly compartmentId: string;
  readonly name: string;
  readonly dimensions: Record<string, string>;
  readonly datapoints: { readonly timestamp: string; readonly value: number }[];
}

export interface MonitoringStandin {
  readonly endpoint: string;
  /** Every metric stream of every accepted post, in order. */
  readonly posted: PostedMetric[];
  /** Requests refused: a bad signature, or a payload not shaped as the API requires (with why). */
  readonly refused: string[];
  /** Answers the next `count` posts with 500 InternalServerError. */
  failNext(count: number): void;
  close(): Promise<void>;
}

const NAMESPACE = /^(?!oci_|oracle_)[a-z][a-z0-9_]*[a-z0-9]$/;
const METRIC_NAME = /^[A-Za-z][A-Za-z0-9_.-]*$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Why a PostMetricData body is not what the API accepts; undefined when it is. */
function shapeProblem(body: unknown): string | undefined {
  const details = body as { metricData?: unknown; batchAtomicity?: unknown } | null;
  if (typeof details !== 'object' || details === null || !Array.isArray(details.metricData)) return 'metricData is not a list';
  if (details.metricData.length === 0 || details.metricData.length > 50) return `metricData holds ${details.metricData.length} streams (1-50)`;
  if (details.batchAtomicity !== undefined && details.batchAtomicity !== 'ATOMIC' && details.batchAtomicity !== 'NON_ATOMIC') return 'batchAtomicity';
  for (const datum of details.metricData as { [K in keyof PostedMetric]?: unknown }[]) {
    if (typeof datum.namespace !== 'string' || !NAMESPACE.test(datum.namespace)) return `namespace ${String(datum.namespace)}`;
    if (typeof datum.compartmentId !== 'string' || !/^ocid1\.(compartment|tenancy)\./.test(datum.compartmentId)) return 'compartmentId';
    if (typeof datum.name !== 'string' || !METRIC_NAME.test(datum.name)) return `name ${String(datum.name)}`;
    const dimensions = Object.entries((datum.dimensions ?? {}) as Record<string, unknown>);
    if (dimensions.length === 0 || dimensions.length > 20) return `${datum.name}: ${dimensions.length} dimensions (1-20)`;
    if (dimensions.some(([key, value]) => key.length === 0 || typeof value !== 'string' || value.length === 0)) return `${datum.name}: an empty dimension`;
    if (!Array.isArray(datum.datapoints) || datum.datapoints.length === 0) return `${datum.name}: no datapoints`;
    for (const point of datum.datapoints as { timestamp?: unknown; value?: unknown }[]) {
      if (typeof point.timestamp !== 'string' || !RFC3339.test(point.timestamp)) return `${datum.name}: timestamp ${String(point.timestamp)}`;
      if (typeof point.value !== 'number' || !Number.isFinite(point.value)) return `${datum.name}: value ${String(point.value)}`;
    }
  }
  return undefined;
}

export async function startMonitoringStandin(signers: OciSigners): Promise<MonitoringStandin> {
  const posted: PostedMetric[] = [];
  const refused: string[] = [];
  let failures = 0;
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const answer = (status: number, payload: unknown) =>
        response.writeHead(status, { 'content-type': 'application/json', 'opc-request-id': `standin-${Date.now()}` }).end(JSON.stringify(payload));
      if (request.method !== 'POST' || request.url !== '/20180401/metrics') {
        refused.push(`${request.method} ${request.url}`);
        answer(404, { code: 'NotAuthorizedOrNotFound', message: `no route ${request.url}` });
        return;
      }
      if (!ociSignatureValid(signers, request, body)) {
        refused.push('signature');
        answer(401, { code: 'NotAuthenticated', message: 'The required information to complete authentication was not provided or was incorrect.' });
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        parsed = undefined;
      }
      const problem = shapeProblem(parsed);
      if (problem) {
        refused.push(problem);
        answer(400, { code: 'InvalidParameter', message: problem });
        return;
      }
      if (failures > 0) {
        failures--;
        answer(500, { code: 'InternalServerError', message: 'stand-in failure' });
        return;
      }
      posted.push(...(parsed as { metricData: PostedMetric[] }).metricData);
      answer(200, { failedMetricsCount: 0, failedMetrics: [] });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    posted,
    refused,
    failNext: (count) => {
      failures = count;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
