import { formatValue, h, messageOf, replace } from '../dom';
import type { Session, View } from './view';

interface Anomaly {
  id: string;
  cursor: string;
  deviceId: string;
  metric: string | null;
  kind: string;
  severity: string;
  status: string;
  score: number;
  value: number | null;
  occurrences: number;
  detectedAt: string;
}

const FIELDS = 'id cursor deviceId metric kind severity status score value occurrences detectedAt';
const LIST = `query Inbox($filter: AnomalyFilter) { anomalies(first: 100, filter: $filter) { edges { node { ${FIELDS} } } } }`;
/** Where the inbox's subscription starts: it replays every change after it. */
const HEAD = `query InboxHead { anomalyCursor }`;
const LIVE = `subscription InboxLive($after: String) { anomalyDetected(after: $after) { ${FIELDS} } }`;
const RULES = `query Rules { anomalyRules { id deviceId tag metric min max maxRatePerSecond severity zScore { threshold window warmup } } }`;
const SET_RULE = `mutation SetRule($input: AnomalyRuleInput!) { setAnomalyRule(input: $input) { id } }`;
const DELETE_RULE = `mutation DeleteRule($id: ID!) { deleteAnomalyRule(id: $id) }`;

/**
 * Anomalies: an inbox kept current by `anomalyDetected` alone (it delivers every change,
 * acknowledge and resolve included), with acknowledge and resolve for admins, and the
 * detection rules. The subscription starts from `anomalyCursor`, read before the list, so
 * nothing between the two is missed, and resumes with its cursor after a network drop.
 */
