/**
 * A list that loads one page at a time and shows "Load more" while the server has more items.
 */
import { IPage, PAGE_SIZE } from './api';
import { button, h, run } from './dom';

/** Fetch one page starting at `offset`. */
export type PageFetcher<T> = (
  offset: number,
  limit: number
) => Promise<IPage<T>>;

export class PagedList<T> {
  readonly node: HTMLElement;

  /**
   * @param _fetch Loads one page.
   * @param _render Draws one item.
   * @param _empty The text shown when there are no items.
   * @param _key An item's identity: a refresh keeps the element of an item that did not change, so what the
   *   user expanded or scrolled to stays put while live runs refresh the list.
   */
  constructor(
    private _fetch: PageFetcher<T>,
    private _render: (item: T) => HTMLElement,
    private _empty: string,
    private _key: (item: T) => string = item => JSON.stringify(item),
    private _pageSize = PAGE_SIZE
  ) {
    this.node = h('div', { class: 'jp-amlrun-list' });
    this._items = h('div', { class: 'jp-amlrun-list-items' });
    this._footer = h('div', { class: 'jp-amlrun-list-footer' });
    this.node.append(this._items, this._footer);
  }

  /** Items loaded so far. */
  get loaded(): number {
    return this._count;
  }

  /** The server's total (after the filter) from the last page. */
  get total(): number {
    return this._total;
  }

  /** Load the first page again, keeping as many items as were shown (so a refresh does not collapse the list). */
  async reload(): Promise<void> {
    const want = Math.max(this._pageSize, this._count);
    const generation = ++this._generation;
    const items: T[] = [];
    let total = 0;
    do {
      const page = await this._fetch(
        items.length,
        Math.min(this._pageSize, want - items.length)
      );
      if (generation !== this._generation) {
        return; // a newer reload started meanwhile
      }
      items.push(...page.items);
      total = page.total;
      if (page.items.length === 0) {
        break;
      }
    } while (items.length < want && items.length < total);
    const previous = this._drawn;
    this._drawn = new Map();
    this._items.replaceChildren(
      ...items.map(item => {
        const key = this._key(item);
        const json = JSON.stringify(item);
        const old = previous.get(key);
        const node = old && old.json === json ? old.node : this._render(item);
        this._drawn.set(key, { json, node });
        return node;
      })
    );
    this._count = items.length;
    this._total = total;
    this._renderFooter();
  }

  private async _more(): Promise<void> {
    const generation = this._generation;
    const page = await this._fetch(this._count, this._pageSize);
    if (generation !== this._generation) {
      return;
    }
    this._items.append(
      ...page.items.map(item => {
        const node = this._render(item);
        this._drawn.set(this._key(item), { json: JSON.stringify(item), node });
        return node;
      })
    );
    this._count += page.items.length;
    this._total = page.total;
    this._renderFooter();
  }

  private _renderFooter(): void {
    this._footer.replaceChildren();
    if (this._count === 0) {
      this._footer.append(h('div', { class: 'jp-amlrun-empty' }, this._empty));
    } else if (this._count < this._total) {
      this._footer.append(
        h(
          'span',
          { class: 'jp-amlrun-muted' },
          `${this._count} of ${this._total} `
        ),
        button('Load more', () => run(() => this._more()), {
          class: 'jp-amlrun-more'
        })
      );
    }
  }

  private _drawn = new Map<string, { json: string; node: HTMLElement }>();
  private _items: HTMLElement;
  private _footer: HTMLElement;
  private _count = 0;
  private _total = 0;
  private _generation = 0;
}
