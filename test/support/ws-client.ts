import { print } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';

export interface Subscription<T> {
  /** Every `next` payload received so far. */
  readonly received: { data?: T | null; errors?: { message: string; extensions?: Record<string, unknown> }[] }[];
  /** Resolves when the server completes the operation or it fails. */
  readonly finished: Promise<unknown>;
  stop(): void;
}

/** A graphql-ws client authenticated with connectionParams, as a browser app would connect. */
export function connect(wsUrl: string, key: string | undefined): Client {
  return createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: key ? { authorization: `Bearer ${key}` } : {},
    retryAttempts: 0,
    lazy: true,
  });
}

export function subscribe<TData, TVariables extends Record<string, unknown>>(
  client: Client,
  document: TypedDocumentNode<TData, TVariables>,
  variables: TVariables,
): Subscription<TData> {
  const received: Subscription<TData>['received'] = [];
  let stop = () => {};
  const finished = new Promise<unknown>((resolve) => {
    stop = client.subscribe<TData>(
      { query: print(document), variables },
      {
        next: (value) => received.push(value as Subscription<TData>['received'][number]),
        error: (error) => resolve(error),
        complete: () => resolve('complete'),
      },
    );
  });
  return { received, finished, stop: () => stop() };
}

/**
 * Resolves once a live-only subscription delivers, when its registration on the server cannot
 * be observed (the server is another process): sends a probe event, and another every
 * `everyMs`, until `seen()` holds. Every event sent after that reaches the subscriber. A fixed
 * sleep instead is too short on a loaded machine, and the first real event is then lost.
 */
export async function untilLive(probe: () => Promise<unknown>, seen: () => boolean, what: string, { everyMs = 500, timeoutMs = 15_000 } = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!seen()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await probe();
    const next = Math.min(Date.now() + everyMs, deadline);
    while (!seen() && Date.now() < next) await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
