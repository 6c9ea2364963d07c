import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** Anomalies drawn on a chart: a red ring at each (time, value). */
export interface Marker {
  readonly t: number;
  readonly value: number | null;
}

export interface ChartOptions {
  /** The lines drawn: one per aggregate function, or the metric itself for raw points. @default [metric] */
  readonly lines?: readonly string[];
  /** IANA zone the time axis is labelled in. @default the browser's zone */
  readonly timeZone?: string;
}

/** Distinct on light and dark backgrounds; a line past the palette reuses it. */
const PALETTE = ['#1f6feb', '#bf3989', '#1a7f37', '#9a6700', '#8250df', '#cf222e'];

/**
 * One metric's line chart (uPlot: draws 100k points in milliseconds). Raw points arrive from
 * `series` and then from `readingAdded`; add() keeps them sorted and drops repeats, so the
 * overlap between the initial query and the live feed costs nothing. Aggregates arrive whole,
 * one column per function (setColumns).
 */
export class MetricChart {
  private readonly plot: uPlot;
  private readonly resize: ResizeObserver;
  private xs: number[] = [];
  private ys: (number | null)[][];
  private markers: readonly Marker[] = [];
  readonly lines: readonly string[];

  constructor(
    container: HTMLElement,
    readonly metric: string,
    options: ChartOptions = {},
  ) {
    this.lines = options.lines ?? [metric];
    this.ys = this.lines.map(() => []);
    const zone = options.timeZone;
    this.plot = new uPlot(
      {
        width: Math.max(container.clientWidth, 280),
        height: 220,
        series: [{}, ...this.lines.map((label, i) => ({ label, stroke: PALETTE[i % PALETTE.length]!, width: 1.5, spanGaps: false }))],
        axes: [{}, { size: 60 }],
        ...(zone ? { tzDate: (seconds: number) => uPlot.tzDate(new Date(seconds * 1000), zone) } : {}),
        hooks: { draw: [(u) => this.drawMarkers(u)] },
      },
      [[], ...this.ys],
      container,
    );
    this.resize = new ResizeObserver(() => this.plot.setSize({ width: Math.max(container.clientWidth, 280), height: 220 }));
    this.resize.observe(container);
  }

  /** Points of the first line, in seconds since the epoch. */
  add(points: readonly { t: number; value: number }[]): void {
    const merged = new Map<number, number | null>();
    this.xs.forEach((x, i) => merged.set(x, this.ys[0]![i]!));
    for (const point of points) merged.set(point.t, point.value);
    this.xs = [...merged.keys()].sort((a, b) => a - b);
    this.ys = [this.xs.map((x) => merged.get(x)!)];
    this.plot.setData([this.xs, ...this.ys]);
  }

  /** Replaces every point: `columns[i]` holds line i's values at `xs` (null: no value). */
  setColumns(xs: readonly number[], columns: readonly (readonly (number | null)[])[]): void {
    this.xs = [...xs];
    this.ys = columns.map((column) => [...column]);
    this.plot.setData([this.xs, ...this.ys]);
  }

  setMarkers(markers: readonly Marker[]): void {
    this.markers = markers;
    this.plot.redraw();
  }

  get pointCount(): number {
    return this.xs.length;
  }

  /** The x values in seconds (the browser tests read them). */
  get timestamps(): readonly number[] {
    return this.xs;
  }

  /** The values of each line (the browser tests read them). */
  get columns(): readonly (readonly (number | null)[])[] {
    return this.ys;
  }

  destroy(): void {
    this.resize.disconnect();
    this.plot.destroy();
  }

  private drawMarkers(u: uPlot): void {
    const context = u.ctx;
    context.save();
    context.strokeStyle = '#d1242f';
    context.lineWidth = 2 * devicePixelRatio;
    for (const marker of this.markers) {
      if (marker.value === null) continue;
      const x = u.valToPos(marker.t, 'x', true);
      const y = u.valToPos(marker.value, 'y', true);
      context.beginPath();
      context.arc(x, y, 5 * devicePixelRatio, 0, 2 * Math.PI);
      context.stroke();
    }
    context.restore();
  }
}
