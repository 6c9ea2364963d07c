import { ago, h, messageOf, replace } from '../dom';
import type { Session, View } from './view';

const KEYS = `query Keys { apiKeys(includeRevoked: true) { id label role deviceId createdAt lastUsedAt revokedAt } }`;
const CREATE_KEY = `mutation CreateKey($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret key { id } } }`;
const REVOKE_KEY = `mutation RevokeKey($id: ID!) { revokeApiKey(id: $id) { id } }`;
const WEBHOOKS = `query Webhooks { webhooks { id url minSeverity createdAt deliveries(first: 20) { id anomalyId status attempts lastStatusCode lastError createdAt nextAttemptAt deliveredAt } } }`;
const CREATE_WEBHOOK = `mutation CreateWebhook($input: CreateWebhookInput!) { createWebhook(input: $input) { secret webhook { id } } }`;
const DELETE_WEBHOOK = `mutation DeleteWebhook($id: ID!) { deleteWebhook(id: $id) }`;
const DEAD_LETTERS = `query DeadLetters { deadLetters(first: 50) { edges { node { id reason createdAt replayedAt partition offset } } } }`;
const REPLAY = `mutation Replay($id: ID!) { replayDeadLetter(id: $id) { offset } }`;

interface Delivery {
  id: string;
  anomalyId: string;
  status: string;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
}

/** A webhook's recent deliveries, one row each, folded under a summary until opened. */
function deliveryDetail(webhookId: string, url: string, deliveries: readonly Delivery[]): HTMLElement {
  if (deliveries.length === 0) return h('span', {}, 'none yet');
  const when = (delivery: Delivery) =>
    delivery.deliveredAt
      ? `delivered ${ago(delivery.deliveredAt)}`
      : delivery.nextAttemptAt
        ? `next try ${new Date(delivery.nextAttemptAt).toLocaleString()}`
        : '–';
  return h(
    'details',
    { class: 'deliveries', 'data-webhook': webhookId },
    h('summary', {}, `${deliveries.length} recent`),
    h(
      'table',
      {},
      h('caption', { class: 'visually-hidden' }, `Recent deliveries to ${url}`),
      h('thead', {}, h('tr', {}, ...['Queued', 'Anomaly', 'Status', 'Attempts', 'HTTP', 'Error', 'When'].map((title) => h('th', { scope: 'col' }, title)))),
      h(
        'tbody',
        {},
        ...deliveries.map((delivery) =>
          h(
            'tr',
            { 'data-delivery': delivery.id, 'data-status': delivery.status },
            h('td', {}, ago(delivery.createdAt)),
            h('td', {}, delivery.anomalyId),
            h('td', {}, delivery.status.toLowerCase()),
            h('td', {}, delivery.attempts),
            h('td', {}, delivery.lastStatusCode ?? '–'),
            h('td', {}, delivery.lastError ?? '–'),
            h('td', {}, when(delivery)),
          ),
        ),
      ),
    ),
  );
}

