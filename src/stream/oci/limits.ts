import { BackendError } from '../../domain/errors';
import type { ProduceRecord } from '../stream';

/** OCI Streaming limits (https://docs.oracle.com/iaas/Content/Streaming/Concepts/streamingoverview.htm). */
export const MAX_REQUEST_BYTES = 1024 * 1024;
export const MAX_MESSAGE_BYTES = 1024 * 1024;
export const MAX_GET_MESSAGES = 10_000;
/** PutMessages body overhead per entry ({"key":"","value":""},) and per request. */
const ENTRY_OVERHEAD = 24;
const REQUEST_OVERHEAD = 32;

const base64Length = (text: string) => Math.ceil(Buffer.byteLength(text, 'utf8') / 3) * 4;

/**
 * Splits records into PutMessages requests whose JSON bodies stay under 1 MB, in input order
 * (returned as record indexes). A single message over the 1 MB message limit is refused.
 */
export function planPutRequests(records: readonly ProduceRecord[]): number[][] {
  const requests: number[][] = [];
  let current: number[] = [];
  let size = REQUEST_OVERHEAD;
  records.forEach((record, index) => {
    const messageBytes = base64Length(record.key) + base64Length(record.value);
    if (messageBytes > MAX_MESSAGE_BYTES) {
      throw new BackendError(`a message of ${messageBytes} bytes (base64) is over the 1 MB message limit of OCI Streaming`, false);
    }
    const entry = messageBytes + ENTRY_OVERHEAD;
    if (current.length > 0 && size + entry > MAX_REQUEST_BYTES) {
      requests.push(current);
      current = [];
      size = REQUEST_OVERHEAD;
    }
    current.push(index);
    size += entry;
  });
  if (current.length > 0) requests.push(current);
  return requests;
}
