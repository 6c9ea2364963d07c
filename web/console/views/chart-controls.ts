import { h } from '../dom';
import { browserZone, instantToWall, wallToInstant, zoneChoices } from '../time-zone';

/** The statistics of an `aggregates` bucket a chart can draw, one line each. */
export const AGGREGATE_FUNCTIONS = ['avg', 'min', 'max', 'sum', 'count', 'first', 'last', 'stddev', 'p50', 'p90', 'p95', 'p99'] as const;
export type AggregateFunction = (typeof AGGREGATE_FUNCTIONS)[number];

/** What the device page's charts show. */
export interface ChartSettings {
  /** Epoch ms, inclusive. */
  readonly from: number;
  /** Epoch ms, exclusive. */
  readonly to: number;
  /** A preset ("last hour"...): live readings extend it. A custom range is fixed. */
  readonly relative: boolean;
  /** An `aggregates` bucket ("5m", "day"...), or undefined for the raw points of `series`. */
  readonly bucket: string | undefined;
  /** The lines drawn per bucket (empty for raw points). */
  readonly functions: readonly AggregateFunction[];
  /** IANA zone of the time axis, of calendar buckets and of the custom range's inputs. */
  readonly timeZone: string;
}

const PRESETS: readonly (readonly [string, number])[] = [
  ['Last hour', 3600],
  ['Last 6 hours', 6 * 3600],
  ['Last day', 86400],
  ['Last week', 7 * 86400],
  ['Last 30 days', 30 * 86400],
  ['Last year', 365 * 86400],
];
const CUSTOM = 'custom';

/** Fixed widths are aligned to UTC; calendar buckets follow the chosen zone. */
const BUCKETS: readonly (readonly [string, string])[] = [
  ['', 'Raw points (downsampled)'],
  ['1m', '1 minute'],
  ['5m', '5 minutes'],
  ['15m', '15 minutes'],
  ['1h', '1 hour'],
  ['6h', '6 hours'],
  ['day', 'Calendar day'],
  ['week', 'Calendar week'],
  ['month', 'Calendar month'],
];

/**
 * The device page's chart controls: a preset or custom range, a bucket size, the aggregate
 * functions and the time zone. `onChange` runs on every change that yields valid settings;
 * `settings()` answers a message for the user when the custom range is not one.
 */
export function chartControls(onChange: () => void): { element: HTMLElement; settings(): ChartSettings | { error: string } } {
  const range = h(
    'select',
    { id: 'range' },
    ...PRESETS.map(([label, span]) => h('option', { value: span }, label)),
    h('option', { value: CUSTOM }, 'Custom range'),
  );
  const from = h('input', { id: 'range-from', type: 'datetime-local', step: 60 });
  const to = h('input', { id: 'range-to', type: 'datetime-local', step: 60 });
  const custom = h(
    'span',
    { class: 'custom-range', hidden: true },
    h('span', { class: 'field' }, h('label', { for: 'range-from' }, 'From'), from),
    h('span', { class: 'field' }, h('label', { for: 'range-to' }, 'To'), to),
  );
  const bucket = h('select', { id: 'bucket' }, ...BUCKETS.map(([value, label]) => h('option', { value }, label)));
  const boxes = AGGREGATE_FUNCTIONS.map((name) => h('input', { type: 'checkbox', id: `fn-${name}`, value: name, checked: name === 'avg' }));
  const functions = h(
    'fieldset',
    { class: 'functions', disabled: true },
    h('legend', {}, 'Functions'),
    ...boxes.map((box) => h('span', {}, box, h('label', { for: box.id }, box.value))),
  );
  let zoneShown = browserZone();
  const zone = h('select', { id: 'time-zone' }, ...zoneChoices().map((name) => h('option', { value: name, selected: name === zoneShown }, name)));

  const presetSpan = () => Number(range.value) * 1000;
  const settings = (): ChartSettings | { error: string } => {
    const chosen = boxes.filter((box) => box.checked).map((box) => box.value as AggregateFunction);
    const common = { bucket: bucket.value || undefined, functions: bucket.value ? chosen : [], timeZone: zone.value };
    if (bucket.value && chosen.length === 0) return { error: 'Choose at least one function.' };
    if (range.value !== CUSTOM) {
      // A minute past now: a reading stamped by a device clock slightly ahead still shows.
      const end = Date.now() + 60_000;
      return { ...common, from: end - presetSpan() - 60_000, to: end, relative: true };
    }
    const start = wallToInstant(from.value, zone.value);
    const end = wallToInstant(to.value, zone.value);
    if (Number.isNaN(start) || Number.isNaN(end)) return { error: 'Give the custom range a start and an end.' };
    if (start >= end) return { error: 'The custom range must end after it starts.' };
    return { ...common, from: start, to: end, relative: false };
  };

  range.addEventListener('change', () => {
    const isCustom = range.value === CUSTOM;
    custom.hidden = !isCustom;
    // Custom starts from the range on screen, so the user adjusts rather than types it all.
    if (isCustom && !from.value && !to.value) {
      const now = Date.now();
      from.value = instantToWall(now - 3600_000, zone.value);
      to.value = instantToWall(now + 60_000, zone.value);
    }
    onChange();
  });
  zone.addEventListener('change', () => {
    // The custom range keeps its instants: only their wall-clock spelling changes.
    for (const input of [from, to]) {
      const instant = wallToInstant(input.value, zoneShown);
      if (!Number.isNaN(instant)) input.value = instantToWall(instant, zone.value);
    }
    zoneShown = zone.value;
    onChange();
  });
  bucket.addEventListener('change', () => {
    functions.disabled = !bucket.value;
    onChange();
  });
  for (const input of [from, to, ...boxes]) input.addEventListener('change', onChange);

  const element = h(
    'form',
    { class: 'filters chart-controls', 'aria-label': 'Chart settings', onsubmit: (event: Event) => event.preventDefault() },
    // Each label stays on the line of its control when the row wraps.
    h('span', { class: 'field' }, h('label', { for: 'range' }, 'Range'), range),
    custom,
    h('span', { class: 'field' }, h('label', { for: 'bucket' }, 'Bucket'), bucket),
    h('span', { class: 'field' }, h('label', { for: 'time-zone' }, 'Time zone'), zone),
    functions,
  );
  return { element, settings };
}
