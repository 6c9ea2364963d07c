import type { Server, ServerResponse } from 'node:http';

/**
 * Stops an HTTP server the way a restart needs it: no new connections; requests already
 * received (an ingest call waiting for the stream to make its readings durable) are answered;
 * idle keep-alive connections are closed at once and busy ones right after their response,
 * which says `Connection: close` so that pooled clients do not reuse them. After `drainMs`
 * the connections still busy are closed too. Must be created with the server, before it
 * receives requests, so that it sees every one.
 */
export class GracefulClose {
  private readonly inFlight = new Set<ServerResponse>();
  private closing = false;
  private drained: (() => void) | undefined;

  constructor(private readonly server: Server) {
    server.on('request', (_request, response: ServerResponse) => {
      this.inFlight.add(response);
      if (this.closing) response.setHeader('connection', 'close');
      response.once('close', () => {
        this.inFlight.delete(response);
        if (!this.closing) return;
        server.closeIdleConnections();
        if (this.inFlight.size === 0) this.drained?.();
      });
    });
  }

  /** Requests received and not yet answered. */
  get pending(): number {
    return this.inFlight.size;
  }

  /** Resolves once the server is closed: every request answered, or `drainMs` elapsed. */
  async close(drainMs: number): Promise<void> {
    this.closing = true;
    for (const response of this.inFlight) if (!response.headersSent) response.setHeader('connection', 'close');
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // Node closes the connections idle right now; the others close as their responses end.
    this.server.closeIdleConnections();
    if (this.inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        timer = setTimeout(resolve, drainMs);
      });
      clearTimeout(timer);
    }
    this.server.closeAllConnections();
    await closed;
  }
}
