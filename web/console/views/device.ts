import { MetricChart } from '../chart';
import { ago, formatValue, h, messageOf, replace } from '../dom';
import { chartControls, type AggregateFunction, type ChartSettings } from './chart-controls';
import type { Session, View } from './view';

const DEVICE = `query Device($id: ID!) { device(id: $id) { id name status tags lastSeenAt heartbeatTimeoutSeconds latest { metric value timestamp } } }`;
const SERIES = `query Series($id: ID!, $metric: String!, $from: DateTime!, $to: DateTime!) { series(deviceId: $id, metric: $metric, from: $from, to: $to, points: 1000) { points { timestamp value } totalPoints downsampled } }`;
/** The functions come from a closed list (AGGREGATE_FUNCTIONS): only field names reach the document. */
const aggregatesQuery = (functions: readonly AggregateFunction[]) =>
  `query Aggregates($id: ID!, $metric: String!, $from: DateTime!, $to: DateTime!, $bucket: String!, $timeZone: String!) { aggregates(deviceIds: [$id], metric: $metric, from: $from, to: $to, bucket: $bucket, timeZone: $timeZone) { buckets { start ${functions.join(' ')} } } }`;
const ANOMALIES = `query DeviceAnomalies($id: ID!) { anomalies(first: 200, filter: { deviceId: $id }) { edges { node { metric timestamp value kind } } } }`;
const READINGS = `query Readings($id: ID!, $metric: String!, $after: String) { readings(deviceId: $id, metric: $metric, first: 20, after: $after) { edges { node { timestamp value } } pageInfo { endCursor hasNextPage } } }`;
const READING_CURSOR = `query ReadingCursor { readingCursor }`;
const LIVE = `subscription DeviceReadings($id: ID!, $after: String) { readingAdded(deviceId: $id, after: $after) { cursor timestamp metrics { name value } } }`;
/** Aggregate charts read their buckets again at most this often while readings arrive. */
const AGGREGATE_REFRESH_MS = 1000;

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
 * Device: a chart per metric over a chosen range, raw points from `series` or buckets from
 * `aggregates` (bucket size, functions, time zone), then extended live by `readingAdded`. The
 * subscription starts after `readingCursor`, read before anything else, so every reading
 * stored after the queries' snapshot arrives however late the socket opens (the chart drops
 * the overlap), and after a network drop it resumes after the last cursor it saw: the chart
 * has no hole. Aggregate charts read their buckets again when a reading falls in their range.
 */
