import { createServer } from 'node:http';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { METRICS_CONTENT_TYPE } from '../metrics/exposition';
import { GracefulClose } from './graceful-close';
import { applyTimeouts, sendJson } from './http-server';
import { listen } from './listen';

export interface MetricsServer {
  readonly port: number;
  /** The /metrics URL. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * GET /metrics on a port of its own (TELEMETRY_METRICS_PORT): kept off the API's port, which
 * may be public, so that Prometheus needs no credential (config.ts says why).
 */
export async function startMetricsServer(
  config: Pick<Config, 'host' | 'http'> & { readonly port: number },
  scrape: () => Promise<string>,
  logger: Logger,
): Promise<MetricsServer> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path !== '/metrics') {
      sendJson(response, 404, { error: { code: 'NOT_FOUND', message: `no route ${path}; this port serves /metrics`, retryable: false } });
      return;
    }
    scrape().then(
      (text) => {
        response.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE });
        response.end(text);
      },
      (error: unknown) => {
        const correlationId = crypto.randomUUID();
        logger.error({ err: error, correlationId }, 'metrics scrape failed');
        sendJson(response, 500, {
          error: { code: 'INTERNAL_SERVER_ERROR', message: `metrics scrape failed (correlation id ${correlationId})`, retryable: true, correlationId },
        });
      },
    );
  });
  applyTimeouts(server, config.http);
  const shutdown = new GracefulClose(server);
  const address = await listen(server, config, 'TELEMETRY_METRICS_PORT');
  return { port: address.port, url: address.url.replace(/\/graphql$/, '/metrics'), close: () => shutdown.close(config.http.drainTimeoutMs) };
}
