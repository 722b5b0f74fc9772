/** Models section: versions newest first, tags, description, the producing run; download; copy the snippet. */
import { Notification } from '@jupyterlab/apputils';

import { IDownloaded, IModel, IModelVersion, IPage } from './api';
import { ISidebarContext } from './context';
import { Collapsible, button, copy, h, tags } from './dom';
import { PagedList } from './pager';
import { requestAPI, route } from './request';

export class ModelsSection {
  readonly list: PagedList<IModel>;

  constructor(private _ctx: ISidebarContext) {
    this.list = new PagedList<IModel>(
      (offset, limit) =>
        requestAPI<IPage<IModel>>(
          'models',
          {},
          { offset, limit, filter: this._ctx.filter }
        ),
      model => this._render(model),
      'No models match. Register one with run.register_model(...) or Model.register(...).',
      model => model.name
    );
  }

  private _render(model: IModel): HTMLElement {
    const item = new Collapsible(
      h(
        'span',
        { class: 'jp-amlrun-title' },
        h('span', { class: 'jp-amlrun-name' }, model.name),
        h(
          'span',
          { class: 'jp-amlrun-muted' },
          ` v${model.latest_version} · ${model.versions.length} versions`
        )
      ),
      { class: 'jp-amlrun-model', key: model.name, openKeys: this._openKeys }
    );
    item.node.setAttribute('data-name', model.name);
    // The server sends newest first; sort anyway so the order never depends on it.
    const versions = [...model.versions].sort((a, b) => b.version - a.version);
    item.body.append(...versions.map(v => this._renderVersion(model.name, v)));
    return item.node;
  }

  private _renderVersion(name: string, v: IModelVersion): HTMLElement {
    const runLink = v.run_id
      ? h(
          'a',
          {
            class: 'jp-amlrun-link jp-amlrun-run-link',
            href: '#',
            title: 'Open the run that produced it'
          },
          `run ${v.run_id}`
        )
      : null;
    runLink?.addEventListener('click', event => {
      event.preventDefault();
      this._ctx.openRun(v.run_id as string);
    });
    return h(
      'div',
      { class: 'jp-amlrun-model-version', 'data-version': String(v.version) },
      h(
        'div',
        { class: 'jp-amlrun-row' },
        h('span', { class: 'jp-amlrun-name' }, `version ${v.version}`),
        h('span', { class: 'jp-amlrun-date' }, v.created_text)
      ),
      v.description
        ? h('div', { class: 'jp-amlrun-description' }, v.description)
        : null,
      tags(v.tags),
      runLink
        ? h(
            'div',
            {},
            runLink,
            v.experiment
              ? h('span', { class: 'jp-amlrun-muted' }, ` (${v.experiment})`)
              : null
          )
        : null,
      h(
        'div',
        { class: 'jp-amlrun-actions' },
        button('Download', () => this._download(name, v.version), {
          title: 'Download this version into the folder the file browser shows'
        }),
        button('Copy snippet', () => copy(v.snippet, 'snippet'), {
          title: 'Copy Model(ws, name, version=n)'
        })
      )
    );
  }

  private _openKeys = new Set<string>();

  private async _download(name: string, version: number): Promise<void> {
    const target = this._ctx.currentFolder();
    const done = await requestAPI<IDownloaded>(
      `${route('models', name, 'versions', String(version))}/download`,
      { method: 'POST', body: JSON.stringify({ target }) }
    );
    await this._ctx.refreshFiles();
    Notification.success(
      `Downloaded ${name} version ${version} to ${done.path || '/'}`,
      { autoClose: 4000 }
    );
  }
}
