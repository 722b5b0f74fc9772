/**
 * A small SVG line chart: one metric of several runs over steps (no charting library).
 */
import { formatMetric } from './dom';

const SVG_NS = 'http://www.w3.org/2000/svg';
const COLOURS = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf'
];

function el(
  tag: string,
  attrs: Record<string, string | number>,
  text?: string
): SVGElement {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    node.setAttribute(k, String(v));
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

/** One line of the chart. */
export interface ISeries {
  label: string;
  points: [number, number][];
}

/**
 * Draw the series as lines over a shared step axis.
 *
 * @returns An `<svg>` element with one `<polyline>` per series that has points, and a legend.
 */
export function lineChart(
  series: ISeries[],
  metric: string,
  width = 280,
  height = 180
): SVGSVGElement {
  const svg = el('svg', {
    width,
    height: height + 16 * series.length,
    viewBox: `0 0 ${width} ${height + 16 * series.length}`,
    class: 'jp-amlrun-chart',
    role: 'img'
  }) as SVGSVGElement;
  svg.appendChild(el('title', {}, `${metric} by step`));
  const all = ([] as [number, number][]).concat(...series.map(s => s.points));
  const pad = { left: 44, right: 8, top: 8, bottom: 20 };
  if (all.length === 0) {
    svg.appendChild(
      el(
        'text',
        { x: 8, y: 20, class: 'jp-amlrun-chart-empty' },
        `No values of ${metric}`
      )
    );
    return svg;
  }
  const xs = all.map(p => p[0]);
  const ys = all.map(p => p[1]).filter(v => isFinite(v));
  const x0 = Math.min(...xs);
  let x1 = Math.max(...xs);
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (x0 === x1) {
    x1 = x0 + 1;
  }
  if (y0 === y1) {
    [y0, y1] = [y0 - 1, y1 + 1];
  }
  const sx = (x: number) =>
    pad.left + ((x - x0) / (x1 - x0)) * (width - pad.left - pad.right);
  const sy = (y: number) =>
    pad.top + (1 - (y - y0) / (y1 - y0)) * (height - pad.top - pad.bottom);
  const axis = { stroke: 'var(--jp-border-color1, #999)', 'stroke-width': 1 };
  svg.appendChild(
    el('line', {
      x1: pad.left,
      y1: height - pad.bottom,
      x2: width - pad.right,
      y2: height - pad.bottom,
      ...axis
    })
  );
  svg.appendChild(
    el('line', {
      x1: pad.left,
      y1: pad.top,
      x2: pad.left,
      y2: height - pad.bottom,
      ...axis
    })
  );
  const label = {
    class: 'jp-amlrun-chart-label',
    'font-size': 9,
    fill: 'var(--jp-ui-font-color2, #666)'
  };
  svg.appendChild(
    el('text', { x: 2, y: pad.top + 8, ...label }, formatMetric(y1))
  );
  svg.appendChild(
    el('text', { x: 2, y: height - pad.bottom, ...label }, formatMetric(y0))
  );
  svg.appendChild(
    el('text', { x: pad.left, y: height - 6, ...label }, `step ${x0}`)
  );
  svg.appendChild(
    el('text', { x: width - pad.right - 40, y: height - 6, ...label }, `${x1}`)
  );
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length];
    const points = s.points.filter(p => isFinite(p[1]));
    if (points.length > 0) {
      const line = el('polyline', {
        points: points
          .map(p => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`)
          .join(' '),
        fill: 'none',
        stroke: colour,
        'stroke-width': 1.5,
        class: 'jp-amlrun-chart-line'
      });
      line.appendChild(el('title', {}, s.label));
      svg.appendChild(line);
    }
    const y = height + 12 + 16 * i;
    svg.appendChild(
      el('rect', { x: pad.left, y: y - 8, width: 10, height: 3, fill: colour })
    );
    svg.appendChild(
      el('text', { x: pad.left + 14, y, ...label, 'font-size': 10 }, s.label)
    );
  });
  return svg;
}
