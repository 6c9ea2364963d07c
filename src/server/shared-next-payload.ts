import type { ExecutionResult, FormattedExecutionResult } from 'graphql';

/**
 * Serialise once (DESIGN §9): the `next` frames of one event differ only in their operation id,
 * yet graphql-ws stringifies the whole frame for every subscriber. Its hooks allow no raw JSON
 * in a frame, so `onNext` hands it a stand-in payload that stringifies to a marker, after
 * recording the payload's JSON (computed once per ExecutionResult, which cohort members share)
 * under the frame's id; the transport's `send` then puts that JSON in place of the marker.
 * Only `next` frames carry the marker: the protocol requires their payload to be an object,
 * so no real payload ever stringifies to a string there. Everything else about the frame
 * (validation, ids, order, completion) stays graphql-ws's own.
 *
 * A cohort member with an outlet (outlet-member.ts) skips graphql-ws for its `next` frames:
 * `nextFrame` builds the same frame as bytes, the payload encoded once per result.
 */
const MARKER = '\u0000shared-next-payload';
const FRAME_HEAD = '{"id":';
const MARKED_TAIL = `,"type":"next","payload":${JSON.stringify(MARKER)}}`;
const PAYLOAD_HEAD = ',"type":"next","payload":';

/** The stand-in: an object, as graphql-ws checks a next payload is; its JSON is the marker. */
const STAND_IN = Object.freeze({ toJSON: () => MARKER });

/** Payload JSON waiting for its frame, by the frame's id as JSON (one per operation at most). */
export type PendingPayloads = Map<string, string>;

export class SharedNextPayloads {
  private readonly serialised = new WeakMap<ExecutionResult, string>();
  private readonly encoded = new WeakMap<ExecutionResult, Buffer>();

  /** `format` gives the payload graphql-ws would send (errors formatted). */
  constructor(private readonly format: (result: ExecutionResult) => unknown) {}

  /** For `onNext`: records the result's JSON for frame `id` and returns the payload to send in its place. */
  standIn(pending: PendingPayloads, id: string, result: ExecutionResult): FormattedExecutionResult {
    pending.set(JSON.stringify(id), this.json(result));
    return STAND_IN as FormattedExecutionResult;
  }

  /**
   * The whole `next` frame for the operation whose head is `head` (nextFrameHead), as graphql-ws
   * would write it: the payload is encoded once per result, each frame is one copy of it.
   */
  nextFrame(head: Buffer, result: ExecutionResult): Buffer {
    let payload = this.encoded.get(result);
    if (payload === undefined) {
      payload = Buffer.from(this.json(result));
      this.encoded.set(result, payload);
    }
    return Buffer.concat([head, payload, FRAME_END], head.length + payload.length + 1);
  }

  private json(result: ExecutionResult): string {
    let json = this.serialised.get(result);
    if (json === undefined) {
      json = JSON.stringify(this.format(result));
      this.serialised.set(result, json);
    }
    return json;
  }
}

const FRAME_END = Buffer.from('}');

/** What precedes the payload in each `next` frame of operation `id`. */
export function nextFrameHead(id: string): Buffer {
  return Buffer.from(FRAME_HEAD + JSON.stringify(id) + PAYLOAD_HEAD);
}

/** For the transport's `send`: a marked `next` frame with its payload's JSON in place; any other message unchanged. */
export function expandNextFrame(data: string, pending: PendingPayloads): string {
  if (!data.endsWith(MARKED_TAIL) || !data.startsWith(FRAME_HEAD)) return data;
  const id = data.slice(FRAME_HEAD.length, data.length - MARKED_TAIL.length);
  const json = pending.get(id);
  if (json === undefined) throw new Error(`next frame ${id} has no recorded payload`);
  pending.delete(id);
  return FRAME_HEAD + id + PAYLOAD_HEAD + json + '}';
}
