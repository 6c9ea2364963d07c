import { createClient, type Client } from 'graphql-ws';
import { webSocketUrl } from '../shared/session';

/** A GraphQL error the API answered, with its code (FORBIDDEN, BAD_USER_INPUT, ...). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

interface GraphQLBody<T> {
  readonly data?: T | null;
  readonly errors?: readonly { readonly message: string; readonly extensions?: { readonly code?: string } }[];
}

export type ConnectionState = 'live' | 'reconnecting';

/** Codes a subscription cannot recover from by subscribing again. */
const FINAL_CODES = new Set(['FORBIDDEN', 'UNAUTHENTICATED', 'BAD_USER_INPUT', 'GRAPHQL_VALIDATION_FAILED', 'NOT_FOUND']);

/**
 * The console's only way to the API: queries and mutations over HTTP POST, subscriptions over
 * graphql-ws, each with the key in a header or connectionParams (never in a URL). It adds no
 * rights of its own: every call goes through the API's tenant and role checks.
 */
export class Api {
  private readonly ws: Client;
  private readonly states = new Set<(state: ConnectionState) => void>();

  constructor(private readonly key: string) {
    // Subscriptions resume themselves (live() below) with their last cursor; graphql-ws's own
    // retry would replay the first variables and open a hole or repeat events.
    this.ws = createClient({ url: webSocketUrl(), connectionParams: { authorization: `Bearer ${key}` }, retryAttempts: 0, lazy: true });
    this.ws.on('connected', () => this.emit('live'));
    this.ws.on('closed', () => this.emit('reconnecting'));
  }

  onConnection(listener: (state: ConnectionState) => void): () => void {
    this.states.add(listener);
    return () => this.states.delete(listener);
  }

  async request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    let response: Response;
    try {
      response = await fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${this.key}` },
        body: JSON.stringify({ query, variables }),
      });
    } catch {
      throw new ApiError('the API cannot be reached: check the network', 'NETWORK');
    }
    const body = (await response.json().catch(() => ({}))) as GraphQLBody<T> & { error?: { message: string; code: string } };
    const first = body.errors?.[0];
    if (first) throw new ApiError((body.errors ?? []).map((error) => error.message).join('; '), first.extensions?.code);
    if (body.error) throw new ApiError(body.error.message, body.error.code);
    if (!body.data) throw new ApiError(`the API answered ${response.status} without data`, undefined);
    return body.data;
  }

  /**
   * A subscription that survives network drops: after one, it subscribes again with the
   * variables `variables()` gives then (the caller's latest cursor, so nothing is missed or
   * repeated), and calls `resumed` so live-only feeds can re-read their state.
   */
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- T names the shape the caller's query selects
  live<T>(query: string, variables: () => Record<string, unknown>, next: (data: T) => void, resumed?: () => void): () => void {
    let stopped = false;
    let unsubscribe: () => void = () => {};
    let failures = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const start = (again: boolean) => {
      unsubscribe = this.ws.subscribe<T>(
        { query, variables: variables() },
        {
          next: (result) => {
            failures = 0;
            if (result.data) next(result.data);
          },
          error: (error: unknown) => {
            if (stopped) return;
            const code = Array.isArray(error) ? (error[0] as { extensions?: { code?: string } } | undefined)?.extensions?.code : undefined;
            if (code !== undefined && FINAL_CODES.has(code)) return;
            this.emit('reconnecting');
            // Backoff with jitter, at most 5 s: a restarting node is not hit by every tab at once.
            const delay = Math.min(5000, 250 * 2 ** failures++) * (0.5 + Math.random() / 2);
            timer = setTimeout(() => start(true), delay);
          },
          complete: () => {},
        },
      );
      if (again) resumed?.();
    };
    start(false);
    return () => {
      stopped = true;
      clearTimeout(timer);
      unsubscribe();
    };
  }

  close(): void {
    void this.ws.dispose();
  }

  private emit(state: ConnectionState): void {
    for (const listener of this.states) listener(state);
  }
}
