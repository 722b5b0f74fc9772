/** Experiments and runs section: run counts, live status, duration, key metrics; select runs to compare. */
import {
  IExperiment,
  IMetricSeries,
  IPage,
  IRun,
  IRunPage,
  MAX_COMPARED_RUNS
} from './api';
import { lineChart } from './chart';
import { ISidebarContext } from './context';
import {
  Collapsible,
  button,
  formatDuration,
  formatMetric,
  h,
  run,
  statusBadge
} from './dom';
import { diffButton } from './diffview';
import { PagedList } from './pager';
import { requestAPI } from './request';

/** How many metrics a run row shows. */
const KEY_METRICS = 3;

/** One row of a run: status, name, duration, key metrics; click opens it. */
export function runRow(
  r: IRun,
  ctx: ISidebarContext,
  selected?: Set<string>,
  onSelect?: () => void
): HTMLElement {
  const metrics = Object.entries(r.metrics)
    .slice(0, KEY_METRICS)
    .map(([k, v]) => `${k}=${formatMetric(v)}`)
    .join(' ');
  const box = h('input', {
    type: 'checkbox',
    class: 'jp-amlrun-select',
    title: 'Select to compare'
  });
  box.checked = selected?.has(r.id) ?? false;
  box.addEventListener('click', event => {
    event.stopPropagation();
    if (box.checked) {
      selected?.add(r.id);
    } else {
      selected?.delete(r.id);
    }
    onSelect?.();
  });
  const row = h(
    'div',
    {
      class: 'jp-amlrun-row jp-amlrun-run',
      'data-run-id': r.id,
      'data-status': r.status,
      title: r.id
    },
    selected ? box : null,
    statusBadge(r.status),
    h('span', { class: 'jp-amlrun-name' }, r.display_name || r.id),
    h(
      'span',
      { class: 'jp-amlrun-duration' },
      formatDuration(r.duration_seconds)
    ),
    h('span', { class: 'jp-amlrun-metrics' }, metrics)
  );
  row.addEventListener('click', () => ctx.openRun(r.id));
  return row;
}

/** The runs of one experiment, with the compare bar. */
class ExperimentRuns {
  readonly node: HTMLElement;
  liveCount = 0;

  constructor(
    private _experiment: IExperiment,
    private _ctx: ISidebarContext
  ) {
    this._list = new PagedList<IRun>(
      async (offset, limit) => {
        const page = await requestAPI<IRunPage>(
          'runs',
          {},
          {
            experiment: this._experiment.name,
            offset,
            limit,
            filter: this._ctx.filter
          }
        );
        if (offset === 0) {
          this.liveCount = page.live_count;
        }
        for (const r of page.items) {
          this._known.set(r.id, r);
        }
        return page;
      },
      r => runRow(r, this._ctx, this._selected, () => this._renderCompareBar()),
      'No runs match.',
      r => r.id
    );
    this._compareBar = h('div', { class: 'jp-amlrun-compare-bar' });
    this._chart = h('div', { class: 'jp-amlrun-compare' });
    this.node = h(
      'div',
      { class: 'jp-amlrun-runs' },
      this._compareBar,
      this._chart,
      this._list.node
    );
  }

  refresh(): Promise<void> {
    return this._list.reload();
  }

  private _renderCompareBar(): void {
    const ids = [...this._selected];
    if (ids.length < 2) {
      this._compareBar.replaceChildren(
        ids.length === 1
          ? h(
              'span',
              { class: 'jp-amlrun-muted' },
              'Select another run to compare'
            )
          : ''
      );
      return;
    }
    const names = new Set<string>();
    for (const id of ids) {
      Object.keys(this._known.get(id)?.metrics ?? {}).forEach(n =>
        names.add(n)
      );
    }
    const select = h('select', {
      class: 'jp-amlrun-metric-select',
      title: 'Metric to compare'
    });
    for (const name of [...names].sort()) {
      select.append(h('option', { value: name }, name));
    }
    this._compareBar.replaceChildren(
      h('span', {}, `${ids.length} runs `),
      select,
      button('Compare', () => this._compare(ids, select.value), {
        class: 'jp-amlrun-compare-button'
      }),
      diffButton(ids, this._chart)
    );
  }

  private async _compare(ids: string[], metric: string): Promise<void> {
    if (!metric) {
      throw new Error('The selected runs logged no scalar metric to compare.');
    }
    if (ids.length > MAX_COMPARED_RUNS) {
      throw new Error(
        `Compare at most ${MAX_COMPARED_RUNS} runs at once (${ids.length} are selected).`
      );
    }
    const data = await requestAPI<IMetricSeries>(
      'metrics',
      {},
      { runs: ids.join(','), name: metric }
    );
    const series = ids.map(id => ({
      label: this._known.get(id)?.display_name || id,
      // a null value (NaN or +-inf) has no place on the chart's axis
      points: (data.runs[id]?.[metric] ?? []).filter(
        (p): p is [number, number] => p[1] !== null
      )
    }));
    this._chart.replaceChildren(
      h(
        'div',
        { class: 'jp-amlrun-row' },
        h('strong', {}, metric),
        button('Close', () => this._chart.replaceChildren())
      ),
      lineChart(series, metric)
    );
  }

  private _list: PagedList<IRun>;
  private _selected = new Set<string>();
  private _known = new Map<string, IRun>();
  private _compareBar: HTMLElement;
  private _chart: HTMLElement;
}

export class RunsSection {
  readonly list: PagedList<IExperiment>;

  constructor(private _ctx: ISidebarContext) {
    this.list = new PagedList<IExperiment>(
      async (offset, limit) => {
        // Experiments are not filtered by the box: it filters their runs (names of runs are what users search).
        const page = await requestAPI<IPage<IExperiment>>(
          'experiments',
          {},
          { offset, limit }
        );
        if (offset === 0) {
          this._live = 0;
        }
        page.items.forEach(e => (this._live += e.live_count));
        return page;
      },
      e => this._render(e),
      'No experiments yet. Submit a run with experiment.submit(config).',
      e => e.name
    );
  }

  /** Live runs in the experiments loaded at the last refresh. */
  get liveCount(): number {
    return this._live;
  }

  /** Refresh the experiment list, then the runs of the open experiments. */
  async refresh(): Promise<void> {
    await this.list.reload();
    await Promise.all(
      [...this._open.values()]
        .filter(x => x.node.isConnected)
        .map(x => x.refresh())
    );
  }

  private _render(e: IExperiment): HTMLElement {
    // Keep an open experiment's runs (and its selection) across refreshes.
    let runs = this._open.get(e.name);
    const item = new Collapsible(
      h(
        'span',
        { class: 'jp-amlrun-title' },
        h('span', { class: 'jp-amlrun-name' }, e.name),
        h(
          'span',
          { class: 'jp-amlrun-muted jp-amlrun-counts' },
          ` ${e.run_count} runs${e.live_count ? ` · ${e.live_count} live` : ''}`
        )
      ),
      {
        class: 'jp-amlrun-experiment',
        onOpen: () => {
          if (!runs) {
            runs = new ExperimentRuns(e, this._ctx);
            this._open.set(e.name, runs);
          }
          item.body.replaceChildren(runs.node);
          void run(() => (runs as ExperimentRuns).refresh());
        }
      }
    );
    item.node.setAttribute('data-name', e.name);
    if (runs) {
      item.toggle(true);
    }
    return item.node;
  }

  private _open = new Map<string, ExperimentRuns>();
  private _live = 0;
}
