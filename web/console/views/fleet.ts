import { ago, formatValue, h, messageOf, replace } from '../dom';
import { sparkline, type SparkPoint } from '../sparkline';
import type { Session, View } from './view';

interface Device {
  id: string;
  name: string;
  status: string;
  tags: string[];
  lastSeenAt: string | null;
  latest: { metric: string; value: number; timestamp: string }[];
}

const DEVICES = `query Fleet($filter: DeviceFilter, $first: Int!) {
  devices(first: $first, filter: $filter) { edges { node { id name status tags lastSeenAt latest { metric value timestamp } } } pageInfo { hasNextPage } }
}`;
const STATUS = `subscription FleetStatus { deviceStatusChanged { deviceId status lastSeenAt } }`;
const READINGS = `subscription FleetReadings($deviceIds: [ID!], $after: String) { readingAdded(deviceIds: $deviceIds, after: $after) { cursor deviceId timestamp metrics { name value } } }`;
/** readingAdded names at most this many devices: the fleet page shows as many. */
const PAGE = 100;
/** Sparklines: the last hour in buckets of 2 minutes, for at most this many distinct metrics (one alias each). */
const SPARK_SECONDS = 3600;
const SPARK_BUCKET = '2m';
const SPARK_METRICS = 20;
/**
 * One document for every sparkline of the page: an `aggregates` per distinct metric (the
 * metric in a variable), each over all the page's devices.
 */
const sparkQuery = (metrics: number) => {
  const indexes = [...Array(metrics).keys()];
  return `query FleetSparklines($ids: [ID!]!, $from: DateTime!, $to: DateTime!${indexes.map((i) => `, $m${i}: String!`).join('')}) { ${indexes
    .map((i) => `m${i}: aggregates(deviceIds: $ids, metric: $m${i}, from: $from, to: $to, bucket: "${SPARK_BUCKET}") { deviceId buckets { start avg } }`)
    .join(' ')} }`;
};