export function deviceView(session: Session, main: HTMLElement, id: string): View {
  const charts = new Map<string, MetricChart>();
  const chartsBox = h('div', { class: 'charts' });
  const note = h('p', { class: 'note', role: 'status' });
  const header = h('div', { class: 'device-header' });
  const rawBox = h('section', { 'aria-labelledby': 'raw-title' });
  let cursor: string | undefined;
  let metrics: string[] = [];
  let stopLive: (() => void) | undefined;
  let disposed = false;
  /** The settings the charts on screen were drawn with; undefined while they are invalid. */
  let shown: ChartSettings | undefined;
  /** Bumped on every redraw: answers to an older one are dropped. */
  let generation = 0;

  const chartFor = (metric: string, settings: ChartSettings) => {
    let chart = charts.get(metric);
    if (!chart) {
      const box = h('figure', { class: 'chart', 'data-metric': metric }, h('figcaption', {}, metric));
      chartsBox.appendChild(box);
      chart = new MetricChart(box, metric, { timeZone: settings.timeZone, ...(settings.bucket ? { lines: settings.functions } : {}) });
      charts.set(metric, chart);
    }
    return chart;
  };

  const loadMetric = async (metric: string, settings: ChartSettings, mine: number) => {
    const range = { id, metric, from: new Date(settings.from).toISOString(), to: new Date(settings.to).toISOString() };
    if (settings.bucket) {
      const { aggregates } = await session.api.request<{ aggregates: { buckets: ({ start: string } & Record<AggregateFunction, number | null>)[] }[] }>(
        aggregatesQuery(settings.functions),
        { ...range, bucket: settings.bucket, timeZone: settings.timeZone },
      );
      if (mine !== generation) return;
      const buckets = aggregates[0]?.buckets ?? [];
      chartFor(metric, settings).setColumns(
        buckets.map((bucket) => seconds(bucket.start)),
        settings.functions.map((name) => buckets.map((bucket) => bucket[name])),
      );
    } else {
      const { series } = await session.api.request<{ series: { points: { timestamp: string; value: number }[] } }>(SERIES, range);
      if (mine !== generation) return;
      chartFor(metric, settings).add(series.points.map((point) => ({ t: seconds(point.timestamp), value: point.value })));
    }
  };

  const loadCharts = async () => {
    const settings = shown;
    if (!settings) return;
    const mine = generation;
    const [anomalies] = await Promise.all([
      session.api.request<{ anomalies: { edges: { node: { metric: string | null; timestamp: string; value: number | null } }[] } }>(ANOMALIES, { id }),
      ...metrics.map((metric) => loadMetric(metric, settings, mine)),
    ]);
    if (mine !== generation) return;
    for (const [metric, chart] of charts) {
      chart.setMarkers(
        anomalies.anomalies.edges.filter(({ node }) => node.metric === metric).map(({ node }) => ({ t: seconds(node.timestamp), value: node.value })),
      );
    }
  };

  /** Draws every chart again from the controls' settings. */
  const redraw = () => {
    generation += 1;
    for (const chart of charts.values()) chart.destroy();
    charts.clear();
    replace(chartsBox);
    const settings = controls.settings();
    if ('error' in settings) {
      shown = undefined;
      replace(note, settings.error);
      return;
    }
    shown = settings;
    replace(note, metrics.length === 0 ? 'No readings yet: charts appear with the first one.' : '');
    void loadCharts().catch((error: unknown) => replace(note, messageOf(error)));
  };
  const controls = chartControls(redraw);

  /** Aggregate charts re-read the metrics that received readings, at most once a second. */
  const stale = new Set<string>();
  let refresh: ReturnType<typeof setTimeout> | undefined;
  const refreshAggregates = (metric: string) => {
    stale.add(metric);
    refresh ??= setTimeout(() => {
      refresh = undefined;
      const settings = controls.settings();
      if ('error' in settings || !shown?.bucket) return;
      // A preset range moves with the clock; a custom one stays as it was drawn.
      const current = shown.relative ? settings : shown;
      for (const name of stale) void loadMetric(name, current, generation).catch((error: unknown) => replace(note, messageOf(error)));
      stale.clear();
    }, AGGREGATE_REFRESH_MS);
  };

  const load = async () => {
    try {
      // Before the queries: the subscription then delivers whatever is stored after their snapshot.
      ({ readingCursor: cursor } = await session.api.request<{ readingCursor: string }>(READING_CURSOR, {}));
      if (disposed) return;
      stopLive = startLive();
      const { device } = await session.api.request<{ device: DeviceData | null }>(DEVICE, { id });
      if (!device) {
        replace(main, h('h1', {}, 'No such device'), h('p', {}, `Your tenant has no device "${id}".`));
        return;
      }
      // A live reading may have named a metric already (it arrived before this answer).
      metrics = [...new Set([...device.latest.map((point) => point.metric), ...metrics])];
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
      redraw();
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

  const startLive = () =>
    session.api.live<{ readingAdded: { cursor: string; timestamp: string; metrics: { name: string; value: number }[] } }>(
      LIVE,
      () => ({ id, after: cursor }),
      ({ readingAdded: event }) => {
        cursor = event.cursor;
        const at = Date.parse(event.timestamp);
        for (const metric of event.metrics) {
          if (!metrics.includes(metric.name)) metrics.push(metric.name);
          // A custom range is fixed: a reading outside it is not drawn.
          if (!shown || (!shown.relative && (at < shown.from || at >= shown.to))) continue;
          if (shown.bucket) refreshAggregates(metric.name);
          else chartFor(metric.name, shown).add([{ t: at / 1000, value: metric.value }]);
        }
        if (shown) replace(note, '');
      },
    );

  replace(main, h('p', {}, h('a', { href: '#/fleet' }, '← Fleet')), header, controls.element, note, chartsBox, rawBox);
  // The browser tests read the charts' points through this hook.
  (window as unknown as { telemetryCharts?: Map<string, MetricChart> }).telemetryCharts = charts;
  void load();
  return {
    dispose() {
      disposed = true;
      stopLive?.();
      clearTimeout(refresh);
      for (const chart of charts.values()) chart.destroy();
    },
  };
}
