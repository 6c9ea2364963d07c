import type { IncomingMessage } from 'node:http';
import { CloseCode, handleProtocols, makeServer, type ServerOptions } from 'graphql-ws';
import type { RawData, WebSocket, WebSocketServer } from 'ws';
import type { Logger } from '../logger';
import { expandNextFrame, type PendingPayloads } from './shared-next-payload';

export interface TransportOptions {
  /** Send a ping this often and drop a peer that does not answer within the same time, ms. @default 12000 */
  readonly keepAliveMs?: number;
  /**
   * Bytes a socket may have queued before sends wait for the network. Below it a send returns
   * at once, so one subscription is not limited to one event per event-loop turn (graphql-ws's
   * own adapter awaits every write). Above it, sends wait: a slow client backs up its own
   * subscription queue (which then ends with SLOW_SUBSCRIBER), never the server. @default 1 MiB
   */
  readonly highWaterMarkBytes?: number;
}

export interface ConnectionExtra extends Record<PropertyKey, unknown> {
  readonly socket: WebSocket;
  readonly request: IncomingMessage;
  /** Next payloads serialised once for every subscriber of an event (shared-next-payload.ts). */
  readonly nextPayloads: PendingPayloads;
  /** Writes frames to this socket, as graphql-ws's own messages are written. */
  readonly frames: FrameWriter;
}

/** One socket's text frames, written corked with the others of the same event-loop turn. */
export interface FrameWriter {
  /** The socket is open. */
  readonly open: boolean;
  /** The socket is open and below its high-water mark: a frame written now needs no wait. */
  readonly ready: boolean;
  /** Writes one text frame (UTF-8 bytes or a string); `written` once it left for the network, or the socket closed. */
  write(data: string | Buffer, written?: () => void): void;
}

/**
 * The `ws` transport for graphql-ws's protocol core (makeServer), replacing graphql-ws's
 * use/ws adapter for one reason: write throughput (see highWaterMarkBytes). The protocol
 * handling itself is graphql-ws's, unchanged.
 */
export function serveGraphQLOverWebSocket<E extends ConnectionExtra>(
  options: ServerOptions<Record<string, unknown> | undefined, E>,
  wss: WebSocketServer,
  logger: Logger,
  transport: TransportOptions = {},
): { dispose(): Promise<void> } {
  const server = makeServer(options);
  const keepAlive = transport.keepAliveMs ?? 12_000;
  const highWaterMark = transport.highWaterMarkBytes ?? 1024 * 1024;
  const corked = new CorkedSockets();
  wss.options.handleProtocols = handleProtocols;

  wss.on('connection', (socket, request) => {
    socket.once('error', (error) => {
      logger.error({ err: error }, 'websocket error');
      socket.close(CloseCode.InternalServerError, 'Internal server error');
    });
    let pongWait: NodeJS.Timeout | undefined;
    const pingInterval = setInterval(() => {
      if (socket.readyState !== socket.OPEN) return;
      pongWait = setTimeout(() => socket.terminate(), keepAlive);
      socket.once('pong', () => clearTimeout(pongWait));
      socket.ping();
    }, keepAlive);

    const frames: FrameWriter = new SocketFrames(socket, highWaterMark, corked);
    const nextPayloads: PendingPayloads = new Map();
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (message) => {
          const data = expandNextFrame(message, nextPayloads);
          if (frames.ready) {
            frames.write(data);
            return;
          }
          if (!frames.open) return;
          return new Promise<void>((resolve) => frames.write(data, resolve));
        },
        close: (code, reason) => socket.close(code, reason),
        onMessage: (callback) =>
          socket.on('message', (message) => {
            void (async () => {
              try {
                await callback(rawDataText(message));
              } catch (error) {
                logger.error({ err: error }, 'websocket message handling failed');
                socket.close(CloseCode.InternalServerError, 'Internal server error');
              }
            })();
          }),
      },
      { socket, request, nextPayloads, frames } as E,
    );

    socket.once('close', (code, reason) => {
      clearTimeout(pongWait);
      clearInterval(pingInterval);
      void closed(code, String(reason));
    });
  });

  return {
    async dispose() {
      for (const client of wss.clients) client.close(1001, 'Going away');
      wss.removeAllListeners('connection');
    },
  };
}

/** A message's text: ws hands over a Buffer (its default binaryType), or fragments or an ArrayBuffer under others. */
function rawDataText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  return (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)).toString('utf8');
}

/** Text frames for `ws`: a Buffer would otherwise go out as a binary frame. */
const TEXT = { binary: false } as const;

class SocketFrames implements FrameWriter {
  constructor(
    private readonly socket: WebSocket,
    private readonly highWaterMark: number,
    private readonly corked: CorkedSockets,
  ) {}

  get open(): boolean {
    return this.socket.readyState === this.socket.OPEN;
  }

  get ready(): boolean {
    return this.socket.readyState === this.socket.OPEN && this.socket.bufferedAmount < this.highWaterMark;
  }

  write(data: string | Buffer, written?: () => void): void {
    this.corked.hold(this.socket);
    this.socket.send(data, TEXT, written);
  }
}

type RawSocket = { cork(): void; uncork(): void; destroyed: boolean };

/**
 * Coalesces the frames sent to a socket during one turn of the event loop into one write
 * system call. Each ws frame is otherwise its own writev (15% of the API thread at 20,000
 * events/s). One `setImmediate` uncorks every socket held in the turn: an event delivered to
 * 1,000 sockets schedules one callback, not 1,000. `ws` exposes no cork API, so this corks its
 * underlying net.Socket, a long-stable internal field; without it (a future ws), frames are
 * simply written one by one.
 */
class CorkedSockets {
  private readonly held = new Set<RawSocket>();

  hold(socket: WebSocket): void {
    const raw = (socket as unknown as { _socket?: RawSocket })._socket;
    if (!raw || typeof raw.cork !== 'function' || this.held.has(raw)) return;
    raw.cork();
    if (this.held.size === 0) setImmediate(() => this.release());
    this.held.add(raw);
  }

  private release(): void {
    // Cleared first: whatever happens below, the next turn's holds schedule their own release.
    const held = [...this.held];
    this.held.clear();
    for (const raw of held) if (!raw.destroyed) raw.uncork();
  }
}
