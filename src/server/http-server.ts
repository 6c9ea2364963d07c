import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { HttpSettings } from '../config';
import type { Caller } from '../domain/caller';
import { isTelemetryError, TelemetryError } from '../domain/errors';
import type { Logger } from '../logger';
import { bearerToken } from './auth';
import { HTTP_STATUS, retryAfterSecondsOf } from './errors';
import type { HealthProbes } from './health';
import { wantsHtml, type WebRoute } from './web-route';
import type { OidcConsoleRoute } from './oidc-console-route';
import type { ApiMetrics, HttpRoute } from '../metrics/api-metrics';
import { REQUEST_ID_HEADER, requestIdOf } from './request-id';
import type { ClientOrigin } from '../domain/trusted-proxies';

export interface HttpRoutes {
  readonly graphql: (request: IncomingMessage, response: ServerResponse, search: string) => Promise<void>;
  readonly ingest: (request: IncomingMessage, response: ServerResponse, caller: Caller) => Promise<void>;
  /** GET /export: readings as CSV or NDJSON (export-route.ts). */
  readonly export: (request: IncomingMessage, response: ServerResponse, caller: Caller, search: string) => Promise<void>;
  /** POST /import: history through the ingest path (import-route.ts). */
  readonly import: (request: IncomingMessage, response: ServerResponse, caller: Caller, search: string) => Promise<void>;
  readonly probes: HealthProbes;
  /** The web console at /, its assets, and GraphiQL for a browser's GET /graphql (when `graphiql` is set). */
  readonly web: WebRoute;
  readonly graphiql: boolean;
  /** The console's OIDC sign-in at /console/oidc (oidc-console-route.ts), when a client id is set. */
  readonly oidcConsole?: OidcConsoleRoute | undefined;
}

export interface HttpServerOptions {
  readonly routes: HttpRoutes;
  readonly authenticate: (token: string | undefined) => Promise<Caller | undefined>;
  readonly logger: Logger;
  readonly timeouts: HttpSettings;
  readonly metrics?: Pick<ApiMetrics, 'httpRequest'>;
  /** One info line per request answered (TELEMETRY_ACCESS_LOG). */
  readonly accessLog?: boolean;
  /** Who a request came from, through the trusted proxies (client-origin.ts). */
  readonly clientOrigin: (request: IncomingMessage) => ClientOrigin;
}

/** One Node HTTP server: /graphql (HTTP and WebSocket), POST /ingest, GET /export, POST /import, GET /healthz and /readyz, the console at / and /assets/. */
export function createHttpServer(options: HttpServerOptions): Server {
  const { metrics, accessLog, logger, clientOrigin } = options;
  const server = createServer((request, response) => {
    const requestId = requestIdOf(request);
    response.setHeader(REQUEST_ID_HEADER, requestId);
    if (metrics || accessLog) {
      const started = performance.now();
      response.once('finish', () => {
        const seconds = (performance.now() - started) / 1000;
        const route = routeOf(request.url);
        metrics?.httpRequest(route, response.statusCode, seconds);
        // The path without its query string: a GET /graphql query may carry variables.
        if (accessLog) {
          const { address: client, protocol } = clientOrigin(request);
          logger.info(
            { requestId, client, protocol, method: request.method, route, status: response.statusCode, durationMs: Math.round(seconds * 1e4) / 10 },
            `${request.method ?? '?'} ${route} ${response.statusCode}`,
          );
        }
      });
    }
    handle(options, request, response).catch((error: unknown) => sendError(response, error, logger, requestId, () => clientOrigin(request).address));
  });
  applyTimeouts(server, options.timeouts);
  return server;
}

/** The route a request path belongs to: a bounded metrics label, whatever path a client sends. */
function routeOf(url: string | undefined): HttpRoute {
  const pathname = (url ?? '/').split('?', 1)[0]!;
  if (pathname === '/graphql') return 'graphql';
  if (pathname === '/ingest') return 'ingest';
  if (pathname === '/export') return 'export';
  if (pathname === '/import') return 'import';
  if (pathname === '/healthz') return 'healthz';
  if (pathname === '/readyz') return 'readyz';
  if (pathname === '/' || pathname.startsWith('/assets/') || pathname.startsWith('/console/')) return 'web';
  return 'other';
}

