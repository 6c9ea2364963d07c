// Serves the example page on http://127.0.0.1:8080 and passes /graphql (HTTP and WebSocket)
// to the service, so the page and the API share one origin (the API sends no CORS headers,
// and a page served from elsewhere could not call it). Modules come from node_modules: no CDN.
//
//   npx tsc -p examples/browser && node examples/browser/serve.mjs
//
// Settings (environment): TELEMETRY_URL (http://127.0.0.1:4000), PORT (8080; 0 for any).
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const api = new URL(process.env.TELEMETRY_URL ?? 'http://127.0.0.1:4000');
const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript' };
// URL prefix -> directory. Nothing outside these is served.
const mounts = [
  ['/app/', path.join(here, 'dist')],
  ['/modules/graphql/', path.join(root, 'node_modules/graphql')],
  ['/modules/graphql-ws/', path.join(root, 'node_modules/graphql-ws')],
];

// Nothing but this origin: the page's inline import map and style are allowed by their hashes,
// no other inline code, no other origin.
const page = readFileSync(path.join(here, 'index.html'), 'utf8');
const hashes = (tag) =>
  [...page.matchAll(new RegExp(`<${tag}[^>]*>([\\s\\S]*?)</${tag}>`, 'g'))]
    .filter((match) => match[1].trim() !== '')
    .map((match) => `'sha256-${createHash('sha256').update(match[1]).digest('base64')}'`)
    .join(' ');
const csp = `default-src 'self'; script-src 'self' ${hashes('script')}; style-src 'self' ${hashes('style')}; connect-src 'self'`;

function file(pathname) {
  if (pathname === '/') return path.join(here, 'index.html');
  for (const [prefix, dir] of mounts) {
    if (!pathname.startsWith(prefix)) continue;
    const resolved = path.resolve(dir, '.' + decodeURIComponent(pathname.slice(prefix.length - 1)));
    if (resolved.startsWith(dir + path.sep) && existsSync(resolved) && statSync(resolved).isFile()) return resolved;
  }
  return undefined;
}

const server = createServer((req, res) => {
  const { pathname } = new URL(req.url, 'http://page');
  if (pathname === '/graphql') {
    const upstream = request({ host: api.hostname, port: api.port, path: req.url, method: req.method, headers: { ...req.headers, host: api.host } }, (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', (error) => res.writeHead(502).end(`service unreachable: ${error.message}`));
    req.pipe(upstream);
    return;
  }
  const found = file(pathname);
  if (!found) return res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  res.writeHead(200, { 'content-type': types[path.extname(found)] ?? 'application/octet-stream', 'content-security-policy': csp });
  createReadStream(found).pipe(res);
});

// WebSocket upgrades of /graphql: a raw TCP pipe to the service after replaying the request head.
server.on('upgrade', (req, socket, head) => {
  const upstream = connect(Number(api.port || 80), api.hostname, () => {
    const headers = Object.entries({ ...req.headers, host: api.host }).map(([k, v]) => `${k}: ${v}`).join('\r\n');
    upstream.write(`${req.method} ${req.url} HTTP/1.1\r\n${headers}\r\n\r\n`);
    upstream.write(head);
    upstream.pipe(socket).pipe(upstream);
  });
  upstream.on('error', () => socket.destroy());
  socket.on('error', () => upstream.destroy());
});

server.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  console.log(`example page: http://127.0.0.1:${server.address().port}/ (API: ${api.origin})`);
});
