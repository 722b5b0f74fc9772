/**
 * Small DOM helpers. Names, tags, paths and logs come from users: they are always set as text
 * (textContent), never parsed as HTML.
 */
import { Clipboard, Notification } from '@jupyterlab/apputils';

export type Child = Node | string | null | undefined | false;

/** Create `<tag class=...>` holding the children (strings become text nodes). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: {
    class?: string;
    title?: string;
    [key: string]: string | undefined;
  } = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined) {
      continue;
    }
    if (key === 'class') {
      el.className = value;
    } else {
      el.setAttribute(key, value);
    }
  }
  append(el, ...children);
  return el;
}

/** Append children; strings as text nodes. */
export function append(el: Element, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    el.appendChild(
      typeof child === 'string' ? document.createTextNode(child) : child
    );
  }
}

/** A button that runs `onClick` (errors are shown as notifications). */
export function button(
  label: string,
  onClick: () => void | Promise<void>,
  opts: { title?: string; class?: string } = {}
): HTMLButtonElement {
  const b = h(
    'button',
    {
      class: `jp-amlrun-button ${opts.class ?? ''}`.trim(),
      title: opts.title,
      type: 'button'
    },
    label
  );
  b.addEventListener('click', event => {
    event.stopPropagation();
    void run(onClick);
  });
  return b;
}

/** Run an action, showing any error it throws as a notification. */
export async function run(action: () => void | Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    Notification.error(error instanceof Error ? error.message : String(error), {
      autoClose: 8000
    });
  }
}

/** Copy text to the clipboard and say so. */
export function copy(text: string, what: string): void {
  Clipboard.copyToSystem(text);
  Notification.info(`Copied ${what}`, { autoClose: 2000 });
}

/** `key=value` tag chips. */
export function tags(
  values: Record<string, string> | null | undefined
): HTMLElement | null {
  const entries = Object.entries(values ?? {});
  if (entries.length === 0) {
    return null;
  }
  return h(
    'div',
    { class: 'jp-amlrun-tags' },
    ...entries.map(([k, v]) =>
      h('span', { class: 'jp-amlrun-tag' }, v ? `${k}=${v}` : k)
    )
  );
}

/** An expandable section header + body. */
export class Collapsible {
  readonly node: HTMLElement;
  readonly header: HTMLElement;
  readonly body: HTMLElement;
  private _open = false;
  private _onOpen: () => void;

  /**
   * @param title The header's content.
   * @param opts.key With `openKeys`, where the open state is kept: an item drawn again (its data changed)
   *   opens again.
   */
  constructor(
    title: Child,
    opts: {
      class?: string;
      onOpen?: () => void;
      key?: string;
      openKeys?: Set<string>;
    } = {}
  ) {
    this._onOpen = opts.onOpen ?? (() => undefined);
    this._key = opts.key;
    this._openKeys = opts.openKeys;
    this.header = h('div', {
      class: 'jp-amlrun-row jp-amlrun-expander',
      role: 'button'
    });
    this._caret = h('span', { class: 'jp-amlrun-caret' }, '▸');
    append(this.header, this._caret, title);
    this.body = h('div', { class: 'jp-amlrun-children' });
    this.body.hidden = true;
    this.node = h(
      'div',
      { class: `jp-amlrun-item ${opts.class ?? ''}`.trim() },
      this.header,
      this.body
    );
    this.header.addEventListener('click', () => this.toggle());
    if (this._key !== undefined && this._openKeys?.has(this._key)) {
      // Open once the caller has filled the body.
      queueMicrotask(() => this.toggle(true));
    }
  }

  get isOpen(): boolean {
    return this._open;
  }

  toggle(open = !this._open): void {
    this._open = open;
    this.body.hidden = !open;
    this._caret.textContent = open ? '▾' : '▸';
    this.node.classList.toggle('jp-amlrun-open', open);
    if (this._key !== undefined && this._openKeys) {
      if (open) {
        this._openKeys.add(this._key);
      } else {
        this._openKeys.delete(this._key);
      }
    }
    if (open) {
      this._onOpen();
    }
  }

  private _caret: HTMLElement;
  private _key?: string;
  private _openKeys?: Set<string>;
}
