/**
 * A word when a run ends: a run shown in a notebook of this browser (its RunDetails output carries the marker
 * RUN_MIME, as %%submit shows one) that ends while the user looks elsewhere (another tab of JupyterLab, another
 * window, a hidden page) raises a JupyterLab notification with its final status and an action opening its run view.
 *
 * Which runs: those whose marker came over a notebook's kernel channel here (the kernel that submitted them); the
 * marker's `notify` is false after `%amlrun notify off` in that kernel. What the notice says and its kind come from
 * the server (GET runs/{id}/notice, jupyter_amlrun/view/notice.py); this file only decides when to show it.
 */
import { ILabShell, JupyterFrontEnd } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { KernelMessage } from '@jupyterlab/services';

import { requestAPI, route } from './request';
import { RUN_MIME } from './widgetfallback';

/** How often the watched runs are asked whether they ended. */
export const POLL_MS = 3000;

/** GET runs/{id}/notice (view/notice.py EndNotice). */
export type EndNotice = {
  run_id: string;
  terminal: boolean;
  status: string;
  kind: string;
  message: string;
  action: string;
};

const KINDS: Notification.TypeOptions[] = [
  'default',
  'info',
  'success',
  'warning',
  'error'
];

/** A run shown here: its notebook, and whether it was seen live (a run shown after it ended says nothing). */
type Watched = { panel: NotebookPanel; sawLive: boolean };

export class RunEndWatcher {
  constructor(
    private _app: JupyterFrontEnd,
    notebooks: INotebookTracker,
    private _shell: ILabShell | null
  ) {
    notebooks.forEach(panel => this._watchPanel(panel));
    notebooks.widgetAdded.connect((_, panel) => this._watchPanel(panel));
  }

  /** The runs waited for (test hook). */
  get watching(): string[] {
    return [...this._runs.keys()];
  }

  private _watchPanel(panel: NotebookPanel): void {
    panel.sessionContext.iopubMessage.connect((_, msg) =>
      this._onIopub(panel, msg)
    );
  }

  private _onIopub(panel: NotebookPanel, msg: KernelMessage.IMessage) {
    const type = msg.header.msg_type;
    if (type !== 'display_data' && type !== 'execute_result') {
      return;
    }
    const data = (msg.content as { data?: Record<string, unknown> }).data;
    const marker = data?.[RUN_MIME] as
      { run_id?: unknown; notify?: unknown; live?: unknown } | undefined;
    if (!marker || typeof marker.run_id !== 'string') {
      return;
    }
    if (marker.notify === false) {
      this._runs.delete(marker.run_id);
      return;
    }
    if (!this._runs.has(marker.run_id)) {
      // live when shown: its end is news even if it comes before the first poll
      this._runs.set(marker.run_id, { panel, sawLive: marker.live === true });
    }
    this._schedule(0);
  }

  private _schedule(ms: number): void {
    if (this._timer === null && this._runs.size) {
      this._timer = window.setTimeout(() => void this._poll(), ms);
    }
  }

  private async _poll(): Promise<void> {
    for (const [id, w] of [...this._runs]) {
      let notice: EndNotice;
      try {
        notice = await requestAPI<EndNotice>(route('runs', id, 'notice'));
      } catch {
        continue; // the server is busy or restarting: ask again next time
      }
      if (!notice.terminal) {
        w.sawLive = true;
        continue;
      }
      this._runs.delete(id);
      if (w.sawLive && this._looksElsewhere(w.panel)) {
        this._notify(notice);
      }
    }
    this._timer = null;
    this._schedule(POLL_MS);
  }

  /** Whether the user does not see the notebook that shows the run. */
  private _looksElsewhere(panel: NotebookPanel): boolean {
    if (document.hidden || !document.hasFocus()) {
      return true;
    }
    const current = this._shell?.currentWidget ?? null;
    return panel.isDisposed || current !== panel;
  }

  private _notify(n: EndNotice): void {
    const kind = KINDS.find(k => k === n.kind) ?? 'info';
    Notification.emit(n.message, kind, {
      autoClose: false,
      actions: [
        {
          label: n.action,
          callback: () =>
            void this._app.commands.execute('amlrun:open-run', {
              id: n.run_id
            })
        }
      ]
    });
  }

  private _runs = new Map<string, Watched>();
  private _timer: number | null = null;
}

/** Start watching the runs shown in this browser's notebooks (index.ts calls it at activation). */
export function watchRunEnds(
  app: JupyterFrontEnd,
  notebooks: INotebookTracker | null,
  shell: ILabShell | null
): RunEndWatcher | null {
  return notebooks ? new RunEndWatcher(app, notebooks, shell) : null;
}
