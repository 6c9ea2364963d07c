import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';

/** Takes over one WebSocket upgrade request. */
export type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

/**
 * Routes the HTTP server's WebSocket upgrades by path (GraphQL at /graphql, MQTT at /mqtt). One
 * router, because a `ws` server attached to the HTTP server answers 400 to every path but its
 * own, which would refuse the other's handshakes.
 */
export function routeUpgrades(server: Server, routes: Readonly<Record<string, UpgradeHandler>>): void {
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const pathname = (request.url ?? '/').split('?', 1)[0]!;
    const route = Object.hasOwn(routes, pathname) ? routes[pathname] : undefined;
    if (route) {
      route(request, socket, head);
      return;
    }
    socket.on('error', () => {});
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
}
