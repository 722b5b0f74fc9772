/** One run opened in the sidebar: details, logs, cancel, insert a RunDetails cell, copy the snippet. */
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';

import { ICancelled, ILogChunk, IRunDetail, isLive } from './api';
import { ISidebarContext } from './context';
import {
  append,
  button,
  copy,
  formatDate,
  formatDuration,
  formatMetric,
  h,
  run,
  statusBadge,
  tags
} from './dom';
import { requestAPI, route } from './request';

/** The cell "Insert RunDetails cell" adds: it runs on its own in a fresh kernel. */
export function runDetailsCell(snippet: string): string {
  return [
    'from jupyter_amlrun import Run, RunDetails, Workspace',
    '',
    'ws = Workspace.from_config()',
    snippet
  ].join('\n');
}

export class RunView {
  readonly node: HTMLElement;

  /**
   * @param _ctx What the view needs from its host.
   * @param _closable Whether the header has a close button (the sidebar's does; a notebook output's does not).
   */
  constructor(
    private _ctx: ISidebarContext,
    private _closable = true
  ) {
    this.node = h('div', { class: 'jp-amlrun-runview' });
    this.node.hidden = true;
  }

  /** The open run's id, or null. */
  get runId(): string | null {
    return this._id;
  }

  /** Whether the open run is still live (the sidebar keeps polling while it is). */
  get isLive(): boolean {
    return this._run !== null && isLive(this._run.status);
  }

  async open(id: string): Promise<void> {
    this._id = id;
    this._run = null;
    this._logName = '';
    this._logOffset = 0;
    this.node.hidden = false;
    this.node.replaceChildren(
      h('div', { class: 'jp-amlrun-muted' }, `Loading run ${id}…`)
    );
    await this.refresh();
  }

  close(): void {
    this._id = null;
    this._run = null;
    this.node.hidden = true;
    this.node.replaceChildren();
  }

  async refresh(): Promise<void> {
    if (!this._id) {
      return;
    }
    const id = this._id;
    let detail: IRunDetail;
    try {
      detail = await requestAPI<IRunDetail>(route('runs', id));
    } catch (error) {
      this.node.replaceChildren(
        h(
          'div',
          { class: 'jp-amlrun-error' },
          error instanceof Error ? error.message : String(error)
        ),
        ...(this._closable ? [button('Close', () => this.close())] : [])
      );
      throw error;
    }
    if (id !== this._id) {
      return;
    }
    this._run = detail;
    this._render(detail);
    await this._loadLogs();
  }

  private _render(r: IRunDetail): void {
    const live = isLive(r.status);
    const metrics = Object.entries(r.metrics);
    const logSelect = h('select', {
      class: 'jp-amlrun-log-select',
      title: 'Log file'
    });
    for (const name of r.log_files) {
      logSelect.append(h('option', { value: name }, name));
    }
    if (!this._logName && r.log_files.length > 0) {
      // The user's log first, as the REST API's default is.
      this._logName =
        r.log_files.find(n => n.indexOf('std_log') >= 0) ?? r.log_files[0];
    }
    logSelect.value = this._logName;
    logSelect.addEventListener('change', () => {
      this._logName = logSelect.value;
      this._logOffset = 0;
      this._log.textContent = '';
      void run(() => this._loadLogs());
    });
    // Keep the log text already fetched: the next chunk appends to it.
    const logText =
      this._log?.isConnected && this._logRunId === r.id
        ? (this._log.textContent ?? '')
        : '';
    if (!logText) {
      this._logOffset = 0;
    }
    this._log = h('pre', { class: 'jp-amlrun-log' }, logText);
    this._logRunId = r.id;
    this._logMore = h('div', { class: 'jp-amlrun-log-more' });
    this.node.replaceChildren();
    append(
      this.node,
      h(
        'div',
        { class: 'jp-amlrun-runview-header' },
        h('strong', { class: 'jp-amlrun-name' }, r.display_name || r.id),
        statusBadge(r.status),
        this._closable
          ? button('×', () => this.close(), {
              title: 'Close the run',
              class: 'jp-amlrun-icon-button jp-amlrun-close'
            })
          : null
      ),
      h(
        'table',
        { class: 'jp-amlrun-props' },
        ...(
          [
            ['Run id', r.id],
            ['Experiment', r.experiment],
            ['Target', r.target ?? ''],
            ['Started', formatDate(r.start)],
            ['Ended', formatDate(r.end)],
            ['Duration', formatDuration(r.duration_seconds)],
            ['Parent', r.parent_id ?? '']
          ] as [string, string][]
        )
          .filter(([, v]) => v)
          .map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v)))
      ),
      tags((r.details?.tags as Record<string, string>) ?? null) ?? '',
      metrics.length
        ? h(
            'table',
            { class: 'jp-amlrun-props jp-amlrun-run-metrics' },
            ...metrics.map(([k, v]) =>
              h('tr', {}, h('th', {}, k), h('td', {}, formatMetric(v)))
            )
          )
        : null,
      h(
        'div',
        { class: 'jp-amlrun-actions' },
        button(
          'Insert RunDetails cell',
          () => this._ctx.insertCell(runDetailsCell(r.snippet)),
          {
            title:
              'Insert a RunDetails cell for this run into the active notebook',
            class: 'jp-amlrun-insert'
          }
        ),
        button('Copy snippet', () => copy(r.snippet, 'snippet')),
        live
          ? button('Cancel run', () => this._cancel(r.id), {
              class: 'jp-amlrun-cancel jp-mod-warn'
            })
          : null
      ),
      h(
        'details',
        { class: 'jp-amlrun-details' },
        h('summary', {}, 'Details'),
        h('pre', {}, JSON.stringify(r.details, null, 2))
      ),
      h(
        'div',
        { class: 'jp-amlrun-row' },
        h('span', {}, 'Logs '),
        r.log_files.length
          ? logSelect
          : h('span', { class: 'jp-amlrun-muted' }, 'no log files yet')
      ),
      this._log,
      this._logMore
    );
  }

  /** Fetch the next log chunk from the last offset (each refresh tick fetches what was appended since). */
  private async _loadLogs(): Promise<void> {
    if (!this._id || !this._logName) {
      return;
    }
    const id = this._id;
    const name = this._logName;
    const chunk = await requestAPI<ILogChunk>(
      `${route('runs', id)}/logs`,
      {},
      { name, offset: this._logOffset }
    );
    if (id !== this._id || name !== this._logName) {
      return;
    }
    this._log.append(document.createTextNode(chunk.text));
    this._logOffset = chunk.offset;
    this._logMore.replaceChildren(
      chunk.complete
        ? ''
        : button('Load more log', () => this._loadLogs(), {
            class: 'jp-amlrun-more'
          })
    );
  }

  private async _cancel(id: string): Promise<void> {
    const answer = await showDialog({
      title: 'Cancel run?',
      body: `Run ${id} will be stopped.`,
      buttons: [
        Dialog.cancelButton({ label: 'Keep running' }),
        Dialog.warnButton({ label: 'Cancel run' })
      ]
    });
    if (!answer.button.accept) {
      return;
    }
    const done = await requestAPI<ICancelled>(`${route('runs', id)}/cancel`, {
      method: 'POST'
    });
    Notification.info(`Run ${done.id}: ${done.status}`, { autoClose: 3000 });
    await this.refresh();
  }

  private _id: string | null = null;
  private _run: IRunDetail | null = null;
  private _log: HTMLElement = h('pre');
  private _logRunId = '';
  private _logMore: HTMLElement = h('div');
  private _logName = '';
  private _logOffset = 0;
}
