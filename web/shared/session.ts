/**
 * The console's credential: kept in sessionStorage only (gone when the tab closes, never in a
 * URL, never in localStorage where other tabs and later visits would find it). GraphiQL on
 * the same origin reads it to pre-fill its Authorization header.
 */
const KEY = 'telemetry.apiKey';

export function storedKey(): string | undefined {
  return sessionStorage.getItem(KEY) ?? undefined;
}

export function storeKey(key: string): void {
  sessionStorage.setItem(KEY, key);
}

export function forgetKey(): void {
  sessionStorage.removeItem(KEY);
}

/** ws: or wss: URL of this origin's /graphql. */
export function webSocketUrl(): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/graphql`;
}
