/**
 * Experiments and runs section: run counts, live status, duration, key metrics; select runs to compare. Every text
 * and colour shown comes formatted from the server (view/model.py's rules, the run view's): this file only draws.
 */
import {
  ICompareAnswer,
  IExperiment,
  IPage,
  IRun,
  IRunPage,
  MAX_COMPARED_RUNS
} from './api';
import { ISidebarContext } from './context';
import { diffButton } from './diffview';
import { Collapsible, button, h, run } from './dom';
import { PagedList } from './pager';
import { requestAPI } from './request';
import { drawCompare } from './runview/compare';
import { badge } from './runview/render';

/** One row of a run: status, name, duration, key metrics; click opens it. */
export function runRow(
  r: IRun,
  ctx: ISidebarContext,
  selected?: Set<string>,
  onSelect?: () => void
): HTMLElement {
  const status = badge(r.badge);
  status.classList.add('jp-amlrun-status');
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
    status,
    h('span', { class: 'jp-amlrun-name' }, r.display_name || r.id),
    h('span', { class: 'jp-amlrun-duration' }, r.duration_text),
    h('span', { class: 'jp-amlrun-metrics' }, r.metrics_text)
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
    this._compareBar.replaceChildren(
      h('span', {}, `${ids.length} runs `),
      button('Compare', () => this._compare(ids), {
        class: 'jp-amlrun-compare-button',
        title: 'A chart per metric with a line per run, and their parameters'
      }),
      diffButton(ids, this._chart)
    );
  }

  /** The compare view of the selected runs (view/compare.py), drawn with the run view's charts. */
  private async _compare(ids: string[]): Promise<void> {
    if (ids.length > MAX_COMPARED_RUNS) {
      throw new Error(
        `Compare at most ${MAX_COMPARED_RUNS} runs at once (${ids.length} are selected).`
      );
    }
    const view = await requestAPI<ICompareAnswer>(
      'compare',
      {},
      { runs: ids.join(',') }
    );
    this._closeCompare();
    const body = h('div', { class: 'jp-amlrun-compare-body' });
    this._chart.replaceChildren(
      h(
        'div',
        { class: 'jp-amlrun-row' },
        h('strong', {}, `${ids.length} runs`),
        button('Close', () => this._closeCompare())
      ),
      body
    );
    this._disposeCompare = drawCompare(body, view);
  }

  private _closeCompare(): void {
    this._disposeCompare?.();
    this._disposeCompare = null;
    this._chart.replaceChildren();
  }

  private _list: PagedList<IRun>;
  private _selected = new Set<string>();
  private _known = new Map<string, IRun>();
  private _compareBar: HTMLElement;
  private _chart: HTMLElement;
  private _disposeCompare: (() => void) | null = null;
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
          ` ${e.counts_text}`
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
