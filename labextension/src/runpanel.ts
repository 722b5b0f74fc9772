/**
 * The run opened in the sidebar: the one run renderer (./runview/render.ts, the RunDetails widget's) fed by the
 * REST view stream, under the sidebar's own actions (close, insert a RunDetails cell, copy the snippet).
 */
import { IRunDetail } from './api';
import { ISidebarContext } from './context';
import { button, copy, h } from './dom';
import { requestAPI, route } from './request';
import { rerunButton } from './rerun';
import { RunDetailsView, mountRunView } from './runview/render';
import { RestTransport } from './runview/rest';

/** The cell "Insert RunDetails cell" adds: it runs on its own in a fresh kernel. */
export function runDetailsCell(snippet: string): string {
  return [
    'from jupyter_amlrun import Run, RunDetails, Workspace',
    '',
    'ws = Workspace.from_config()',
    snippet
  ].join('\n');
}

export class RunPanel {
  readonly node: HTMLElement;

  constructor(private _ctx: ISidebarContext) {
    this.node = h('div', { class: 'jp-amlrun-runview' });
    this.node.hidden = true;
  }

  /** The open run's id, or null. */
  get runId(): string | null {
    return this._id;
  }

  /** Whether the open run may still change (its view keeps polling while it does). */
  get isLive(): boolean {
    return this._transport !== null && !this._transport.ended;
  }

  async open(id: string): Promise<void> {
    this.close();
    this._id = id;
    this.node.hidden = false;
    const error = h('div', { class: 'jp-amlrun-error', hidden: '' });
    const snippet = (): Promise<string> =>
      requestAPI<IRunDetail>(route('runs', id)).then(r => r.snippet);
    const actions = h(
      'div',
      { class: 'jp-amlrun-actions' },
      button(
        'Insert RunDetails cell',
        async () => this._ctx.insertCell(runDetailsCell(await snippet())),
        {
          title:
            'Insert a RunDetails cell for this run into the active notebook',
          class: 'jp-amlrun-insert'
        }
      ),
      button('Copy snippet', async () => copy(await snippet(), 'snippet')),
      rerunButton(id, this._ctx),
      button('×', () => this.close(), {
        title: 'Close the run',
        class: 'jp-amlrun-icon-button jp-amlrun-close'
      })
    );
    const body = h('div', { class: 'jp-amlrun-runview-body' });
    this.node.replaceChildren(actions, error, body);
    this._transport = new RestTransport(id, e => {
      error.textContent = e instanceof Error ? e.message : String(e);
      error.hidden = false;
    });
    this._view = mountRunView(body, this._transport, (path, cell) =>
      this._ctx.openNotebook(path, cell)
    );
  }

  close(): void {
    this._view?.dispose();
    this._view = null;
    this._transport = null;
    this._id = null;
    this.node.hidden = true;
    this.node.replaceChildren();
  }

  /** Ask the open run's view for what is new now (it polls on its own while the run is live). */
  async refresh(): Promise<void> {
    this._transport?.pollSoon();
  }

  private _id: string | null = null;
  private _view: RunDetailsView | null = null;
  private _transport: RestTransport | null = null;
}
