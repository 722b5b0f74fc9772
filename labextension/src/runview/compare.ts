/**
 * The compare view of two or more runs (RunDetails([run_a, run_b]).show()): one uPlot chart per metric with a
 * line per run on the shared step axis, and the parameters table with the differing rows first. Python decides
 * everything (jupyter_amlrun/view/compare.py compare_view: texts, badges, line colours, row order); this file only
 * draws the view. It is the anywidget entry of compare_details.js (js/build.mjs) and can be mounted by the sidebar.
 */
import uPlot from 'uplot';

import { StatusView, TableView } from './wire';

// ---------------------------------------------------------------- the view (view/compare.py)
export type CompareRun = {
  id: string;
  name: string;
  status: string;
  badge: StatusView;
  color: string;
};

export type CompareLine = {
  run_id: string;
  xs: number[];
  ys: number[];
};

export type CompareChart = {
  name: string;
  lines: CompareLine[];
};

export type CompareView = {
  title: string;
  runs: CompareRun[];
  charts: CompareChart[];
  params: TableView;
  differing: number;
};

/** The class of a compare view's root element. */
export const COMPARE_CLASS = 'amlrun-compare';

function h(
  tag: string,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    el.setAttribute(k, v);
  }
  el.append(...children);
  return el;
}

function badge(s: StatusView): HTMLElement {
  const el = h(
    'span',
    { class: `amlrun-status amlrun-${s.css_class}` },
    s.label
  );
  el.style.background = s.color;
  return el;
}

/** One metric: a line per run that logged it, on one step axis (uPlot.join aligns the runs' steps). */
function chart(c: CompareChart, runs: Map<string, CompareRun>): HTMLElement {
  const box = h(
    'div',
    { class: 'amlrun-chart', 'data-metric': c.name },
    h('div', { class: 'amlrun-chart-title' }, h('b', {}, c.name))
  );
  const lines = c.lines.filter(l => l.xs.length > 0);
  if (!lines.length) {
    return box;
  }
  const data = uPlot.join(
    lines.map(l => [l.xs, l.ys] as uPlot.AlignedData)
  ) as uPlot.AlignedData;
  const integerTicks = (_u: uPlot, splits: number[]) =>
    splits.map(v => (Number.isInteger(v) ? String(v) : ''));
  const plot = h('div');
  box.append(plot);
  // A run with one point of a metric is a dot, not an invisible line.
  const single = (l: CompareLine) => l.xs.length < 2;
  new uPlot(
    {
      width: 420,
      height: 200,
      legend: { show: false },
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: false } },
      axes: [
        { size: 40, label: 'step', labelSize: 14, values: integerTicks },
        { size: 56, label: c.name, labelSize: 14 }
      ],
      series: [
        {},
        ...lines.map(l => ({
          label: runs.get(l.run_id)?.name || l.run_id,
          stroke: runs.get(l.run_id)?.color,
          width: 1.5,
          spanGaps: true,
          points: { show: single(l) }
        }))
      ]
    },
    data,
    plot
  );
  box.setAttribute('data-lines', String(lines.length));
  return box;
}

/** Draws a compare view into `el`; `update` redraws it from a newer view. */
export class CompareDetailsView {
  readonly root: HTMLElement;

  constructor(readonly el: HTMLElement) {
    this.root = h('div', { class: `amlrun-rd ${COMPARE_CLASS}` });
    el.append(this.root);
  }

  update(view: CompareView | null): void {
    if (!view || !view.runs) {
      this.root.replaceChildren();
      return;
    }
    const runs = new Map(view.runs.map(r => [r.id, r]));
    const legend = h('div', { class: 'amlrun-compare-runs' });
    for (const r of view.runs) {
      const swatch = h('span', { class: 'amlrun-compare-swatch' }, '━━ ');
      swatch.style.color = r.color;
      legend.append(
        h(
          'span',
          { class: 'amlrun-compare-run', 'data-run': r.id, title: r.id },
          swatch,
          r.name || r.id,
          ' ',
          badge(r.badge),
          '  '
        )
      );
    }
    const charts = h('div', { class: 'amlrun-charts' });
    for (const c of view.charts) {
      charts.append(chart(c, runs));
    }
    const t = view.params;
    const table = h('table', { class: 'amlrun-table', 'data-table': t.name });
    table.append(h('tr', {}, ...t.columns.map(c => h('th', {}, c))));
    t.rows.forEach((row, i) => {
      const tr = h('tr', {}, ...row.map(c => h('td', {}, String(c))));
      if (i < view.differing) {
        tr.classList.add('amlrun-differs');
      }
      table.append(tr);
    });
    this.root.replaceChildren(
      h('div', { class: 'amlrun-title' }, h('b', {}, view.title)),
      legend,
      h('div', { class: 'amlrun-section' }, 'Metrics'),
      view.charts.length
        ? charts
        : h('div', { class: 'amlrun-empty' }, 'No metrics yet.'),
      h('div', { class: 'amlrun-section' }, `${t.title} `, t.note),
      table
    );
  }

  dispose(): void {
    this.root.remove();
  }
}

/** What the compare widget uses of an anywidget model. */
export interface ICompareModel {
  get(name: string): any;
  on(event: string, callback: () => void): void;
  off(event: string, callback: () => void): void;
}

/** anywidget's render: the compare view from the widget's synced `view`. */
export function render({
  model,
  el
}: {
  model: ICompareModel;
  el: HTMLElement;
}): () => void {
  const view = new CompareDetailsView(el);
  const redraw = () => view.update(model.get('view') as CompareView | null);
  redraw();
  model.on('change:view', redraw);
  return () => {
    model.off('change:view', redraw);
    view.dispose();
  };
}

export default { render };
