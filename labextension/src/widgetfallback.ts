/**
 * RunDetails outputs that outlive their kernel.
 *
 * The kernel shows a live RunDetails as an ipywidgets view plus a marker (RUN_MIME: the run's id). The widget's
 * model lives only as long as its kernel, so a notebook saved while the run was live and reopened on a fresh kernel
 * (or a kernel restart under an open notebook) would show ipywidgets' "Error displaying widget: model not found".
 * This renderer is preferred for outputs with the marker: it hosts the notebook's own widget renderer and, when that
 * renderer cannot show the view, shows the run with the same run renderer (./runview/render.ts) fed by the server
 * extension's REST view stream instead, polling while the run is live. Outputs without the marker are not touched.
 */
import { ISessionContext } from '@jupyterlab/apputils';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Panel, Widget } from '@lumino/widgets';

import { ISidebarContext } from './context';
import { h } from './dom';
import { RunDetailsView, mountRunView } from './runview/render';
import { RestTransport } from './runview/rest';

/** The marker the kernel puts beside the widget view (jupyter_amlrun/notebook/protocol.py RUN_MIME). */
export const RUN_MIME = 'application/vnd.amlrun.rundetails+json';
export const WIDGET_MIME = 'application/vnd.jupyter.widget-view+json';
/** How long "Loading widget..." may show (no kernel, or one that never answers) before the run is shown instead. */
const LOADING_MS = 10_000;

export type InnerState = 'live' | 'loading' | 'failed';

/**
 * What the hosted widget renderer shows: a view ('live'), nothing yet ('loading'), or never a view ('failed':
 * ipywidgets' "Error displaying widget" text, or the renderer hid itself because its view was disposed with the
 * model, as on a kernel restart).
 */
export function innerState(node: HTMLElement, hidden: boolean): InnerState {
  if (hidden || (node.textContent ?? '').includes('Error displaying widget')) {
    return 'failed';
  }
  return node.querySelector('.lm-Widget') ? 'live' : 'loading';
}

/** The run id in an output's marker, or '' when it has none. */
export function markedRun(data: IRenderMime.IMimeModel['data']): string {
  const marker = data[RUN_MIME] as { run_id?: unknown } | undefined;
  return marker && typeof marker.run_id === 'string' ? marker.run_id : '';
}

export interface IHost {
  /** The rendermime of the notebook holding `node` (its widget renderer has that notebook's widget manager). */
  rendermimeFor(node: HTMLElement): IRenderMimeRegistry;
  /** What the run view needs (insert a cell in that notebook, open the run in the sidebar). */
  contextFor(node: HTMLElement): ISidebarContext;
  /** The kernel session of the notebook holding `node`, if any. */
  sessionFor(node: HTMLElement): ISessionContext | null;
}

export class RunDetailsRenderer extends Panel implements IRenderMime.IRenderer {
  constructor(private _host: IHost) {
    super();
    this.addClass('jp-amlrun-rundetails');
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    this._model = model;
    if (this.isAttached) {
      await this._start();
    }
  }

  dispose(): void {
    this._stop();
    super.dispose();
  }

  protected onAfterAttach(msg: Parameters<Widget['processMessage']>[0]): void {
    super.onAfterAttach(msg);
    // The notebook (and so its widget manager) is known only once this output sits in it.
    void this._start();
  }

  private async _start(): Promise<void> {
    const model = this._model;
    if (!model || model === this._started) {
      return;
    }
    this._started = model;
    this._stop();
    this._runId = markedRun(model.data);
    const registry = this._host.rendermimeFor(this.node);
    if (!(WIDGET_MIME in model.data) || !registry.getFactory(WIDGET_MIME)) {
      this._showFallback();
      return;
    }
    // A restarted or replaced kernel takes the widget's model with it, though ipywidgets may leave the dead view up.
    const session = this._host.sessionFor(this.node);
    const source = model.data[WIDGET_MIME] as { model_id?: unknown };
    this._modelId = typeof source?.model_id === 'string' ? source.model_id : '';
    if (session) {
      const status = session.session?.kernel?.status ?? 'unknown';
      this._suspect = status !== 'idle' && status !== 'busy';
      session.statusChanged.connect(this._onStatus, this);
      session.kernelChanged.connect(this._onKernel, this);
      this._session = session;
    }
    const inner = registry.createRenderer(WIDGET_MIME);
    this._inner = inner;
    this.addWidget(inner);
    this._observer = new MutationObserver(() => this._check());
    this._observer.observe(inner.node, {
      childList: true,
      subtree: true,
      characterData: true,
      attributes: true,
      attributeFilter: ['class']
    });
    this._loadingTimer = window.setTimeout(() => {
      this._loadingTimer = 0;
      this._check();
    }, LOADING_MS);
    try {
      await inner.renderModel(model);
    } catch (error) {
      console.error('jupyter_amlrun: the widget renderer failed', error);
      this._showFallback();
      return;
    }
    this._check();
  }

  private _onStatus(_: ISessionContext, status: string): void {
    if (
      status === 'restarting' ||
      status === 'autorestarting' ||
      status === 'dead'
    ) {
      this._kernelGone();
    } else if (status === 'idle' || status === 'busy') {
      if (this._suspect) {
        this._suspect = false;
        void this._verifyComm();
      }
    } else {
      // starting, unknown, terminating...: the kernel answering next may not be the one that had the widget
      this._suspect = true;
    }
  }

