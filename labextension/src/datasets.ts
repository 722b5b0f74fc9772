/** Datasets section: names, versions, description, tags, source paths; copy the get_by_name snippet. */
import { IDataset, IPage } from './api';
import { ISidebarContext } from './context';
import { Collapsible, button, copy, h, tags } from './dom';
import { PagedList } from './pager';
import { requestAPI } from './request';

/** `Dataset.get_by_name(ws, name, version=n)` */
export function datasetSnippet(name: string, version: number): string {
  return `Dataset.get_by_name(ws, ${JSON.stringify(name)}, version=${version})`;
}

export class DatasetsSection {
  readonly list: PagedList<IDataset>;

  constructor(private _ctx: ISidebarContext) {
    this.list = new PagedList<IDataset>(
      (offset, limit) =>
        requestAPI<IPage<IDataset>>(
          'datasets',
          {},
          { offset, limit, filter: this._ctx.filter }
        ),
      ds => this._render(ds),
      'No datasets match. Register one with dataset.register(ws, name).',
      ds => ds.name
    );
  }

  private _render(ds: IDataset): HTMLElement {
    const item = new Collapsible(
      h(
        'span',
        { class: 'jp-amlrun-title' },
        h('span', { class: 'jp-amlrun-name' }, ds.name),
        h('span', { class: 'jp-amlrun-muted' }, ` v${ds.latest_version}`)
      ),
      { class: 'jp-amlrun-dataset', key: ds.name, openKeys: this._openKeys }
    );
    item.node.setAttribute('data-name', ds.name);
    const versions = [...ds.versions].sort((a, b) => b - a);
    item.body.append(
      ds.description
        ? h('div', { class: 'jp-amlrun-description' }, ds.description)
        : '',
      tags(ds.tags) ?? '',
      h(
        'div',
        { class: 'jp-amlrun-sources' },
        ...ds.sources.map(src =>
          h('div', { class: 'jp-amlrun-source', title: src }, src)
        )
      ),
      h(
        'div',
        { class: 'jp-amlrun-versions' },
        ...versions.map(v =>
          h(
            'div',
            {
              class: 'jp-amlrun-row jp-amlrun-version',
              'data-version': String(v)
            },
            h('span', {}, `version ${v}`),
            button(
              'Copy snippet',
              () => copy(datasetSnippet(ds.name, v), 'snippet'),
              {
                title: 'Copy Dataset.get_by_name(ws, name, version=n)'
              }
            )
          )
        )
      ),
      button('Copy latest snippet', () => copy(ds.snippet, 'snippet'))
    );
    return item.node;
  }

  private _openKeys = new Set<string>();
}
