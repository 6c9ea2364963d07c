// The page's code: lists the devices with their latest values, then keeps them current with
// readingAdded. It uses the typed documents that `npm run codegen` generates from
// test/operations/*.graphql (test/generated/graphql.ts), so the compiler checks every field
// the page reads against the schema.
import { print } from 'graphql';
import { createClient } from 'graphql-ws';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { DevicesDocument, ReadingAddedDocument, type DevicesQuery, type ReadingAddedSubscription } from '../../test/generated/graphql.js';

type Device = DevicesQuery['devices']['edges'][number]['node'];

const element = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = element<HTMLParagraphElement>('status');
const rows = element<HTMLTableSectionElement>('devices');
const keyInput = element<HTMLInputElement>('key');

/** A typed request: the variables and the answer have the document's types. */
async function request<TData, TVariables>(key: string, document: TypedDocumentNode<TData, TVariables>, variables: TVariables): Promise<TData> {
  const response = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: print(document), variables }),
  });
  const body = (await response.json()) as { data?: TData; errors?: { message: string }[] };
  if (body.errors?.length || !body.data) throw new Error(body.errors?.map((e) => e.message).join('; ') ?? `HTTP ${response.status}`);
  return body.data;
}

function render(devices: Map<string, Device>): void {
  rows.replaceChildren(
    ...[...devices.values()].map((device) => {
      const row = document.createElement('tr');
      const latest = device.latest.map((l) => `${l.metric} ${l.value}`).join(', ');
      const at = device.latest.map((l) => l.timestamp).sort().at(-1) ?? 'never';
      for (const text of [device.name || device.id, device.tags.join(', '), latest, at]) {
        const cell = document.createElement('td');
        cell.textContent = text; // text, never HTML: names and tags come from users
        row.append(cell);
      }
      return row;
    }),
  );
}

async function show(key: string): Promise<void> {
  status.textContent = 'Loading…';
  const data = await request(key, DevicesDocument, { first: 100 });
  const devices = new Map(data.devices.edges.map((edge) => [edge.node.id, edge.node]));
  render(devices);
  status.textContent = `${devices.size} devices, live`;
  if (devices.size === 0) return;
  // Same origin as the page: serve.mjs passes /graphql, WebSocket included, to the service.
  const client = createClient({ url: location.origin.replace(/^http/, 'ws') + '/graphql', connectionParams: { authorization: `Bearer ${key}` } });
  client.subscribe<ReadingAddedSubscription>(
    { query: print(ReadingAddedDocument), variables: { deviceIds: [...devices.keys()] } },
    {
      next: ({ data }) => {
        const reading = data?.readingAdded;
        const device = reading && devices.get(reading.deviceId);
        if (!reading || !device) return;
        const latest = new Map(device.latest.map((l) => [l.metric, l]));
        for (const m of reading.metrics) latest.set(m.name, { metric: m.name, value: m.value, timestamp: reading.timestamp });
        devices.set(device.id, { ...device, latest: [...latest.values()] });
        render(devices);
      },
      error: (error) => (status.textContent = `Live updates stopped: ${String((error as { reason?: string }).reason ?? error)}`),
      complete: () => undefined,
    },
  );
}

element<HTMLFormElement>('sign-in').addEventListener('submit', (event) => {
  event.preventDefault();
  // The key stays in this tab's session storage, never in a URL.
  sessionStorage.setItem('telemetry-key', keyInput.value);
  show(keyInput.value).catch((error: unknown) => (status.textContent = String(error)));
});
const saved = sessionStorage.getItem('telemetry-key');
if (saved) show(saved).catch((error: unknown) => (status.textContent = String(error)));
