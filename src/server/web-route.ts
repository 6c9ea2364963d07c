import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { TelemetryError } from '../domain/errors';

/**
 * The web console and GraphiQL: files `scripts/build-web.js` bundled into dist/web. Pages
 * are `console.html` and `graphiql.html`; everything they load is under `assets/`, with a
 * content hash in its name, so it can be cached for a year while the pages revalidate.
 */
export const WEB_DIR = path.join(__dirname, '..', '..', 'web');

/**
 * Same-origin only: no inline script, no third-party origin. connect-src 'self' covers the
 * page's own ws:/wss: origin (CSP Level 3). Styles set through the CSSOM (uPlot, React) are
 * not inline styles in the CSP sense, so style-src needs no 'unsafe-inline'.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.png': 'image/png',
};

interface WebFile {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

export interface WebRoute {
  /** GET / : the console. */
  console(request: IncomingMessage, response: ServerResponse): void;
  /** GET /graphql from a browser: GraphiQL. */
  graphiql(request: IncomingMessage, response: ServerResponse): void;
  /** GET /assets/<name>. */
  asset(request: IncomingMessage, response: ServerResponse, pathname: string): void;
}

/** Loads the built files once (a few MB): serving them is then a lookup, with no disk I/O per request. */
export function createWebRoute(dir: string = WEB_DIR): WebRoute {
  const files = existsSync(dir) ? loadFiles(dir) : new Map<string, WebFile>();
  const page = (name: string) => (request: IncomingMessage, response: ServerResponse) => {
    const file = files.get(name);
    if (!file) throw new TelemetryError('NOT_FOUND', `the web console is not built in this installation (${name}): run "npm run build"`);
    // A page names the hashed assets of its build: revalidated on every load, so a deploy shows at once.
    send(request, response, file, 'no-cache');
  };
  return {
    console: page('console.html'),
    graphiql: page('graphiql.html'),
    asset(request, response, pathname) {
      const name = pathname.slice(1);
      const file = name.startsWith('assets/') ? files.get(name) : undefined;
      if (!file) throw new TelemetryError('NOT_FOUND', `no asset ${pathname}`);
      send(request, response, file, 'public, max-age=31536000, immutable');
    },
  };
}

/** Whether a GET /graphql comes from a browser's address bar rather than a GraphQL client. */
export function wantsHtml(request: IncomingMessage, search: string): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  if (new URLSearchParams(search).has('query')) return false;
  const accept = request.headers.accept ?? '';
  return accept.includes('text/html');
}

function send(request: IncomingMessage, response: ServerResponse, file: WebFile, cacheControl: string): void {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('allow', 'GET, HEAD');
    throw new TelemetryError('BAD_USER_INPUT', 'use GET', { details: { status: 405 } });
  }
  response.setHeader('content-type', file.type);
  response.setHeader('cache-control', cacheControl);
  response.setHeader('etag', file.etag);
  response.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
  response.setHeader('x-content-type-options', 'nosniff');
  response.setHeader('referrer-policy', 'no-referrer');
  response.setHeader('cross-origin-opener-policy', 'same-origin');
  if (request.headers['if-none-match'] === file.etag) {
    response.statusCode = 304;
    response.end();
    return;
  }
  response.setHeader('content-length', file.body.length);
  response.statusCode = 200;
  response.end(request.method === 'HEAD' ? undefined : file.body);
}

function loadFiles(dir: string): Map<string, WebFile> {
  const files = new Map<string, WebFile>();
  const walk = (relative: string) => {
    for (const entry of readdirSync(path.join(dir, relative), { withFileTypes: true })) {
      const name = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(name);
      else {
        const body = readFileSync(path.join(dir, name));
        const type = CONTENT_TYPES[path.extname(name)] ?? 'application/octet-stream';
        files.set(name, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
      }
    }
  };
  walk('');
  return files;
}
