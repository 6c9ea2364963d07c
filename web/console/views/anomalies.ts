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
const LIVE = `subscription InboxLive($after: String) { anomalyDetected(after: $after) { ${FIELDS} } }`;
const RULES = `query Rules { anomalyRules { id deviceId tag metric min max maxRatePerSecond severity zScore { threshold window warmup } } }`;
const SET_RULE = `mutation SetRule($input: AnomalyRuleInput!) { setAnomalyRule(input: $input) { id } }`;
const DELETE_RULE = `mutation DeleteRule($id: ID!) { deleteAnomalyRule(id: $id) }`;
/**
 * A transition (acknowledge, resolve) is not an event of anomalyDetected, so the inbox reads
 * the list again this often to show what other people did.
 */
const REFRESH_MS = 3000;

/** Anomalies: a live inbox with acknowledge and resolve (admins), and the detection rules. */
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
    session.api.request(`mutation Transition($id: ID!) { ${action}(id: $id) { id status } }`, { id: anomaly.id }).then(load, showError);
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
      if (cursor === undefined && nodes[0] && !status.value) cursor = nodes[0].cursor;
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
                      { type: 'button', class: 'secondary', onclick: () => void session.api.request(DELETE_RULE, { id: rule.id }).then(loadRules, showError) },
                      'Delete',
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

  const stopLive = session.api.live<{ anomalyDetected: Anomaly }>(
    LIVE,
    () => ({ after: cursor }),
    ({ anomalyDetected }) => {
      cursor = anomalyDetected.cursor;
      // An anomaly comes again each time a new trigger updates it or it clears: replace its row.
      body.querySelector(`tr[data-anomaly="${CSS.escape(anomalyDetected.id)}"]`)?.remove();
      if (!status.value || status.value === anomalyDetected.status) {
        body.querySelector('td[colspan]')?.parentElement?.remove();
        body.prepend(row(anomalyDetected));
      }
    },
  );
  const timer = setInterval(() => void load(), REFRESH_MS);
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
  void load();
  void loadRules();
  return {
    dispose() {
      stopLive();
      clearInterval(timer);
    },
  };
}
