/**
 * A sparkline: one metric's recent values as an inline SVG polyline (no canvas, no library:
 * a fleet page draws hundreds of them). Attributes only, no style attribute, so the page's
 * CSP needs no 'unsafe-inline'. Its accessible name says what it shows in words.
 */
const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 80;
const HEIGHT = 20;

export interface SparkPoint {
  /** Seconds since the epoch. */
  readonly t: number;
  readonly value: number;
}

export function sparkline(metric: string, points: readonly SparkPoint[], describe: (value: number) => string): SVGSVGElement {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'sparkline');
  svg.setAttribute('viewBox', `0 0 ${WIDTH} ${HEIGHT}`);
  svg.setAttribute('width', String(WIDTH));
  svg.setAttribute('height', String(HEIGHT));
  svg.setAttribute('data-metric', metric);
  svg.setAttribute('data-count', String(points.length));
  svg.setAttribute('role', 'img');
  if (points.length === 0) {
    svg.setAttribute('aria-label', `${metric}: no recent readings`);
    return svg;
  }
  const values = points.map((point) => point.value);
  const low = Math.min(...values);
  const high = Math.max(...values);
  svg.setAttribute('aria-label', `${metric} over the last hour, ${points.length} points from ${describe(low)} to ${describe(high)}`);
  const first = points[0]!.t;
  const span = points[points.length - 1]!.t - first || 1;
  // One pixel of margin so that a flat line or an extreme is not cut by the edge.
  const x = (t: number) => (points.length === 1 ? WIDTH / 2 : ((t - first) / span) * (WIDTH - 2) + 1);
  const y = (value: number) => (high === low ? HEIGHT / 2 : HEIGHT - 1 - ((value - low) / (high - low)) * (HEIGHT - 2));
  const line = document.createElementNS(SVG, 'polyline');
  line.setAttribute('points', points.map((point) => `${x(point.t).toFixed(1)},${y(point.value).toFixed(1)}`).join(' '));
  line.setAttribute('fill', 'none');
  line.setAttribute('stroke', 'currentColor');
  line.setAttribute('stroke-width', '1.5');
  svg.appendChild(line);
  if (points.length === 1) {
    // A polyline of one point draws nothing.
    const dot = document.createElementNS(SVG, 'circle');
    dot.setAttribute('cx', String(x(first)));
    dot.setAttribute('cy', String(y(values[0]!)));
    dot.setAttribute('r', '2');
    dot.setAttribute('fill', 'currentColor');
    svg.appendChild(dot);
  }
  return svg;
}
