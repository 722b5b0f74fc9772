/**
 * The "AML" sidebar: a filter box, the open run, and four sections (datastores, datasets, models,
 * experiments and runs). Refreshes when the window gets focus and on a timer while runs are live.
 */
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { ISidebarContext } from './context';
import { DatasetsSection } from './datasets';
import { DatastoresSection } from './datastores';
import { Collapsible, button, h, run } from './dom';
import { amlIcon } from './icon';
import { ModelsSection } from './models';
import { RunsSection } from './runs';
import { RunPanel } from './runpanel';

/** What the panel needs from the plugin (the rest of {@link ISidebarContext}). */
export type IPanelHost = Omit<ISidebarContext, 'filter' | 'openRun'>;

export class AmlSidebar extends Widget {
  constructor(host: IPanelHost) {
    super();
    this.id = 'jupyter-amlrun-sidebar';
    this.addClass('jp-amlrun-sidebar');
    this.title.icon = amlIcon;
    this.title.caption =
      'AML: datastores, datasets, models, experiments and runs';
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const panel = this;
    const ctx: ISidebarContext = {
      ...host,
      get filter() {
        return panel._filter;
      },
      openRun: (id: string) => void run(() => panel.openRun(id))
    };
    this._runView = new RunPanel(ctx);
    this._datastores = new DatastoresSection(ctx);
    this._datasets = new DatasetsSection(ctx);
    this._models = new ModelsSection(ctx);
    this._runs = new RunsSection(ctx);

    const filter = h('input', {
      class: 'jp-amlrun-filter jp-mod-styled',
      type: 'search',
      placeholder: 'Filter by name',
      title: 'Show only items whose name contains this text (case-insensitive)'
    });
    filter.addEventListener('input', () => {
      window.clearTimeout(this._filterTimer);
      this._filterTimer = window.setTimeout(() => {
        this._filter = filter.value.trim();
        void run(() => this.refresh());
      }, 300);
    });
    this._sections = [
      this._section('Datastores', 'datastores', this._datastores.list, () =>
        this._datastores.refresh()
      ),
      this._section('Datasets', 'datasets', this._datasets.list),
      this._section('Models', 'models', this._models.list),
      this._section('Experiments and runs', 'runs', this._runs.list, () =>
        this._runs.refresh()
      )
    ];
    this.node.append(
      h(
        'div',
        { class: 'jp-amlrun-header' },
        h('span', { class: 'jp-amlrun-heading' }, 'AML'),
        button('⟳', () => this.refresh(), {
          title: 'Refresh',
          class: 'jp-amlrun-icon-button jp-amlrun-refresh'
        })
      ),
      filter,
      this._runView.node,
      ...this._sections.map(s => s.item.node)
    );
  }

  /** Seconds between refreshes while runs are live (0: no timer). */
  set refreshInterval(seconds: number) {
    this._interval = Math.max(0, seconds);
    this._schedule();
  }

  /** Open a run in the run view (and show the sidebar). */
  async openRun(id: string): Promise<void> {
    await this._runView.open(id);
    this.node.scrollTop = 0;
    this._schedule();
  }

  /** Reload every open section and the open run. */
  /**
   * Reload the open sections and the open run. A refresh asked for while one is in flight (the timer's, the focus
   * one, a click) runs again once it ends, so what the user asked to see is never the older answer.
   */
  refresh(): Promise<void> {
    if (this._refreshing) {
      this._refreshAgain = true;
      return this._refreshing;
    }
    this._refreshing = (async () => {
      try {
        do {
          this._refreshAgain = false;
          await Promise.all([
            ...this._sections.filter(s => s.item.isOpen).map(s => s.reload()),
            this._runView.refresh()
          ]);
        } while (this._refreshAgain);
      } finally {
        this._refreshing = null;
        this._schedule();
      }
    })();
    return this._refreshing;
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    window.addEventListener('focus', this._onFocus);
  }

  protected onBeforeDetach(msg: Message): void {
    window.removeEventListener('focus', this._onFocus);
    super.onBeforeDetach(msg);
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    if (!this._started) {
      this._started = true;
      this._sections.forEach(s => s.item.toggle(true));
    } else {
      void run(() => this.refresh());
    }
  }

  dispose(): void {
    window.clearTimeout(this._timer);
    window.removeEventListener('focus', this._onFocus);
    super.dispose();
  }

  private _section(
    title: string,
    key: string,
    list: { node: HTMLElement; reload(): Promise<void> },
    reload: () => Promise<void> = () => list.reload()
  ): { item: Collapsible; reload: () => Promise<void> } {
    const item = new Collapsible(
      h('span', { class: 'jp-amlrun-section-title' }, title),
      {
        class: `jp-amlrun-section jp-amlrun-section-${key}`,
        onOpen: () => void run(reload).then(() => this._schedule())
      }
    );
    item.body.append(list.node);
    return { item, reload };
  }

  /** Arm the timer when something is live; otherwise let it lapse (focus still refreshes). */
  private _schedule(): void {
    window.clearTimeout(this._timer);
    const live = this._runs.liveCount > 0 || this._runView.isLive;
    if (live && this._interval > 0 && !this.isDisposed) {
      this._timer = window.setTimeout(
        () => void run(() => this.refresh()),
        this._interval * 1000
      );
    }
  }

  private _onFocus = (): void => {
    if (this.isVisible) {
      void run(() => this.refresh());
    }
  };

  private _filter = '';
  private _filterTimer = 0;
  private _timer = 0;
  private _interval = 5;
  private _started = false;
  private _refreshing: Promise<void> | null = null;
  private _refreshAgain = false;
  private _runView: RunPanel;
  private _datastores: DatastoresSection;
  private _datasets: DatasetsSection;
  private _models: ModelsSection;
  private _runs: RunsSection;
  private _sections: { item: Collapsible; reload: () => Promise<void> }[];
}
