import { createServer } from 'node:http';
import type { Config } from '../config';
import { GracefulClose } from './graceful-close';
import type { HealthProbes } from './health';
import { applyTimeouts, sendJson } from './http-server';
import { listen } from './listen';

export interface HealthServer {
  readonly port: number;
  /** The /healthz URL. */
  readonly url: string;
  close(): Promise<void>;
}

/** The consumer role's only HTTP server: GET /healthz and /readyz for its probes. */
export async function startHealthServer(config: Pick<Config, 'port' | 'host' | 'http'>, probes: HealthProbes): Promise<HealthServer> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const probe = path === '/healthz' ? () => probes.live() : path === '/readyz' ? () => probes.ready() : undefined;
    if (!probe) {
      sendJson(response, 404, {
        error: { code: 'NOT_FOUND', message: `no route ${path}; this consumer serves /healthz and /readyz`, retryable: false },
      });
      return;
    }
    probe().then(
      (answer) => sendJson(response, answer.ok ? 200 : 503, answer.body),
      (error: unknown) => sendJson(response, 500, { error: { code: 'INTERNAL_SERVER_ERROR', message: String(error), retryable: false } }),
    );
  });
  applyTimeouts(server, config.http);
  const shutdown = new GracefulClose(server);
  const address = await listen(server, config);
  return { port: address.port, url: address.url.replace(/\/graphql$/, '/healthz'), close: () => shutdown.close(config.http.drainTimeoutMs) };
}