/** Fleet: devices with status, tags, last seen and latest values with a sparkline each; filtered; updated live. */
export function fleetView(session: Session, main: HTMLElement): View {
  const stops: (() => void)[] = [];
  const devices = new Map<string, Device>();
  const name = h('input', { id: 'filter-name', type: 'search', autocomplete: 'off' });
  const tag = h('input', { id: 'filter-tag', type: 'search', autocomplete: 'off' });
  const status = h(
    'select',
    { id: 'filter-status' },
    ...['', 'ONLINE', 'OFFLINE', 'NEVER_SEEN', 'DECOMMISSIONED'].map((value) => h('option', { value }, value ? value.toLowerCase().replace('_', ' ') : 'any')),
  );
  const body = h('tbody');
  const note = h('p', { class: 'note', role: 'status' });
  const table = h(
    'table',
    { id: 'fleet' },
    h('caption', { class: 'visually-hidden' }, 'Devices'),
    h('thead', {}, h('tr', {}, ...['Device', 'Status', 'Tags', 'Last seen', 'Latest'].map((title) => h('th', { scope: 'col' }, title)))),
    body,
  );
  let cursor: string | undefined;
  /** Per device, per metric: the sparkline's points (seconds, value), oldest first. */
  const sparks = new Map<string, Map<string, SparkPoint[]>>();
  const sparkOf = (deviceId: string, metric: string) => {
    let byMetric = sparks.get(deviceId);
    if (!byMetric) sparks.set(deviceId, (byMetric = new Map<string, SparkPoint[]>()));
    let points = byMetric.get(metric);
    if (!points) byMetric.set(metric, (points = []));
    return points;
  };

  const row = (device: Device) =>
    h(
      'tr',
      { 'data-device': device.id },
      h(
        'th',
        { scope: 'row' },
        h('a', { href: `#/device/${encodeURIComponent(device.id)}` }, device.name),
        device.name !== device.id && h('small', {}, ` ${device.id}`),
      ),
      h('td', {}, h('span', { class: `status status-${device.status.toLowerCase()}` }, device.status.toLowerCase().replace('_', ' '))),
      h('td', {}, ...device.tags.map((t) => h('span', { class: 'tag' }, t))),
      h('td', { title: device.lastSeenAt ?? '' }, ago(device.lastSeenAt)),
      h(
        'td',
        { class: 'latest' },
        ...device.latest.map((point) =>
          h(
            'span',
            { class: 'metric', 'data-metric': point.metric },
            `${point.metric} `,
            h('b', {}, formatValue(point.value)),
            ' ',
            sparkline(point.metric, sparks.get(device.id)?.get(point.metric) ?? [], formatValue),
          ),
        ),
      ),
    );
  const draw = () => {
    const wanted = status.value;
    const shown = [...devices.values()].filter((device) => !wanted || device.status === wanted);
    replace(body, ...shown.map(row));
    if (shown.length === 0) replace(body, h('tr', {}, h('td', { colspan: 5 }, 'No device matches.')));
  };

  const load = async () => {
    try {
      const filter = { ...(name.value ? { nameContains: name.value } : {}), ...(tag.value ? { tag: tag.value } : {}) };
      const data = await session.api.request<{ devices: { edges: { node: Device }[]; pageInfo: { hasNextPage: boolean } } }>(DEVICES, { filter, first: PAGE });
      devices.clear();
      for (const { node } of data.devices.edges) devices.set(node.id, node);
      replace(note, data.devices.pageInfo.hasNextPage ? `Showing the first ${PAGE} devices: narrow the filter to see others.` : '');
      draw();
      subscribeReadings();
      await loadSparklines();
    } catch (error) {
      replace(note, messageOf(error));
    }
  };

  const loadSparklines = async () => {
    const ids = [...devices.keys()];
    const metrics = [...new Set([...devices.values()].flatMap((device) => device.latest.map((point) => point.metric)))].slice(0, SPARK_METRICS);
    if (ids.length === 0 || metrics.length === 0) return;
    const to = Date.now() + 60_000;
    const variables: Record<string, unknown> = { ids, from: new Date(to - SPARK_SECONDS * 1000).toISOString(), to: new Date(to).toISOString() };
    metrics.forEach((metric, i) => (variables[`m${i}`] = metric));
    const data = await session.api.request<Record<string, { deviceId: string; buckets: { start: string; avg: number | null }[] }[]>>(
      sparkQuery(metrics.length),
      variables,
    );
    sparks.clear();
    metrics.forEach((metric, i) => {
      for (const series of data[`m${i}`] ?? []) {
        const points = sparkOf(series.deviceId, metric);
        for (const bucket of series.buckets) if (bucket.avg !== null) points.push({ t: Date.parse(bucket.start) / 1000, value: bucket.avg });
      }
    });
    draw();
  };

  let stopReadings: (() => void) | undefined;
  const subscribeReadings = () => {
    stopReadings?.();
    cursor = undefined;
    const ids = [...devices.keys()];
    if (ids.length === 0) return;
    stopReadings = session.api.live<{ readingAdded: { cursor: string; deviceId: string; timestamp: string; metrics: { name: string; value: number }[] } }>(
      READINGS,
      () => ({ deviceIds: ids, after: cursor }),
      ({ readingAdded: event }) => {
        cursor = event.cursor;
        const device = devices.get(event.deviceId);
        if (!device) return;
        device.lastSeenAt = event.timestamp > (device.lastSeenAt ?? '') ? event.timestamp : device.lastSeenAt;
        for (const metric of event.metrics) {
          const point = device.latest.find((p) => p.metric === metric.name);
          if (!point) device.latest.push({ metric: metric.name, value: metric.value, timestamp: event.timestamp });
          else if (event.timestamp >= point.timestamp) Object.assign(point, { value: metric.value, timestamp: event.timestamp });
          // The sparkline gains the reading itself (its buckets hold averages): the newest end stays live.
          const points = sparkOf(event.deviceId, metric.name);
          const t = Date.parse(event.timestamp) / 1000;
          if (t >= (points[points.length - 1]?.t ?? -Infinity)) points.push({ t, value: metric.value });
          while (points.length > 0 && points[0]!.t < Date.now() / 1000 - SPARK_SECONDS) points.shift();
        }
        if (device.status === 'NEVER_SEEN' || device.status === 'OFFLINE') device.status = 'ONLINE';
        draw();
      },
    );
  };
  stops.push(() => stopReadings?.());
  // Status changes are live only: after a reconnect, read the list again.
  stops.push(
    session.api.live<{ deviceStatusChanged: { deviceId: string; status: string; lastSeenAt: string | null } }>(
      STATUS,
      () => ({}),
      ({ deviceStatusChanged: event }) => {
        const device = devices.get(event.deviceId);
        if (!device) return;
        device.status = event.status;
        device.lastSeenAt = event.lastSeenAt ?? device.lastSeenAt;
        draw();
      },
      () => void load(),
    ),
  );

  let debounce: ReturnType<typeof setTimeout> | undefined;
  const reload = () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => void load(), 250);
  };
  name.addEventListener('input', reload);
  tag.addEventListener('input', reload);
  status.addEventListener('change', draw);

  replace(
    main,
    h('h1', {}, 'Fleet'),
    h(
      'form',
      { class: 'filters', role: 'search', onsubmit: (event: Event) => event.preventDefault() },
      h('label', { for: 'filter-name' }, 'Name contains'),
      name,
      h('label', { for: 'filter-tag' }, 'Tag'),
      tag,
      h('label', { for: 'filter-status' }, 'Status'),
      status,
    ),
    note,
    h('div', { class: 'scroll' }, table),
  );
  void load();
  return { dispose: () => stops.forEach((stop) => stop()) };
}
