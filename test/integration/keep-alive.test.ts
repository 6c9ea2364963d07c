import { connect, type Socket } from 'node:net';
import { startTestServer } from '../support/server';

/**
 * Clients pool keep-alive sockets, and load balancers keep idle connections to their backends
 * for 60 s or more. If the server closes an idle socket first (Node's default is after 5 s), a
 * request sent on it as it closes fails with ECONNRESET.
 */

/** A raw HTTP/1.1 connection: the test decides exactly when each request goes out on it. */
class RawConnection {
  private buffered = '';
  private waiter: (() => void) | undefined;
  closed = false;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffered += chunk;
      this.waiter?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
  }

  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  /** Sends GET <path> and resolves with the response head (status line and headers). */
  async get(path: string): Promise<{ status: number; headers: string }> {
    this.socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n`);
    for (;;) {
      const response = this.takeResponse();
      if (response) return response;
      if (this.closed) throw new Error('the server closed the connection');
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  private takeResponse(): { status: number; headers: string } | undefined {
    const end = this.buffered.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const headers = this.buffered.slice(0, end);
    let bodyEnd: number;
    if (/\r\ntransfer-encoding: chunked/i.test(headers)) {
      const last = this.buffered.indexOf('\r\n0\r\n\r\n', end);
      if (last < 0) return undefined;
      bodyEnd = last + 7;
    } else {
      bodyEnd = end + 4 + Number(/\r\ncontent-length: (\d+)/i.exec(headers)?.[1] ?? 0);
      if (this.buffered.length < bodyEnd) return undefined;
    }
    this.buffered = this.buffered.slice(bodyEnd);
    return { status: Number(headers.split(' ')[1]), headers };
  }

  close(): void {
    this.socket.destroy();
  }
}

describe('HTTP keep-alive for pooled clients and load balancers', () => {
  it("advertises a keep-alive above load balancers' 60 s idle timeout by default, and the configured one otherwise", async () => {
    for (const [env, seconds] of [
      [{}, 65],
      [{ TELEMETRY_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: '120', TELEMETRY_HTTP_HEADERS_TIMEOUT_SECONDS: '121' }, 120],
    ] as const) {
      const server = await startTestServer(env);
      try {
        // Node's fetch (undici) reads this hint and drops pooled sockets before the server would.
        const response = await fetch(`${server.baseUrl}/healthz`);
        expect(response.headers.get('keep-alive')).toBe(`timeout=${seconds}`);
      } finally {
        await server.close();
      }
    }
  });

  it("answers on a pooled socket that stayed idle longer than Node's default of 5 s", async () => {
    const server = await startTestServer();
    const connection = await RawConnection.open(Number(new URL(server.baseUrl).port));
    try {
      expect((await connection.get('/healthz')).status).toBe(200);
      // The idle period is what is under test, not a wait for something to happen.
      await new Promise((resolve) => setTimeout(resolve, 6000));
      expect(connection.closed).toBe(false);
      expect((await connection.get('/healthz')).status).toBe(200);
    } finally {
      connection.close();
      await server.close();
    }
  }, 20_000);
});
