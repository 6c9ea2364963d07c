/** Raw GraphQL over HTTP to a service started as a process (no TestServer at hand): the parsed JSON body. */
export async function postGraphQL(url: string, key: string, query: string, variables: unknown): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  return response.json();
}
