/** Datastores section: each datastore, browsable folder by folder; copy paths and snippets; drop files to upload. */
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';

import {
  IDatastore,
  IFileEntry,
  IFolderListing,
  IPage,
  IUploaded
} from './api';
import { ISidebarContext } from './context';
import { Collapsible, button, copy, h, run } from './dom';
import { PagedList } from './pager';
import { AmlApiError, requestAPI, route } from './request';

/** Join a folder and a name into a datastore-relative path. */
export function joinPath(folder: string, name: string): string {
  return folder ? `${folder.replace(/\/+$/, '')}/${name}` : name;
}

/** The `Dataset.File.from_files(...)` snippet of one path (the server gives the folder's own). */
export function fileSnippet(datastore: string, path: string): string {
  return `Dataset.File.from_files((Datastore.get(ws, ${JSON.stringify(datastore)}), ${JSON.stringify(path)}))`;
}

/** Upload one file's bytes into `folder`; asks before overwriting. */
export async function uploadFile(
  datastore: string,
  folder: string,
  file: File
): Promise<IUploaded> {
  const path = joinPath(folder, file.name);
  const post = (overwrite: boolean) =>
    requestAPI<IUploaded>(
      `${route('datastores', datastore)}/files`,
      {
        method: 'POST',
        body: file,
        headers: { 'Content-Type': 'application/octet-stream' }
      },
      { path, overwrite }
    );
  try {
    return await post(false);
  } catch (error) {
    if (!(error instanceof AmlApiError) || error.status !== 409) {
      throw error;
    }
    const answer = await showDialog({
      title: 'Replace file?',
      body: `${path} already exists in datastore ${datastore}.`,
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Replace' })]
    });
    if (!answer.button.accept) {
      throw new Error(`Upload of ${path} skipped: it already exists.`);
    }
    return await post(true);
  }
}

/** One datastore's folder browser. */
class FolderBrowser {
  readonly node: HTMLElement;

  constructor(
    private _store: IDatastore,
    private _ctx: ISidebarContext
  ) {
    this._crumbs = h('div', { class: 'jp-amlrun-crumbs' });
    this._actions = h('div', { class: 'jp-amlrun-actions' });
    this._list = new PagedList<IFileEntry>(
      (offset, limit) => this._page(offset, limit),
      entry => this._renderEntry(entry),
      'Empty folder. Drop files here to upload them.',
      entry => entry.path
    );
    this.node = h(
      'div',
      { class: 'jp-amlrun-folder', 'data-datastore': _store.name },
      this._crumbs,
      this._actions,
      this._list.node
    );
    this._dropTarget(this.node, () => this._path);
  }

  /** Whether a folder was opened (the datastore was expanded once). */
  get loaded(): boolean {
    return this._loaded;
  }

  async open(path: string): Promise<void> {
    this._loaded = true;
    this._path = path;
    await this._list.reload();
    this._renderHeader();
  }

  refresh(): Promise<void> {
    return this._list.reload();
  }

  private async _page(
    offset: number,
    limit: number
  ): Promise<IPage<IFileEntry>> {
    const listing = await requestAPI<IFolderListing>(
      `${route('datastores', this._store.name)}/files`,
      {},
      { path: this._path, offset, limit, filter: this._ctx.filter }
    );
    this._snippet = listing.snippet;
    return listing;
  }

  private _renderHeader(): void {
    const parts = this._path ? this._path.split('/') : [];
    const crumbs: Node[] = [this._crumb(this._store.name, '')];
    parts.forEach((part, i) => {
      crumbs.push(document.createTextNode(' / '));
      crumbs.push(this._crumb(part, parts.slice(0, i + 1).join('/')));
    });
    this._crumbs.replaceChildren(...crumbs);
    this._actions.replaceChildren(
      button('Copy path', () => copy(this._path || '/', 'path'), {
        title: 'Copy this folder’s path in the datastore'
      }),
      button('Copy dataset snippet', () => copy(this._snippet, 'snippet'), {
        title: 'Copy a Dataset.File.from_files(...) line for this folder'
      })
    );
  }

  private _crumb(label: string, path: string): HTMLElement {
    const link = h(
      'a',
      {
        class: 'jp-amlrun-link',
        href: '#',
        title: `Open ${path || 'the root'}`
      },
      label
    );
    link.addEventListener('click', event => {
      event.preventDefault();
      void run(() => this.open(path));
    });
    return link;
  }