  /** Whether the kernel still holds the widget's comm (its id is the model id); when not, the view is dead. */
  private async _verifyComm(): Promise<void> {
    const kernel = this._session?.session?.kernel;
    if (!kernel || !this._modelId || this._gone) {
      return;
    }
    try {
      const reply = await kernel.requestCommInfo({
        target_name: 'jupyter.widget'
      });
      const content = reply.content as {
        status: string;
        comms?: Record<string, unknown>;
      };
      if (
        content.status === 'ok' &&
        !(this._modelId in (content.comms ?? {}))
      ) {
        this._kernelGone();
      }
    } catch (error) {
      console.warn(
        'jupyter_amlrun: could not ask the kernel for its widgets',
        error
      );
    }
  }

  private _onKernel(
    _: ISessionContext,
    change: { oldValue: unknown; newValue: unknown }
  ): void {
    // The first kernel of a reopened notebook is not a loss; a kernel replacing another one is.
    if (change.oldValue) {
      this._kernelGone();
    }
  }

  private _kernelGone(): void {
    this._gone = true;
    this.node.dataset.amlrunView = 'fallback';
    this._showFallback();
  }

  /** Show the live view while the widget renderer has one; the run from the server when it cannot. */
  private _check(): void {
    const inner = this._inner;
    if (!inner || inner.isDisposed || this._gone) {
      return;
    }
    const state = innerState(inner.node, inner.isHidden);
    this.node.dataset.amlrunView = state;
    if (state === 'live') {
      this._hideFallback();
    } else if (state === 'failed' || this._loadingTimer === 0) {
      this._showFallback();
    }
  }

  private _showFallback(): void {
    if (this._fallback) {
      return;
    }
    this.node.dataset.amlrunView = 'fallback';
    const node = h(
      'div',
      { class: 'jp-amlrun-fallback' },
      h(
        'div',
        { class: 'jp-amlrun-fallback-note' },
        'The live view of this run belonged to a kernel that is gone (the notebook was reopened or its kernel ' +
          'restarted). This is the run as the workspace has it now; run the cell again for the live view.'
      )
    );
    this._fallback = node;
    this.node.appendChild(node);
    if (this._inner) {
      this._inner.node.style.display = 'none';
    }
    if (!this._runId) {
      this._showSaved('this output names no run');
      return;
    }
    const body = h('div', { class: 'jp-amlrun-fallback-view' });
    node.append(body);
    // No server extension, or the run is not in its workspace: what the kernel saved is all there is.
    const transport = new RestTransport(this._runId, error =>
      this._showSaved(error instanceof Error ? error.message : String(error))
    );
    const ctx = this._host.contextFor(this.node);
    this._view = mountRunView(body, transport, (path, cell) =>
      ctx.openNotebook(path, cell)
    );
  }

  private _hideFallback(): void {
    if (!this._fallback) {
      return;
    }
    this._view?.dispose();
    this._view = null;
    this._fallback.remove();
    this._fallback = null;
    if (this._inner) {
      this._inner.node.style.display = '';
    }
  }

  /** The text/html the kernel saved beside the widget (what readers without a kernel see). */
  private _showSaved(why: string): void {
    const node = this._fallback;
    const model = this._model;
    if (!node || !model) {
      return;
    }
    this._view?.dispose();
    this._view = null;
    node.append(
      h(
        'div',
        { class: 'jp-amlrun-muted' },
        `The run could not be read from the workspace (${why}); this is what the notebook saved.`
      )
    );
    const html = model.data['text/html'];
    if (typeof html === 'string') {
      const saved = this._host
        .rendermimeFor(this.node)
        .createRenderer('text/html');
      this._saved = saved;
      void saved.renderModel(model).then(() => node.append(saved.node));
    }
  }

  private _stop(): void {
    this._view?.dispose();
    this._view = null;
    this._session?.statusChanged.disconnect(this._onStatus, this);
    this._session?.kernelChanged.disconnect(this._onKernel, this);
    this._session = null;
    this._gone = false;
    if (this._loadingTimer) {
      window.clearTimeout(this._loadingTimer);
      this._loadingTimer = 0;
    }
    this._observer?.disconnect();
    this._observer = null;
    this._inner?.dispose();
    this._inner = null;
    this._saved?.dispose();
    this._saved = null;
    this._fallback?.remove();
    this._fallback = null;
  }

  private _model: IRenderMime.IMimeModel | null = null;
  private _session: ISessionContext | null = null;
  private _modelId = '';
  /** The kernel went through a state after which it may be a new one: check for the widget's comm when it answers. */
  private _suspect = false;
  private _gone = false;
  private _started: IRenderMime.IMimeModel | null = null;
  private _runId = '';
  private _inner: IRenderMime.IRenderer | null = null;
  private _saved: IRenderMime.IRenderer | null = null;
  private _observer: MutationObserver | null = null;
  private _loadingTimer = 0;
  private _fallback: HTMLElement | null = null;
  private _view: RunDetailsView | null = null;
}
