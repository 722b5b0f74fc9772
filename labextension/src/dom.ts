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

/** Human size: 1.2 KB, 3.4 MB. */
export function formatSize(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) {
    return '';
  }
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Local date and time of an ISO 8601 string. */
export function formatDate(iso: string | null | undefined): string {
  if (!iso) {
    return '';
  }
  const date = new Date(iso);
  return isNaN(date.getTime())
    ? iso
    : date.toLocaleString(undefined, {
        dateStyle: 'short',
        timeStyle: 'short'
      });
}

/** 1h 02m 03s / 2m 05s / 4.2s */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) {
    return '';
  }
  if (seconds < 60) {
    return `${seconds.toFixed(1)}s`;
  }
  const s = Math.floor(seconds % 60);
  const m = Math.floor((seconds / 60) % 60);
  const hrs = Math.floor(seconds / 3600);
  const pad = (n: number) => String(n).padStart(2, '0');
  return hrs > 0 ? `${hrs}h ${pad(m)}m ${pad(s)}s` : `${m}m ${pad(s)}s`;
}

/** A metric value, short. */
export function formatMetric(value: number): string {
  if (!isFinite(value)) {
    return String(value);
  }
  return Math.abs(value) >= 1e4 || (Math.abs(value) < 1e-3 && value !== 0)
    ? value.toExponential(3)
    : String(Number(value.toPrecision(4)));
}

/** A status badge; its class carries the status for colour. */
export function statusBadge(status: string): HTMLElement {
  return h(
    'span',
    { class: `jp-amlrun-status jp-amlrun-status-${status.toLowerCase()}` },
    status
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
