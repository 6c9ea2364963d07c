import { MetricChart } from '../chart';
import { ago, formatValue, h, messageOf, replace } from '../dom';
import type { Session, View } from './view';

const RANGES: readonly (readonly [string, number])[] = [
  ['Last hour', 3600],
  ['Last 6 hours', 6 * 3600],
  ['Last day', 86400],
  ['Last week', 7 * 86400],
  ['Last 30 days', 30 * 86400],
  ['Last year', 365 * 86400],
];

const DEVICE = `query Device($id: ID!) { device(id: $id) { id name status tags lastSeenAt heartbeatTimeoutSeconds latest { metric value timestamp } } }`;
const SERIES = `query Series($id: ID!, $metric: String!, $from: DateTime!, $to: DateTime!) { series(deviceId: $id, metric: $metric, from: $from, to: $to, points: 1000) { points { timestamp value } totalPoints downsampled } }`;
const ANOMALIES = `query DeviceAnomalies($id: ID!) { anomalies(first: 200, filter: { deviceId: $id }) { edges { node { metric timestamp value kind } } } }`;
const READINGS = `query Readings($id: ID!, $metric: String!, $after: String) { readings(deviceId: $id, metric: $metric, first: 20, after: $after) { edges { node { timestamp value } } pageInfo { endCursor hasNextPage } } }`;
const LIVE = `subscription DeviceReadings($id: ID!, $after: String) { readingAdded(deviceId: $id, after: $after) { cursor timestamp metrics { name value } } }`;

interface DeviceData {
  id: string;
  name: string;
  status: string;
  tags: string[];
  lastSeenAt: string | null;
  heartbeatTimeoutSeconds: number;
  latest: { metric: string; value: number; timestamp: string }[];
}

const seconds = (iso: string) => Date.parse(iso) / 1000;

/**
 * Device: a chart per metric over a chosen range from `series`, then extended live by
 * `readingAdded`. The subscription starts before the charts load (the chart drops the overlap)
 * and after a network drop resumes after the last cursor it saw: the chart has no hole.
 */