export function anomaliesView(session: Session, main: HTMLElement): View {
  const admin = session.role === 'ADMIN';
  const status = h(
    'select',
    { id: 'anomaly-status' },
    ...['OPEN', 'ACKNOWLEDGED', 'RESOLVED', ''].map((value) => h('option', { value }, value ? value.toLowerCase() : 'all')),
  );
  const body = h('tbody');
  const note = h('p', { class: 'note', role: 'status' });
  const rulesBox = h('section', { 'aria-labelledby': 'rules-title' });
  let cursor: string | undefined;

  const act = (anomaly: Anomaly, action: 'acknowledgeAnomaly' | 'resolveAnomaly') => () => {
    // The answer shows at once; the cursor stays the subscription's (its delivery of the same
    // change replaces the row again, and nothing committed before it is skipped).
    session.api
      .request<Record<typeof action, Anomaly>>(`mutation Transition($id: ID!) { ${action}(id: $id) { ${FIELDS} } }`, { id: anomaly.id })
      .then((answer) => show(answer[action]), showError);
  };
  /** Puts a change of an anomaly at the top of the inbox (or removes it when the filter hides it). */
  const show = (anomaly: Anomaly) => {
    body.querySelector(`tr[data-anomaly="${CSS.escape(anomaly.id)}"]`)?.remove();
    if (!status.value || status.value === anomaly.status) {
      body.querySelector('td[colspan]')?.parentElement?.remove();
      body.prepend(row(anomaly));
    }
  };
  const row = (anomaly: Anomaly) =>
    h(
      'tr',
      { 'data-anomaly': anomaly.id, 'data-status': anomaly.status },
      h('td', {}, new Date(anomaly.detectedAt).toLocaleString()),
      h('td', {}, h('a', { href: `#/device/${encodeURIComponent(anomaly.deviceId)}` }, anomaly.deviceId)),
      h('td', {}, anomaly.metric ?? '–'),
      h('td', {}, anomaly.kind.toLowerCase().replace(/_/g, ' ')),
      h('td', {}, h('span', { class: `severity severity-${anomaly.severity.toLowerCase()}` }, anomaly.severity.toLowerCase())),
      h('td', {}, formatValue(anomaly.value), anomaly.occurrences > 1 ? ` (×${anomaly.occurrences})` : ''),
      h('td', { class: 'anomaly-status' }, anomaly.status.toLowerCase()),
      admin &&
        h(
          'td',
          {},
          anomaly.status === 'OPEN' && h('button', { type: 'button', class: 'secondary', onclick: act(anomaly, 'acknowledgeAnomaly') }, 'Acknowledge'),
          anomaly.status !== 'RESOLVED' && h('button', { type: 'button', class: 'secondary', onclick: act(anomaly, 'resolveAnomaly') }, 'Resolve'),
        ),
    );

  const load = async () => {
    try {
      const filter = status.value ? { status: status.value } : {};
      const data = await session.api.request<{ anomalies: { edges: { node: Anomaly }[] } }>(LIST, { filter });
      const nodes = data.anomalies.edges.map((edge) => edge.node);
      replace(body, ...nodes.map(row));
      if (nodes.length === 0) replace(body, h('tr', {}, h('td', { colspan: admin ? 8 : 7 }, 'Nothing here.')));
    } catch (error) {
      replace(note, messageOf(error));
    }
  };

  const loadRules = async () => {
    try {
      const { anomalyRules } = await session.api.request<{
        anomalyRules: { id: string; deviceId: string | null; tag: string | null; metric: string; min: number | null; max: number | null; severity: string }[];
      }>(RULES);
      replace(
        rulesBox,
        h('h2', { id: 'rules-title' }, 'Detection rules'),
        h(
          'div',
          { class: 'scroll' },
          h(
            'table',
            { id: 'rules' },
            h(
              'thead',
              {},
              h('tr', {}, ...['Scope', 'Metric', 'Min', 'Max', 'Severity', ...(admin ? [''] : [])].map((title) => h('th', { scope: 'col' }, title))),
            ),
            h(
              'tbody',
              {},
              ...anomalyRules.map((rule) =>
                h(
                  'tr',
                  {},
                  h('td', {}, rule.deviceId ? `device ${rule.deviceId}` : rule.tag ? `tag ${rule.tag}` : 'tenant'),
                  h('td', {}, rule.metric),
                  h('td', {}, formatValue(rule.min)),
                  h('td', {}, formatValue(rule.max)),
                  h('td', {}, rule.severity.toLowerCase()),
                  admin &&
                    h(
                      'td',
                      {},
                      h(
                        'button',
                        {
                          type: 'button',
                          class: 'secondary',
                          onclick: () => void session.api.request(DELETE_RULE, { id: rule.id }).then(loadRules, showError),
                        },
                        'Delete',
                      ),
                    ),
                ),
              ),
            ),
          ),
        ),
        admin && ruleForm(),
      );
    } catch (error) {
      showError(error);
    }
  };
  const showError = (error: unknown) => replace(note, messageOf(error));

  const ruleForm = () => {
    const field = (id: string, label: string, attributes: Record<string, string> = {}) => [
      h('label', { for: id }, label),
      h('input', { id, name: id, ...attributes }),
    ];
    const form = h(
      'form',
      { class: 'inline-form', id: 'rule-form' },
      h('h3', {}, 'Set a rule'),
      ...field('rule-device', 'Device id (or empty)'),
      ...field('rule-tag', 'Tag (or empty)'),
      ...field('rule-metric', 'Metric', { value: '*', required: 'true' }),
      ...field('rule-min', 'Min', { type: 'number', step: 'any' }),
      ...field('rule-max', 'Max', { type: 'number', step: 'any' }),
      h('label', { for: 'rule-severity' }, 'Severity'),
      h(
        'select',
        { id: 'rule-severity', name: 'rule-severity' },
        ...['WARNING', 'INFO', 'CRITICAL'].map((value) => h('option', { value }, value.toLowerCase())),
      ),
      h('button', { type: 'submit' }, 'Save rule'),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const value = (name: string) => (form.elements.namedItem(name) as HTMLInputElement).value.trim();
      const number = (name: string) => (value(name) === '' ? undefined : Number(value(name)));
      const input = {
        ...(value('rule-device') ? { deviceId: value('rule-device') } : {}),
        ...(value('rule-tag') ? { tag: value('rule-tag') } : {}),
        metric: value('rule-metric'),
        min: number('rule-min'),
        max: number('rule-max'),
        severity: value('rule-severity'),
      };
      void session.api.request(SET_RULE, { input }).then(loadRules, showError);
    });
    return form;
  };

  let stopLive: (() => void) | undefined;
  let disposed = false;
  const start = async () => {
    try {
      cursor = (await session.api.request<{ anomalyCursor: string }>(HEAD)).anomalyCursor;
    } catch (error) {
      showError(error);
    }
    await load();
    if (disposed) return;
    stopLive = session.api.live<{ anomalyDetected: Anomaly }>(
      LIVE,
      () => ({ after: cursor }),
      ({ anomalyDetected }) => {
        cursor = anomalyDetected.cursor;
        show(anomalyDetected);
      },
      // Without a cursor (its query failed) a resume cannot replay: read the list again.
      () => {
        if (cursor === undefined) void load();
      },
    );
  };
  status.addEventListener('change', () => void load());

  replace(
    main,
    h('h1', {}, 'Anomalies'),
    h('div', { class: 'filters' }, h('label', { for: 'anomaly-status' }, 'Status'), status),
    note,
    h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        { id: 'inbox' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...['Detected', 'Device', 'Metric', 'Kind', 'Severity', 'Value', 'Status', ...(admin ? ['Actions'] : [])].map((title) =>
              h('th', { scope: 'col' }, title),
            ),
          ),
        ),
        body,
      ),
    ),
    rulesBox,
  );
  void start();
  void loadRules();
  return {
    dispose() {
      disposed = true;
      stopLive?.();
    },
  };
}