/** Keep-alive and request timeouts (see HttpSettings for why each value). */
export function applyTimeouts(server: Server, timeouts: HttpSettings): void {
  server.keepAliveTimeout = timeouts.keepAliveTimeoutMs;
  server.headersTimeout = timeouts.headersTimeoutMs;
  server.requestTimeout = timeouts.requestTimeoutMs;
}

async function handle(options: HttpServerOptions, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://localhost');
  if (url.pathname.startsWith('/assets/')) {
    options.routes.web.asset(request, response, url.pathname);
    return;
  }
  switch (url.pathname) {
    case '/':
      options.routes.web.console(request, response);
      return;
    case '/graphql':
      if (options.routes.graphiql && wantsHtml(request, url.search)) {
        options.routes.web.graphiql(request, response);
        return;
      }
      return options.routes.graphql(request, response, url.search);
    case '/ingest': {
      if (request.method !== 'POST') {
        response.setHeader('allow', 'POST');
        throw new TelemetryError('BAD_USER_INPUT', 'use POST', { details: { status: 405 } });
      }
      const caller = await options.authenticate(bearerToken(request.headers.authorization));
      if (!caller) throw new TelemetryError('UNAUTHENTICATED', 'send a valid API key as "Authorization: Bearer <key>"');
      return options.routes.ingest(request, response, caller);
    }
    case '/export':
    case '/import': {
      const caller = await options.authenticate(bearerToken(request.headers.authorization));
      if (!caller) throw new TelemetryError('UNAUTHENTICATED', 'send a valid API key as "Authorization: Bearer <key>"');
      return options.routes[url.pathname === '/export' ? 'export' : 'import'](request, response, caller, url.search);
    }
    case '/console/oidc':
    case '/console/oidc/token': {
      const route = options.routes.oidcConsole;
      // Every console load asks: "not configured" is an answer (204), not a failed request
      // that browsers log as an error. The token exchange has nothing to forward to.
      if (!route && url.pathname === '/console/oidc' && (request.method === 'GET' || request.method === 'HEAD')) {
        response.writeHead(204, { 'cache-control': 'no-store' }).end();
        return;
      }
      if (!route) throw new TelemetryError('NOT_FOUND', 'OIDC sign-in is not configured here (TELEMETRY_OIDC_CLIENT_ID): sign in with an API key');
      return url.pathname === '/console/oidc' ? route.config(request, response) : route.token(request, response);
    }
    case '/healthz':
    case '/readyz': {
      const answer = await (url.pathname === '/healthz' ? options.routes.probes.live() : options.routes.probes.ready());
      sendJson(response, answer.ok ? 200 : 503, answer.body);
      return;
    }
    default:
      throw new TelemetryError('NOT_FOUND', `no route ${url.pathname}; the API is at /graphql, the web console at /`);
  }
}

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  response.end(JSON.stringify(body));
}

/** Plain-HTTP errors: `{ error: { code, message, retryable } }`, never a stack trace. */
function sendError(response: ServerResponse, error: unknown, logger: Logger, requestId: string, client: () => string): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  if (isTelemetryError(error)) {
    const status = typeof error.details?.['status'] === 'number' ? error.details['status'] : HTTP_STATUS[error.code];
    // The same hint as /graphql: a header for HTTP clients, a field for those reading the body.
    const retryAfterSeconds = retryAfterSecondsOf(error);
    if (retryAfterSeconds !== undefined) response.setHeader('retry-after', String(retryAfterSeconds));
    if (error.code === 'UNAUTHENTICATED') response.setHeader('www-authenticate', 'Bearer');
    const { status: _status, ...rest } = error.details ?? {};
    const details = retryAfterSeconds === undefined ? rest : { ...rest, retryAfterSeconds };
    sendJson(response, status, { error: { code: error.code, message: error.message, retryable: error.retryable, ...details } });
    return;
  }
  // The request id is the correlation id: the one the client quotes finds every line of its request.
  const correlationId = requestId;
  logger.error({ err: error, correlationId, requestId, client: client() }, 'internal error');
  sendJson(response, 500, {
    error: { code: 'INTERNAL_SERVER_ERROR', message: `Internal server error (correlation id ${correlationId})`, retryable: false, correlationId },
  });
}