export function deviceView(session: Session, main: HTMLElement, id: string): View {
  const charts = new Map<string, MetricChart>();
  const chartsBox = h('div', { class: 'charts' });
  const range = h('select', { id: 'range' }, ...RANGES.map(([label, span]) => h('option', { value: span }, label)));
  const note = h('p', { class: 'note', role: 'status' });
  const header = h('div', { class: 'device-header' });
  const rawBox = h('section', { 'aria-labelledby': 'raw-title' });
  let cursor: string | undefined;
  let metrics: string[] = [];

  const chartFor = (metric: string) => {
    let chart = charts.get(metric);
    if (!chart) {
      const box = h('figure', { class: 'chart', 'data-metric': metric }, h('figcaption', {}, metric));
      chartsBox.appendChild(box);
      chart = new MetricChart(box, metric);
      charts.set(metric, chart);
    }
    return chart;
  };

  const loadCharts = async () => {
    const to = new Date(Date.now() + 60_000);
    const from = new Date(to.getTime() - Number(range.value) * 1000 - 60_000);
    const [anomalies, ...series] = await Promise.all([
      session.api.request<{ anomalies: { edges: { node: { metric: string | null; timestamp: string; value: number | null } }[] } }>(ANOMALIES, { id }),
      ...metrics.map((metric) =>
        session.api.request<{ series: { points: { timestamp: string; value: number }[] } }>(SERIES, {
          id,
          metric,
          from: from.toISOString(),
          to: to.toISOString(),
        }),
      ),
    ]);
    metrics.forEach((metric, i) => {
      const chart = chartFor(metric);
      chart.add(series[i]!.series.points.map((point) => ({ t: seconds(point.timestamp), value: point.value })));
      chart.setMarkers(
        anomalies.anomalies.edges.filter(({ node }) => node.metric === metric).map(({ node }) => ({ t: seconds(node.timestamp), value: node.value })),
      );
    });
  };

  const load = async () => {
    try {
      const { device } = await session.api.request<{ device: DeviceData | null }>(DEVICE, { id });
      if (!device) {
        replace(main, h('h1', {}, 'No such device'), h('p', {}, `Your tenant has no device "${id}".`));
        return;
      }
      metrics = device.latest.map((point) => point.metric);
      replace(
        header,
        h('h1', {}, device.name),
        h(
          'dl',
          {},
          h('dt', {}, 'Id'),
          h('dd', {}, device.id),
          h('dt', {}, 'Status'),
          h('dd', {}, h('span', { class: `status status-${device.status.toLowerCase()}` }, device.status.toLowerCase().replace('_', ' '))),
          h('dt', {}, 'Tags'),
          h('dd', {}, device.tags.join(', ') || '–'),
          h('dt', {}, 'Last seen'),
          h('dd', {}, ago(device.lastSeenAt)),
        ),
      );
      if (metrics.length === 0) replace(note, 'No readings yet: charts appear with the first one.');
      await loadCharts();
      rawTable(metrics[0]);
    } catch (error) {
      replace(note, messageOf(error));
    }
  };

  const rawTable = (metric: string | undefined, after?: string) => {
    if (!metric) return;
    const select = h('select', { id: 'raw-metric' }, ...metrics.map((name) => h('option', { value: name, selected: name === metric }, name)));
    select.addEventListener('change', () => rawTable(select.value));
    void session.api
      .request<{ readings: { edges: { node: { timestamp: string; value: number } }[]; pageInfo: { endCursor: string | null; hasNextPage: boolean } } }>(
        READINGS,
        {
          id,
          metric,
          after,
        },
      )
      .then(({ readings }) => {
        const older = readings.pageInfo.hasNextPage
          ? h('button', { type: 'button', class: 'secondary', onclick: () => rawTable(metric, readings.pageInfo.endCursor ?? undefined) }, 'Older readings')
          : null;
        const newest = after ? h('button', { type: 'button', class: 'secondary', onclick: () => rawTable(metric) }, 'Newest') : null;
        replace(
          rawBox,
          h('h2', { id: 'raw-title' }, 'Raw readings'),
          h('label', { for: 'raw-metric' }, 'Metric '),
          select,
          h(
            'table',
            { id: 'raw-readings' },
            h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Time'), h('th', { scope: 'col' }, 'Value'))),
            h(
              'tbody',
              {},
              ...readings.edges.map(({ node }) => h('tr', {}, h('td', {}, new Date(node.timestamp).toLocaleString()), h('td', {}, formatValue(node.value)))),
            ),
          ),
          h('div', { class: 'pager' }, newest, older),
        );
      })
      .catch((error: unknown) => replace(rawBox, messageOf(error)));
  };

  const stop = session.api.live<{ readingAdded: { cursor: string; timestamp: string; metrics: { name: string; value: number }[] } }>(
    LIVE,
    () => ({ id, after: cursor }),
    ({ readingAdded: event }) => {
      cursor = event.cursor;
      for (const metric of event.metrics) {
        if (!metrics.includes(metric.name)) metrics.push(metric.name);
        chartFor(metric.name).add([{ t: seconds(event.timestamp), value: metric.value }]);
      }
      replace(note, '');
    },
    // Before the first live event there is no cursor to resume after: read the range again.
    () => {
      if (cursor === undefined) void loadCharts().catch(() => {});
    },
  );

  range.addEventListener('change', () => {
    for (const chart of charts.values()) chart.destroy();
    charts.clear();
    replace(chartsBox);
    void loadCharts().catch((error: unknown) => replace(note, messageOf(error)));
  });

  replace(
    main,
    h('p', {}, h('a', { href: '#/fleet' }, '← Fleet')),
    header,
    h('div', { class: 'filters' }, h('label', { for: 'range' }, 'Range'), range),
    note,
    chartsBox,
    rawBox,
  );
  // The browser tests read the charts' points through this hook.
  (window as unknown as { telemetryCharts?: Map<string, MetricChart> }).telemetryCharts = charts;
  void load();
  return {
    dispose() {
      stop();
      for (const chart of charts.values()) chart.destroy();
    },
  };
}
