import { once } from 'node:events';
import type { ServerResponse } from 'node:http';

/**
 * Writes `text` and, when the socket's buffer is full, resolves only once the client took it
 * (or the connection is gone): a streaming answer then holds one chunk, however slow the client.
 */
export async function writeDrained(response: ServerResponse, text: string): Promise<void> {
  if (response.write(text) || response.destroyed) return;
  // The listener that did not fire is removed: one chunk after another must not pile them up.
  const settled = new AbortController();
  try {
    await Promise.race([once(response, 'drain', { signal: settled.signal }), once(response, 'close', { signal: settled.signal })]);
  } finally {
    settled.abort();
  }
}
