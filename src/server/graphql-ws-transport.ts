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

    const batcher = createWriteBatcher(socket);
    const nextPayloads: PendingPayloads = new Map();
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (message) => {
          const data = expandNextFrame(message, nextPayloads);
          if (socket.readyState !== socket.OPEN) return;
          if (socket.bufferedAmount < highWaterMark) {
            batcher.hold();
            socket.send(data);
            return;
          }
          return new Promise<void>((resolve) => socket.send(data, () => resolve()));
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
      { socket, request, nextPayloads } as E,
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

/**
 * Coalesces the frames sent during one turn of the event loop into one write system call.
 * Each ws frame is otherwise its own writev (15% of the API thread at 20,000 events/s).
 * `ws` exposes no cork API, so this corks its underlying net.Socket, a long-stable internal
 * field; without it (a future ws), frames are simply written one by one.
 */
function createWriteBatcher(socket: WebSocket): { hold(): void } {
  const raw = (socket as unknown as { _socket?: { cork(): void; uncork(): void; destroyed: boolean } })._socket;
  let held = false;
  return {
    hold() {
      if (held || !raw || typeof raw.cork !== 'function') return;
      held = true;
      raw.cork();
      setImmediate(() => {
        held = false;
        if (!raw.destroyed) raw.uncork();
      });
    },
  };
}
