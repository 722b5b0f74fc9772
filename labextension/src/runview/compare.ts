/**
 * The compare view of several runs (jupyter_amlrun/view/compare.py compare_view, served as GET compare?runs=): a
 * chart per metric with a line per run, drawn with uPlot as the run view's charts are, and the parameters table.
 * It only draws: the runs' names and colours, the points and the table's formatted cells come from Python.
 */
import uPlot from 'uplot';

import { ICompareAnswer } from '../api';
import { CHART_MIN_POINTS, table } from './render';

/** Draw `view` into `el`; the returned function removes it (and frees its charts). */
export function drawCompare(el: HTMLElement, view: ICompareAnswer): () => void {
  const plots: uPlot[] = [];
  const byId = new Map(view.runs.map(r => [r.id, r]));
  const root = document.createElement('div');
  root.className = 'amlrun-compare';

  const legend = document.createElement('div');
  legend.className = 'amlrun-compare-legend';
  for (const r of view.runs) {
    const item = document.createElement('span');
    item.className = 'amlrun-compare-run';
    item.setAttribute('data-run', r.id);
    const swatch = document.createElement('span');
    swatch.className = 'amlrun-swatch';
    swatch.style.background = r.color;
    item.append(swatch, r.name || r.id);
    legend.append(item);
  }
  root.append(legend);

  const charts = document.createElement('div');
  charts.className = 'amlrun-charts';
  root.append(charts);
  el.append(root);
  const width = Math.max(240, Math.min(420, (el.clientWidth || 420) - 16));
  for (const chart of view.charts) {
    const box = document.createElement('div');
    box.className = 'amlrun-chart';
    box.setAttribute('data-metric', chart.name);
    box.setAttribute('data-lines', String(chart.lines.length));
    const title = document.createElement('div');
    title.className = 'amlrun-chart-title';
    const name = document.createElement('b');
    name.textContent = chart.name;
    title.append(name);
    box.append(title);
    charts.append(box);
    // JSON's null stands for NaN or +-inf: a gap. uPlot.join aligns the runs' steps; a step one run lacks is
    // undefined there, which the line passes over.
    const data = uPlot.join(
      chart.lines.map(
        line => [line.xs.map(v => v ?? NaN), line.ys] as uPlot.AlignedData
      )
    );
    const steps = data[0];
    const single = steps.length > 0 && steps[0] === steps[steps.length - 1];
    const series: uPlot.Series[] = [
      {},
      ...chart.lines.map(line => {
        const colour = byId.get(line.run_id)?.color;
        return {
          label: byId.get(line.run_id)?.name || line.run_id,
          stroke: colour,
          width: 1.5,
          // a value logged once (lr) is a dot, not a line
          points: {
            show: line.xs.length < CHART_MIN_POINTS,
            fill: colour,
            size: 7
          }
        };
      })
    ];
    plots.push(
      new uPlot(
        {
          width,
          height: 180,
          legend: { show: false },
          cursor: { drag: { x: true, y: false } },
          scales: {
            x: {
              time: false,
              // every run logged it at one step: a range around that step (uPlot's own would be 0..100)
              ...(single ? { range: [steps[0] - 1, steps[0] + 1] } : {})
            }
          },
          axes: [
            {
              size: 40,
              label: 'step',
              labelSize: 14,
              // steps are whole numbers: integer ticks only, as the run view's charts
              values: (_u, splits) =>
                splits.map(v => (Number.isInteger(v) ? String(v) : ''))
            },
            { size: 56, label: chart.name, labelSize: 14 }
          ],
          series
        },
        data,
        box
      )
    );
  }
  if (view.charts.length === 0) {
    const empty = document.createElement('div');
    empty.className = 'amlrun-empty';
    empty.textContent = 'The runs logged no scalar metric.';
    charts.append(empty);
  }

  if (view.params.rows.length) {
    const title = document.createElement('div');
    title.className = 'amlrun-chart-title';
    const b = document.createElement('b');
    b.textContent = view.params.title;
    title.append(b, view.params.note ? ` ${view.params.note}` : '');
    const box = document.createElement('div');
    box.className = 'amlrun-table-box';
    box.append(title, table(view.params));
    root.append(box);
  }
  return () => {
    plots.forEach(p => p.destroy());
    root.remove();
  };
}
