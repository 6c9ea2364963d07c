/**
 * What an OCI Connector Hub connector (source: Streaming, target: Functions) delivers to a
 * function: a JSON array of the stream's messages, e.g.
 *
 *   [{ "stream": "telemetry-readings", "partition": "0", "key": "dC9kMQ==",
 *      "value": "<base64 of the message>", "offset": 42, "timestamp": "2026-12-01T05:00:00.000Z" }]
 *
 * The service sends the partition as a string and the timestamp as ISO 8601; numbers are
 * accepted for both as well. `key` and `value` are base64 (key may be null). Connector Hub
 * delivers at least once, in batches it sizes: a batch may repeat, overlap or skip past what
 * an earlier one carried, so the consumer never trusts a batch to be the next in line.
 */

/** One delivered message, decoded: the fields the consumer needs. */
export interface DeliveredMessage {
  readonly partition: number;
  readonly offset: number;
  /** The partition key, decoded (empty when the connector sent none). */
  readonly key: string;
  /** The message body, decoded from base64 (a JSON CloudEvent for the readings stream). */
  readonly value: string;
  /** When the stream accepted the message, UTC ms. */
  readonly timestamp: number;
}

export type ConnectorBatchParse = { readonly ok: true; readonly messages: DeliveredMessage[] } | { readonly ok: false; readonly reason: string };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const nonNegativeInteger = (value: unknown): number | undefined => {
  const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return typeof number === 'number' && Number.isSafeInteger(number) && number >= 0 ? number : undefined;
};

const epochMs = (value: unknown): number | undefined => {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value !== 'string') return undefined;
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? undefined : parsed;
};

const fromBase64 = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length % 4 === 0 && BASE64.test(value) ? Buffer.from(value, 'base64').toString('utf8') : undefined;

/**
 * Parses a delivered batch. A batch whose shape is wrong as a whole (not an array, an entry
 * without a partition or offset) is refused: its messages cannot be placed in the stream, so
 * applying part of it could move a watermark past what was never seen. A message whose value
 * is not base64 is kept with its raw text: the consumer's decoding turns it into a dead letter.
 */
export function parseConnectorBatch(body: unknown): ConnectorBatchParse {
  if (!Array.isArray(body)) return { ok: false, reason: 'expected a JSON array of stream messages (a Connector Hub batch)' };
  const messages: DeliveredMessage[] = [];
  for (const [index, entry] of body.entries()) {
    if (typeof entry !== 'object' || entry === null) return { ok: false, reason: `message ${index}: not an object` };
    const fields = entry as Record<string, unknown>;
    const partition = nonNegativeInteger(fields.partition);
    const offset = nonNegativeInteger(fields.offset);
    if (partition === undefined) return { ok: false, reason: `message ${index}: "partition" must be a non-negative integer` };
    if (offset === undefined) return { ok: false, reason: `message ${index}: "offset" must be a non-negative integer` };
    const raw = typeof fields.value === 'string' ? fields.value : '';
    messages.push({
      partition,
      offset,
      key: fromBase64(fields.key) ?? '',
      value: fromBase64(raw) ?? raw,
      // A message without a usable timestamp counts as received now (it only feeds liveness).
      timestamp: epochMs(fields.timestamp) ?? Date.now(),
    });
  }
  return { ok: true, messages };
}

/**
 * Each partition's messages in offset order, one per offset (a batch may carry a message
 * twice, and need not be sorted). Partitions ascending.
 */
export function byPartition(messages: readonly DeliveredMessage[]): Map<number, DeliveredMessage[]> {
  const partitions = new Map<number, Map<number, DeliveredMessage>>();
  for (const message of messages) {
    const offsets = partitions.get(message.partition) ?? new Map<number, DeliveredMessage>();
    if (!offsets.has(message.offset)) offsets.set(message.offset, message);
    partitions.set(message.partition, offsets);
  }
  return new Map(
    [...partitions.keys()].sort((a, b) => a - b).map((partition) => [partition, [...partitions.get(partition)!.values()].sort((a, b) => a.offset - b.offset)]),
  );
}