  private _renderEntry(entry: IFileEntry): HTMLElement {
    const name = h(
      'span',
      {
        class: `jp-amlrun-name ${entry.is_dir ? 'jp-amlrun-dir' : 'jp-amlrun-file'}`
      },
      entry.is_dir ? `${entry.name}/` : entry.name
    );
    const row = h(
      'div',
      {
        class: 'jp-amlrun-row jp-amlrun-entry',
        'data-path': entry.path,
        title: entry.path
      },
      name,
      // sizes and dates come formatted by the server (view/model.py)
      h('span', { class: 'jp-amlrun-size' }, entry.size_text),
      h('span', { class: 'jp-amlrun-date' }, entry.modified_text),
      button('Copy', () => copy(entry.path, 'path'), {
        title: 'Copy path',
        class: 'jp-amlrun-icon-button'
      }),
      button(
        '{}',
        () => copy(fileSnippet(this._store.name, entry.path), 'snippet'),
        {
          title: 'Copy Dataset.File.from_files(...) snippet',
          class: 'jp-amlrun-icon-button'
        }
      )
    );
    if (entry.is_dir) {
      row.addEventListener(
        'click',
        () => void run(() => this.open(entry.path))
      );
      this._dropTarget(row, () => entry.path);
    }
    return row;
  }

  /** Files dropped on `node` upload into the folder `folder()` names. */
  private _dropTarget(node: HTMLElement, folder: () => string): void {
    node.addEventListener('dragover', event => {
      if (
        event.dataTransfer &&
        Array.from(event.dataTransfer.types).indexOf('Files') >= 0
      ) {
        event.preventDefault();
        event.stopPropagation();
        node.classList.add('jp-amlrun-drop');
      }
    });
    node.addEventListener('dragleave', () =>
      node.classList.remove('jp-amlrun-drop')
    );
    node.addEventListener('drop', event => {
      node.classList.remove('jp-amlrun-drop');
      const files = Array.from(event.dataTransfer?.files ?? []);
      if (files.length === 0) {
        return;
      }
      event.preventDefault();
      event.stopPropagation();
      void run(async () => {
        const target = folder();
        for (const file of files) {
          const done = await uploadFile(this._store.name, target, file);
          Notification.success(
            `Uploaded ${done.path} (${done.size_text}) to ${this._store.name}`,
            {
              autoClose: 3000
            }
          );
        }
        await this.refresh();
      });
    });
  }

  private _loaded = false;
  private _path = '';
  private _snippet = '';
  private _crumbs: HTMLElement;
  private _actions: HTMLElement;
  private _list: PagedList<IFileEntry>;
}

export class DatastoresSection {
  readonly list: PagedList<IDatastore>;

  constructor(private _ctx: ISidebarContext) {
    this.list = new PagedList<IDatastore>(
      (offset, limit) =>
        requestAPI<IPage<IDatastore>>(
          'datastores',
          {},
          { offset, limit, filter: this._ctx.filter }
        ),
      store => this._render(store),
      'No datastores match.',
      store => store.name
    );
  }

  /** Reload the list and the folders shown. */
  async refresh(): Promise<void> {
    await this.list.reload();
    await Promise.all(
      [...this._browsers.values()]
        .filter(b => b.node.isConnected && b.loaded)
        .map(b => b.refresh())
    );
  }

  private _render(store: IDatastore): HTMLElement {
    // One browser per datastore, kept across redraws (it remembers the folder shown).
    let browser = this._browsers.get(store.name);
    if (!browser) {
      browser = new FolderBrowser(store, this._ctx);
      this._browsers.set(store.name, browser);
    }
    const folders = browser;
    const item = new Collapsible(
      h(
        'span',
        { class: 'jp-amlrun-title' },
        h('span', { class: 'jp-amlrun-name' }, store.name),
        store.is_default
          ? h(
              'span',
              {
                class: 'jp-amlrun-badge',
                title: 'The workspace default datastore'
              },
              'default'
            )
          : null,
        h(
          'span',
          { class: 'jp-amlrun-muted' },
          ` ${store.kind} · ${store.container}`
        )
      ),
      {
        class: 'jp-amlrun-datastore',
        key: store.name,
        openKeys: this._openKeys,
        onOpen: () => {
          if (!folders.loaded) {
            void run(() => folders.open(''));
          }
        }
      }
    );
    item.node.setAttribute('data-name', store.name);
    item.body.append(folders.node);
    return item.node;
  }

  private _browsers = new Map<string, FolderBrowser>();
  private _openKeys = new Set<string>();
}
