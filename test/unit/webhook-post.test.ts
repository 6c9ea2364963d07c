import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { postJson, PostCutShortError } from '../../src/webhooks/webhook-post';

/** A receiver on loopback whose behaviour each test gives; closed after it. */
async function receiver(handle: (request: IncomingMessage, response: ServerResponse) => void): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const open = { allowPrivateNetworks: true };

describe('postJson: how long a webhook POST may take', () => {
  it('bounds the whole POST, so a receiver trickling its response cannot hold it past the timeout', async () => {
    const timers: NodeJS.Timeout[] = [];
    const hook = await receiver((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      // A byte every 20 ms, never ending: an idle timeout never fires.
      timers.push(setInterval(() => response.write('.'), 20));
    });
    try {
      await expect(postJson(hook.url, {}, '{}', { ...open, timeoutMs: 300 })).rejects.toThrow('no response within 300 ms');
    } finally {
      for (const timer of timers) clearInterval(timer);
      await hook.close();
    }
  });

  it('is cut short by its signal, with an error that says so rather than blaming the receiver', async () => {
    const stop = new AbortController();
    const hook = await receiver(() => stop.abort()); // the request arrived; no answer ever comes
    try {
      const posting = postJson(hook.url, {}, '{}', { ...open, timeoutMs: 60_000, signal: stop.signal });
      await expect(posting).rejects.toBeInstanceOf(PostCutShortError);
      await expect(postJson(hook.url, {}, '{}', { ...open, timeoutMs: 60_000, signal: stop.signal })).rejects.toBeInstanceOf(PostCutShortError);
    } finally {
      await hook.close();
    }
  });

  it('still answers the status of a receiver that answers in time', async () => {
    const hook = await receiver((_request, response) => response.writeHead(204).end());
    try {
      expect(await postJson(hook.url, {}, '{}', { ...open, timeoutMs: 10_000, signal: new AbortController().signal })).toBe(204);
    } finally {
      await hook.close();
    }
  });
});
