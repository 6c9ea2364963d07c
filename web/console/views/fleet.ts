import { ago, formatValue, h, messageOf, replace } from '../dom';
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

/** Fleet: devices with status, tags, last seen and latest values; filtered; updated live. */
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
        ...device.latest.map((point) => h('span', { class: 'metric', 'data-metric': point.metric }, `${point.metric} `, h('b', {}, formatValue(point.value)))),
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
    } catch (error) {
      replace(note, messageOf(error));
    }
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
