import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** Anomalies drawn on a chart: a red ring at each (time, value). */
export interface Marker {
  readonly t: number;
  readonly value: number | null;
}

/**
 * One metric's line chart (uPlot: draws 100k points in milliseconds). Points arrive from
 * `series` and then from `readingAdded`; add() keeps them sorted and drops repeats, so the
 * overlap between the initial query and the live feed costs nothing.
 */
export class MetricChart {
  private readonly plot: uPlot;
  private xs: number[] = [];
  private ys: number[] = [];
  private markers: readonly Marker[] = [];

  constructor(
    container: HTMLElement,
    readonly metric: string,
  ) {
    this.plot = new uPlot(
      {
        width: Math.max(container.clientWidth, 280),
        height: 220,
        series: [{}, { label: metric, stroke: '#1f6feb', width: 1.5, spanGaps: false }],
        axes: [{}, { size: 60 }],
        hooks: { draw: [(u) => this.drawMarkers(u)] },
      },
      [[], []],
      container,
    );
    new ResizeObserver(() => this.plot.setSize({ width: Math.max(container.clientWidth, 280), height: 220 })).observe(container);
  }

  /** Points in seconds since the epoch. */
  add(points: readonly { t: number; value: number }[]): void {
    const merged = new Map<number, number>();
    this.xs.forEach((x, i) => merged.set(x, this.ys[i]!));
    for (const point of points) merged.set(point.t, point.value);
    const xs = [...merged.keys()].sort((a, b) => a - b);
    this.xs = xs;
    this.ys = xs.map((x) => merged.get(x)!);
    this.plot.setData([this.xs, this.ys]);
  }

  setMarkers(markers: readonly Marker[]): void {
    this.markers = markers;
    this.plot.redraw();
  }

  get pointCount(): number {
    return this.xs.length;
  }

  /** The largest gap between consecutive points, in seconds (the browser tests read it). */
  get timestamps(): readonly number[] {
    return this.xs;
  }

  destroy(): void {
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
