import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of the server, so a test can cut the network between the browser and
 * the API (every open connection reset, new ones refused) and restore it: a real drop, which
 * the browser's WebSocket sees as it would a lost Wi-Fi. It can also hold back new WebSocket
 * connections (their upgrade request waits, plain HTTP goes on), as a slow network might.
 */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private down = false;
  /** While WebSockets are held: how to let each held one through. */
  private held: (() => void)[] | undefined;
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<TcpProxy> {
    const holder: { proxy?: TcpProxy } = {};
    const server = createServer((client) => {
      const proxy = holder.proxy;
      if (!proxy || proxy.down) {
        client.resetAndDestroy();
        return;
      }
      proxy.sockets.add(client);
      client.on('close', () => proxy.sockets.delete(client));
      client.on('error', () => client.destroy());
      // The first bytes tell an upgrade to WebSocket from plain HTTP.
      client.once('data', (first) => {
        const through = () => {
          if (client.destroyed) return;
          const upstream = connect(targetPort, '127.0.0.1');
          proxy.sockets.add(upstream);
          upstream.on('close', () => proxy.sockets.delete(upstream));
          upstream.on('error', () => {
            client.destroy();
            upstream.destroy();
          });
          client.on('error', () => upstream.destroy());
          upstream.write(first);
          client.pipe(upstream).pipe(client);
        };
        if (proxy.held && /^upgrade:\s*websocket/im.test(first.toString('latin1'))) proxy.held.push(through);
        else through();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    holder.proxy = new TcpProxy(server, typeof address === 'object' && address ? address.port : 0);
    return holder.proxy;
  }

  drop(): void {
    this.down = true;
    for (const socket of this.sockets) socket.resetAndDestroy();
    this.sockets.clear();
  }

  restore(): void {
    this.down = false;
  }

  /** New WebSocket connections wait (in the proxy, their upgrade request unsent) until releaseWebSockets. */
  holdWebSockets(): void {
    this.held = [];
  }

  releaseWebSockets(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const through of held) through();
  }

  async close(): Promise<void> {
    this.drop();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
