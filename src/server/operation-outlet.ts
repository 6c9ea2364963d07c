import type { Context } from 'graphql-ws';
import type { ConnectionExtra } from './graphql-ws-transport';
import type { NextFrameOutlet } from './outlet-member';
import { nextFrameHead, type SharedNextPayloads } from './shared-next-payload';

/**
 * Operation `id` of a graphql-ws connection as an outlet for its `next` frames: the frame is
 * exactly the one graphql-ws would write (shared-next-payload.ts), on the connection's socket,
 * corked with the turn's other frames (graphql-ws-transport.ts). It is open while the socket is
 * and graphql-ws still holds the operation: once the client completed it, nothing more is sent.
 */
export function operationOutlet(
  ctx: Context<Record<string, unknown> | undefined, ConnectionExtra>,
  id: string,
  payloads: SharedNextPayloads,
  onDelivered: (() => void) | undefined,
): NextFrameOutlet {
  const head = nextFrameHead(id);
  const frames = ctx.extra.frames;
  return {
    get open() {
      return frames.open && id in ctx.subscriptions;
    },
    get ready() {
      return frames.ready;
    },
    send(result, written) {
      frames.write(payloads.nextFrame(head, result), written);
      onDelivered?.();
    },
  };
}