/** Admin: keys (a new secret shown once), webhooks with their delivery status and detail, dead letters with replay. */
export function adminView(session: Session, main: HTMLElement): View {
  const note = h('p', { class: 'note', role: 'status' });
  const secret = h('div', { id: 'secret', 'aria-live': 'polite' });
  const keysBox = h('section', { 'aria-labelledby': 'keys-title' });
  const hooksBox = h('section', { 'aria-labelledby': 'webhooks-title' });
  const lettersBox = h('section', { 'aria-labelledby': 'dead-letters-title' });
  const fail = (error: unknown) => replace(note, messageOf(error));
  const button = (label: string, action: () => Promise<unknown>) =>
    h('button', { type: 'button', class: 'secondary', onclick: () => void action().catch(fail) }, label);
  const showSecret = (what: string, value: string) =>
    replace(secret, h('p', { class: 'once', role: 'alert' }, `${what} (shown once: copy it now) `, h('code', { id: 'new-secret' }, value)));
  const table = (id: string, titles: string[], rows: HTMLElement[]) =>
    h(
      'div',
      { class: 'scroll' },
      h('table', { id }, h('thead', {}, h('tr', {}, ...titles.map((title) => h('th', { scope: 'col' }, title)))), h('tbody', {}, ...rows)),
    );

  const loadKeys = async () => {
    const { apiKeys } = await session.api.request<{
      apiKeys: { id: string; label: string; role: string; deviceId: string | null; createdAt: string; lastUsedAt: string | null; revokedAt: string | null }[];
    }>(KEYS);
    const label = h('input', { id: 'key-label', required: true, maxlength: 100 });
    const role = h('select', { id: 'key-role' }, h('option', { value: 'READER' }, 'reader'), h('option', { value: 'ADMIN' }, 'admin'));
    const form = h(
      'form',
      { class: 'inline-form' },
      h('label', { for: 'key-label' }, 'Label'),
      label,
      h('label', { for: 'key-role' }, 'Role'),
      role,
      h('button', { type: 'submit' }, 'Create key'),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void session.api
        .request<{ createApiKey: { secret: string } }>(CREATE_KEY, { input: { label: label.value, role: role.value } })
        .then(({ createApiKey }) => {
          showSecret('New key', createApiKey.secret);
          return loadKeys();
        })
        .catch(fail);
    });
    replace(
      keysBox,
      h('h2', { id: 'keys-title' }, 'API keys'),
      table(
        'keys',
        ['Label', 'Role', 'Created', 'Last used', ''],
        apiKeys.map((key) =>
          h(
            'tr',
            {},
            h('td', {}, key.label),
            h('td', {}, key.role.toLowerCase() + (key.deviceId ? ` (${key.deviceId})` : '')),
            h('td', {}, ago(key.createdAt)),
            h('td', {}, ago(key.lastUsedAt)),
            h(
              'td',
              {},
              key.revokedAt
                ? `revoked ${ago(key.revokedAt)}`
                : key.id !== session.keyId && button('Revoke', () => session.api.request(REVOKE_KEY, { id: key.id }).then(loadKeys)),
            ),
          ),
        ),
      ),
      form,
    );
  };

  const loadWebhooks = async () => {
    const { webhooks } = await session.api.request<{ webhooks: { id: string; url: string; minSeverity: string; deliveries: Delivery[] }[] }>(WEBHOOKS);
    const url = h('input', { id: 'webhook-url', type: 'url', required: true });
    const form = h('form', { class: 'inline-form' }, h('label', { for: 'webhook-url' }, 'URL'), url, h('button', { type: 'submit' }, 'Add webhook'));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void session.api
        .request<{ createWebhook: { secret: string } }>(CREATE_WEBHOOK, { input: { url: url.value } })
        .then(({ createWebhook }) => {
          showSecret('Signing secret', createWebhook.secret);
          return loadWebhooks();
        })
        .catch(fail);
    });
    const count = (deliveries: { status: string }[], status: string) => deliveries.filter((d) => d.status === status).length;
    replace(
      hooksBox,
      h('h2', { id: 'webhooks-title' }, 'Webhooks'),
      button('Refresh deliveries', loadWebhooks),
      table(
        'webhooks',
        ['URL', 'Min severity', 'Recent deliveries', 'Last error', 'Deliveries', ''],
        webhooks.map((hook) =>
          h(
            'tr',
            {},
            h('td', {}, hook.url),
            h('td', {}, hook.minSeverity.toLowerCase()),
            h(
              'td',
              {},
              `${count(hook.deliveries, 'DELIVERED')} delivered, ${count(hook.deliveries, 'PENDING')} pending, ${count(hook.deliveries, 'FAILED')} failed`,
            ),
            h('td', {}, hook.deliveries.find((d) => d.lastError)?.lastError ?? '–'),
            h('td', {}, deliveryDetail(hook.id, hook.url, hook.deliveries)),
            h(
              'td',
              {},
              button('Delete', () => session.api.request(DELETE_WEBHOOK, { id: hook.id }).then(loadWebhooks)),
            ),
          ),
        ),
      ),
      form,
    );
  };

  const loadDeadLetters = async () => {
    const { deadLetters } = await session.api.request<{
      deadLetters: { edges: { node: { id: string; reason: string; createdAt: string; replayedAt: string | null } }[] };
    }>(DEAD_LETTERS);
    replace(
      lettersBox,
      h('h2', { id: 'dead-letters-title' }, 'Dead letters'),
      deadLetters.edges.length === 0
        ? h('p', {}, 'None: the consumer applied every message.')
        : table(
            'dead-letters',
            ['Created', 'Reason', 'Replayed', ''],
            deadLetters.edges.map(({ node }) =>
              h(
                'tr',
                {},
                h('td', {}, ago(node.createdAt)),
                h('td', {}, node.reason),
                h('td', {}, node.replayedAt ? ago(node.replayedAt) : '–'),
                h(
                  'td',
                  {},
                  button('Replay', () => session.api.request(REPLAY, { id: node.id }).then(loadDeadLetters)),
                ),
              ),
            ),
          ),
    );
  };

  replace(main, h('h1', {}, 'Admin'), note, secret, keysBox, hooksBox, lettersBox);
  void Promise.all([loadKeys(), loadWebhooks(), loadDeadLetters()]).catch(fail);
  return { dispose() {} };
}
