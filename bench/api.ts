/** What every benchmark asks the service through its public API (one copy for all of them). */

/** Runs one GraphQL operation with the key; throws on errors, returns `data`. */
export async function gql(url: string, key: string, query: string, variables: object): Promise<any> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: unknown; errors?: unknown[] };
  if (body.errors) throw new Error(`${query.slice(0, 40)}…: ${JSON.stringify(body.errors)}`);
  return body.data;
}

/** Readings the consumer has stored since it started (from /healthz). */
export async function appliedReadings(url: string): Promise<number> {
  const health = (await (await fetch(url.replace(/\/graphql$/, '/healthz'))).json()) as { consumer?: { appliedReadings?: number } };
  return health.consumer?.appliedReadings ?? 0;
}
