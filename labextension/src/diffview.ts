/**
 * The sidebar's diff of two selected runs: parameters, last metric values, environment, inputs, and the code (files
 * added, removed, changed, with a unified diff per changed text file; a side without its snapshot is said). It
 * draws GET runs/{a}/diff/{b}/view (jupyter_amlrun/view/diff.py diff_view): every text and cell comes from Python.
 */
import { Cell } from './runview/wire';
import { button, h } from './dom';
import { requestAPI, route } from './request';

// ---------------------------------------------------------------- the view (view/diff.py)
export type DiffTableView = {
  name: string;
  title: string;
  note: string;
  columns: string[];
  rows: Cell[][];
};

export type DiffFileView = {
  path: string;
  change: string;
  note: string;
  diff: string;
};

export type DiffCodeView = {
  title: string;
  note: string;
  missing: string[];
  files: DiffFileView[];
};

export type DiffView = {
  runs: string[];
  labels: string[];
  title: string;
  tables: DiffTableView[];
  code: DiffCodeView;
};

/** The class of the diff view's root element. */
export const DIFF_CLASS = 'jp-amlrun-diff';

function text(c: Cell): string {
  return typeof c === 'string' ? c : c.label;
}

function table(t: DiffTableView): HTMLElement {
  const el = h('table', { class: 'amlrun-table', 'data-table': t.name });
  el.append(h('tr', {}, ...t.columns.map(c => h('th', {}, c))));
  for (const row of t.rows) {
    const tr = h('tr', {}, ...row.map(c => h('td', {}, text(c))));
    // the last cell is the view's "differs" mark
    if (text(row[row.length - 1])) {
      tr.classList.add('jp-amlrun-differs');
    }
    el.append(tr);
  }
  return el;
}

/** A unified diff, one element per line, classed by its first character (added, removed, hunk header). */
function unified(diff: string): HTMLElement {
  const pre = h('pre', { class: 'jp-amlrun-unified' });
  for (const line of diff.split('\n')) {
    const kind = line.startsWith('@@')
      ? 'hunk'
      : line.startsWith('+++') || line.startsWith('---')
        ? 'file'
        : line.startsWith('+')
          ? 'add'
          : line.startsWith('-')
            ? 'del'
            : 'ctx';
    pre.append(h('div', { class: `jp-amlrun-diff-${kind}` }, line || ' '));
  }
  return pre;
}

/** The drawn diff view. */
export function renderDiff(view: DiffView, onClose?: () => void): HTMLElement {
  const root = h('div', {
    class: DIFF_CLASS,
    'data-runs': view.runs.join(',')
  });
  root.append(
    h(
      'div',
      { class: 'jp-amlrun-row' },
      h('strong', {}, `Diff: ${view.title}`),
      onClose
        ? button('Close', onClose, { class: 'jp-amlrun-diff-close' })
        : null
    )
  );
  for (const t of view.tables) {
    root.append(
      h(
        'div',
        { class: 'jp-amlrun-diff-section', 'data-section': t.name },
        h('b', {}, t.title),
        ' ',
        h('span', { class: 'jp-amlrun-muted' }, t.note),
        t.rows.length ? table(t) : null
      )
    );
  }
  const code = h(
    'div',
    { class: 'jp-amlrun-diff-section', 'data-section': 'code' },
    h('b', {}, view.code.title),
    ' ',
    h('span', { class: 'jp-amlrun-muted' }, view.code.note)
  );
  for (const m of view.code.missing) {
    code.append(h('div', { class: 'jp-amlrun-diff-missing' }, m));
  }
  for (const f of view.code.files) {
    const file = h(
      'details',
      {
        class: 'jp-amlrun-diff-file',
        'data-path': f.path,
        'data-change': f.change
      },
      h(
        'summary',
        {},
        h('span', { class: `jp-amlrun-diff-change` }, f.change),
        ' ',
        h('code', {}, f.path),
        f.note ? ` ${f.note}` : ''
      )
    );
    if (f.diff) {
      file.append(unified(f.diff));
      (file as HTMLDetailsElement).open = true;
    }
    code.append(file);
  }
  root.append(code);
  return root;
}

/** Fetch the diff of runs `a` and `b` and draw it into `target` (replacing what it shows). */
export async function showDiff(
  target: HTMLElement,
  a: string,
  b: string
): Promise<void> {
  const view = await requestAPI<DiffView>(route('runs', a, 'diff', b, 'view'));
  target.replaceChildren(renderDiff(view, () => target.replaceChildren()));
}

/** The compare bar's "Diff" button: shown when exactly two runs are selected. */
export function diffButton(
  ids: string[],
  target: HTMLElement
): HTMLElement | string {
  if (ids.length !== 2) {
    return '';
  }
  return button('Diff', () => showDiff(target, ids[0], ids[1]), {
    class: 'jp-amlrun-diff-button',
    title:
      'What differs between the two runs: parameters, metrics, code, environment, inputs'
  });
}
