import { createGraphiQLFetcher, type Fetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import 'graphiql/style.css';
import { createClient } from 'graphql-ws';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { storedKey, webSocketUrl } from '../shared/session';
import './graphiql.css';

/**
 * GraphiQL, bundled and served by the node itself (no CDN: it works offline). The console's
 * key (sessionStorage of this origin) pre-fills the Authorization header; subscriptions run
 * over graphql-ws on the same /graphql with the key in connectionParams.
 */
const key = storedKey();
const wsClient = createClient({ url: webSocketUrl(), connectionParams: key ? { authorization: `Bearer ${key}` } : {}, lazy: true });
const sendRequest = createGraphiQLFetcher({ url: '/graphql', wsClient });
// The key goes with every request that names no Authorization of its own, not only through the
// headers editor: GraphiQL fetches the schema before that editor has its text, and without the
// key the first screen was "Error fetching schema" (401). An Authorization typed in the editor,
// in any letter case, replaces it (two would reach the server joined, and be refused).
const fetcher: Fetcher = (params, options) => {
  const headers: Record<string, unknown> = options?.headers ?? {};
  const named = Object.keys(headers).some((name) => name.toLowerCase() === 'authorization');
  return sendRequest(params, key && !named ? { ...options, headers: { ...headers, Authorization: `Bearer ${key}` } } : options);
};
const defaultHeaders = JSON.stringify({ Authorization: key ? `Bearer ${key}` : 'Bearer <your API key: sign in to the console at / to fill this in>' }, null, 2);

createRoot(document.getElementById('graphiql')!).render(
  <StrictMode>
    <GraphiQL
      fetcher={fetcher}
      defaultHeaders={defaultHeaders}
      // The key stays in sessionStorage; GraphiQL's own storage is localStorage, which outlives the tab.
      shouldPersistHeaders={false}
      defaultQuery={
        '# The devices of your tenant. Ctrl-Enter runs the query.\nquery Devices {\n  devices(first: 10) {\n    edges { node { id name status lastSeenAt latest { metric value } } }\n  }\n}\n'
      }
    />
  </StrictMode>,
);
