/**
 * The one run renderer: the RunDetails widget, the reopened output and the sidebar's run view all draw a run with
 * it. It only draws: every text and number it shows comes from the Python view model (jupyter_amlrun/view/model.py),
 * delivered by a transport (the widget's comm, or REST polling of GET runs/{id}/view). It keeps the chart points it
 * was sent (only what is new arrives) and hands them to uPlot.
 */
import uPlot from 'uplot';

import {
  Cell,
  ChartPoints,
  HeaderView,
  ImageView,
  OriginView,
  LogChunkMsg,
  LogsView,
  StatusView,
  SweepView,
  TableView,
  ViewDelta,
  ViewState
} from './wire';

/** A metric with fewer points is drawn as its value, not a chart (view/model.py CHART_MIN_POINTS). */
export const CHART_MIN_POINTS = 2;

/** The class of every run view's root element, whichever transport feeds it. */
export const ROOT_CLASS = 'amlrun-rd';

/** Where the renderer's input goes: a transport calls these. */
export interface IViewSink {
  setState(state: Partial<ViewState>): void;
  applyDelta(delta: ViewDelta): void;
  /** The answer to {@link IRunTransport.loadEarlier}: bytes before what the view holds, or null. */
  prependLog(chunk: LogChunkMsg | null): void;
}

/** How a run view gets its run and sends the user's requests back. */
export interface IRunTransport {
  /** 'comm' (a live kernel's widget) or 'rest' (the server extension). */
  readonly kind: string;
  connect(sink: IViewSink): void;
  cancel(): void;
  /** Ask for a log's bytes before `before`; absent where the transport cannot. */
  loadEarlier?: (name: string, before: number) => void;
  dispose(): void;
}

/** Opens a notebook in JupyterLab (the app's document manager); absent where the view has no app (the widget). */
export type NotebookOpener = (path: string, cell: number | null) => void;

/** The page's base URL (JupyterLab's and Notebook 7's pages carry it in their config data), '/' when not found. */
function baseUrl(): string {
  const data = document.getElementById('jupyter-config-data');
  try {
    const url = data ? JSON.parse(data.textContent || '{}').baseUrl : '';
    return typeof url === 'string' && url ? url.replace(/\/*$/, '/') : '/';
  } catch {
    return '/';
  }
}

/** The URL that opens `path` (relative to the Jupyter root) in JupyterLab. */
export function labTreeUrl(path: string): string {
  return (
    baseUrl() + 'lab/tree/' + path.split('/').map(encodeURIComponent).join('/')
  );
}

/** The "From <notebook> (cell N)" line: a link when the notebook is under the Jupyter root, else its text. */
function originLine(
  origin: OriginView | null | undefined,
  open: NotebookOpener | undefined
): HTMLElement | string {
  if (!origin) {
    return '';
  }
  if (!origin.path) {
    return h('div', { class: 'amlrun-origin' }, origin.text);
  }
  const link = h(
    'a',
    {
      class: 'amlrun-origin-link',
      href: labTreeUrl(origin.path),
      target: open ? null : '_blank',
      rel: 'noopener',
      title: 'Open the notebook this run was submitted from',
      onclick: open
        ? (e: Event) => {
            e.preventDefault();
            open(origin.path, origin.cell);
          }
        : null
    },
    origin.text
  );
  return h('div', { class: 'amlrun-origin' }, link);
}

type Attrs = Record<string, string | null | undefined | EventListener>;

function h(
  tag: string,
  attrs: Attrs = {},
  ...children: (Node | string | null | undefined)[]
): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) {
      continue;
    }
    if (typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'class') {
      el.className = v;
    } else {
      el.setAttribute(k, v);
    }
  }
  for (const c of children) {
    if (c === null || c === undefined) {
      continue;
    }
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/** A status badge: its label, colour class and colour all come from the view model (view/model.py status_view). */
export function badge(s: StatusView | undefined): HTMLElement {
  const v = s || { css_class: 'wait', color: '', label: '…' };
  return h(
    'span',
    {
      class: `amlrun-status amlrun-${v.css_class}`,
      style: v.color ? `background:${v.color}` : null
    },
    v.label
  );
}

function cell(c: Cell): Node | string {
  return typeof c === 'string' ? c : badge(c);
}

/** A table of formatted cells (view/model.py TableView). */
export function table(t: TableView): HTMLElement {
  const el = h('table', { class: 'amlrun-table', 'data-table': t.name });
  el.append(h('tr', {}, ...t.columns.map(c => h('th', {}, c))));
  for (const row of t.rows) {
    el.append(h('tr', {}, ...row.map(c => h('td', {}, cell(c)))));
  }
  return el;
}

// ---------------------------------------------------------------- a sweep's children (view/model.py SweepView)
const SVG = 'http://www.w3.org/2000/svg';

function s(
  tag: string,
  attrs: Record<string, string | number> = {},
  text: string | null = null
): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) {
    el.setAttribute(k, String(v));
  }
  if (text !== null) {
    el.textContent = text;
  }
  return el;
}

type SortState = { col: number; dir: number } | null;

/** The sortable table: a click on a column header sorts by it (again: the other way). */
function sweepTable(
  sw: SweepView,
  sort: SortState,
  onSort: (col: number) => void
): HTMLElement {
  const rows = sw.children.map((c, i) => ({ c, i }));
  const col = sort ? sort.col : -1;
  if (sort && col >= 0) {
    const dir = sort.dir;
    rows.sort((a, b) => {
      const x = a.c.sort[col];
      const y = b.c.sort[col];
      if (x === null || x === undefined) {
        return 1; // no value: last either way
      }
      if (y === null || y === undefined) {
        return -1;
      }
      return (x < y ? -1 : x > y ? 1 : 0) * dir || a.i - b.i;
    });
  }
  const el = h('table', {
    class: 'amlrun-table amlrun-sweep-table',
    'data-table': 'sweep'
  });
  const head = sw.columns.map((name, k) =>
    h(
      'th',
      { class: 'amlrun-sortable', title: 'sort', onclick: () => onSort(k) },
      name + (sort && k === col ? (sort.dir > 0 ? ' ▲' : ' ▼') : '')
    )
  );
  el.append(h('tr', {}, ...head));
  for (const { c } of rows) {
    el.append(
      h(
        'tr',
        {
          'data-run': c.run_id,
          class: c.terminated ? 'amlrun-terminated' : null
        },
        ...c.cells.map(x => h('td', {}, cell(x)))
      )
    );
  }
  return el;
}

/**
 * The primary metric per child over its intervals; children a policy ended are dashed and end with an x. The value
 * axis (range and labelled ticks) and each child's colour come with the view (view/model.py value_axis, series_color).
 */
function sweepLines(sw: SweepView): SVGElement {
  const [W, H, L, R, T, B] = [420, 220, 46, 8, 8, 26];
  const el = s('svg', { width: W, height: H, class: 'amlrun-sweep-lines' });
  if (!sw.children.some(c => c.values.length)) {
    return el;
  }
  const { lo, hi, ticks } = sw.value_axis;
  const n = Math.max(2, ...sw.children.map(c => c.values.length));
  const x = (i: number) => L + ((W - L - R) * i) / (n - 1);
  const y = (v: number) => T + (H - T - B) * (1 - (v - lo) / (hi - lo));
  el.append(
    s('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, class: 'amlrun-axis' })
  );
  el.append(
    s('line', { x1: L, y1: T, x2: L, y2: H - B, class: 'amlrun-axis' })
  );
  for (const [value, label] of ticks) {
    el.append(
      s(
        'text',
        { x: L - 4, y: y(value) + 4, 'text-anchor': 'end', 'font-size': 10 },
        label
      )
    );
  }
  el.append(
    s(
      'text',
      { x: (L + W) / 2, y: H - 6, 'text-anchor': 'middle', 'font-size': 10 },
      'interval'
    )
  );
  sw.children.forEach(c => {
    if (!c.values.length) {
      return;
    }
    const color = c.color;
    const pts = c.values.map((v, i) => `${x(i)},${y(v)}`).join(' ');
    const line = s('polyline', {
      points: pts,
      fill: 'none',
      stroke: color,
      'stroke-width': 1.5,
      'data-run': c.run_id
    });
    if (c.terminated) {
      line.setAttribute('stroke-dasharray', '4 3');
    }
    line.append(s('title', {}, `${c.name}: ${c.cells[c.cells.length - 1]}`));
    el.append(line);
    if (c.terminated) {
      const i = c.values.length - 1;
      el.append(
        s(
          'text',
          {
            x: x(i),
            y: y(c.values[i]) + 4,
            'text-anchor': 'middle',
            fill: color,
            'font-size': 12,
            class: 'amlrun-ended'
          },
          '×'
        )
      );
    }
  });
  return el;
}

/** Parallel coordinates: one axis per parameter and the metric; each child a line through its positions. */
function sweepParallel(sw: SweepView): SVGElement {
  const [W, H, L, R, T, B] = [420, 220, 30, 30, 18, 22];
  const el = s('svg', { width: W, height: H, class: 'amlrun-sweep-parallel' });
  const n = sw.axes.length;
  const x = (i: number) => (n === 1 ? W / 2 : L + ((W - L - R) * i) / (n - 1));
  const y = (p: number) => T + (H - T - B) * (1 - p);
  sw.axes.forEach((ax, i) => {
    el.append(
      s('line', { x1: x(i), y1: T, x2: x(i), y2: H - B, class: 'amlrun-axis' })
    );
    el.append(
      s(
        'text',
        { x: x(i), y: H - 6, 'text-anchor': 'middle', 'font-size': 10 },
        ax.name
      )
    );
    for (const [p, label] of ax.ticks) {
      el.append(
        s(
          'text',
          { x: x(i) + 3, y: y(p) + 3, 'font-size': 9, class: 'amlrun-tick' },
          label
        )
      );
    }
  });
  sw.children.forEach(c => {
    const pts = c.coords
      .map((p, i) => (p === null ? null : `${x(i)},${y(p)}`))
      .filter(p => p !== null);
    if (pts.length < 2) {
      return;
    }
    const line = s('polyline', {
      points: pts.join(' '),
      fill: 'none',
      stroke: c.color,
      'stroke-width': 1.2,
      opacity: c.terminated ? 0.45 : 0.9,
      'data-run': c.run_id
    });
    if (c.terminated) {
      line.setAttribute('stroke-dasharray', '4 3');
    }
    line.append(s('title', {}, c.name));
    el.append(line);
  });
  return el;
}

function sweepSection(
  sw: SweepView,
  sort: SortState,
  onSort: (col: number) => void
): HTMLElement[] {
  const chart = (title: string, svg: SVGElement) =>
    h(
      'div',
      { class: 'amlrun-chart' },
      h('div', { class: 'amlrun-chart-title' }, title),
      svg
    );
  return [
    h('div', { class: 'amlrun-section' }, sw.title),
    sweepTable(sw, sort, onSort),
    h(
      'div',
      { class: 'amlrun-charts amlrun-sweep-charts' },
      chart(`${sw.metric} per child (dashed, ×: ended early)`, sweepLines(sw)),
      chart('Parameters vs ' + sw.metric, sweepParallel(sw))
    )
  ];
}

// ---------------------------------------------------------------- charts
/** A growable pair of Float64Arrays: appending n points costs O(n) (amortised), never a copy of the history. */
class Series {
  xs = new Float64Array(1024);
  ys = new Float64Array(1024);
  n = 0;

  push(xs: ArrayLike<number>, ys: ArrayLike<number>): void {
    const need = this.n + ys.length;
    if (need > this.xs.length) {
      let cap = this.xs.length;
      while (cap < need) {
        cap *= 2;
      }
      const nx = new Float64Array(cap);
      const ny = new Float64Array(cap);
      nx.set(this.xs.subarray(0, this.n));
      ny.set(this.ys.subarray(0, this.n));
      this.xs = nx;
      this.ys = ny;
    }
    this.xs.set(xs, this.n);
    this.ys.set(ys, this.n);
    this.n += ys.length;
  }

  reindex(): void {
    for (let j = 0; j < this.n; j++) {
      this.xs[j] = j;
    }
  }

  data(): uPlot.AlignedData {
    return [this.xs.subarray(0, this.n), this.ys.subarray(0, this.n)];
  }
}

class Chart {
  constructor(
    parent: HTMLElement,
    readonly name: string,
    readonly kind: string,
    readonly chartTitle: string = name,
    readonly axisLabel: string = chartTitle
  ) {
    this.title = h('span', { class: 'amlrun-chart-value' });
    this.root = h(
      'div',
      {
        class: 'amlrun-chart',
        'data-metric': name,
        'data-kind': kind,
        'data-points': '0'
      },
      h(
        'div',
        { class: 'amlrun-chart-title' },
        h('b', {}, chartTitle),
        ' ',
        this.title
      )
    );
    this.plotEl = h('div');
    this.root.append(this.plotEl);
    parent.append(this.root);
  }

  private ensurePlot(): uPlot {
    if (this.plot) {
      return this.plot;
    }
    // Steps and list indexes are whole numbers: integer ticks only, labelled on both axes.
    const integerTicks = (_u: uPlot, splits: number[]) =>
      splits.map(v => (Number.isInteger(v) ? String(v) : ''));
    const width = Math.max(
      260,
      Math.min(420, (this.root.parentElement?.clientWidth || 420) - 16)
    );
    this.plot = new uPlot(
      {
        width,
        height: 180,
        legend: { show: false },
        cursor: { drag: { x: true, y: false } },
        scales: { x: { time: false } },
        axes: [
          {
            size: 40,
            label: this.kind === 'list' ? 'index' : 'step',
            labelSize: 14,
            values: integerTicks
          },
          { size: 56, label: this.axisLabel, labelSize: 14 }
        ],
        series: [
          {},
          {
            label: this.chartTitle,
            stroke: '#1f77b4',
            width: 1.5,
            points: { show: false }
          }
        ]
      },
      this.series.data(),
      this.plotEl
    );
    return this.plot;
  }

  apply(part: ChartPoints): void {
    if (part.replace) {
      this.series = new Series();
    }
    if (part.reindex) {
      this.series.reindex();
    }
    this.series.push(part.xs, part.ys);
    if (part.label !== undefined) {
      this.label = part.label;
    }
    this.dirty = true;
  }

  draw(): void {
    if (!this.dirty) {
      return;
    }
    this.dirty = false;
    this.root.setAttribute('data-points', String(this.series.n));
    this.title.textContent = this.label;
    // A single value (lr, final accuracy) is shown as its value, the kernel's label; a chart from two points on.
    const single = this.series.n < CHART_MIN_POINTS;
    this.root.classList.toggle('amlrun-chart-single', single);
    if (single) {
      return;
    }
    this.ensurePlot().setData(this.series.data());
  }

  dispose(): void {
    this.plot?.destroy();
    this.root.remove();
  }

  readonly root: HTMLElement;
  private title: HTMLElement;
  private plotEl: HTMLElement;
  private series = new Series();
  private label = '';
  private plot: uPlot | null = null;
  private dirty = true;
}

class LogBuffer {
  head = 0; // first byte we hold
  end = 0; // byte after the last one we hold
  parts: string[] = [];

  text(): string {
    return this.parts.join('');
  }
}

// ---------------------------------------------------------------- the view
export class RunDetailsView implements IViewSink {
  constructor(
    readonly el: HTMLElement,
    readonly transport: IRunTransport,
    readonly openNotebook?: NotebookOpener
  ) {
    this.root = h('div', {
      class: ROOT_CLASS,
      'data-transport': transport.kind
    });
    this.header = h('div', { class: 'amlrun-header' });
    this.errorBox = h('pre', { class: 'amlrun-error', hidden: '' });
    this.metricsEl = h('div', { class: 'amlrun-charts' });
    this.tablesEl = h('div', { class: 'amlrun-tables' });
    this.imagesEl = h('div', { class: 'amlrun-images' });
    // The driver's system/... samples (CPU, memory, disk, GPU): their own heading, shown once one arrives.
    this.systemHead = h(
      'div',
      { class: 'amlrun-section amlrun-system-head', hidden: '' },
      'System'
    );
    this.systemEl = h('div', { class: 'amlrun-charts amlrun-system' });
    this.noMetrics = h('div', { class: 'amlrun-empty' }, 'No metrics yet.');
    this.logSelect = h('select', {
      class: 'amlrun-log-select',
      onchange: () => {
        this.userPicked = true;
        this.selectedLog = this.logSelect.value;
        this.showLog();
      }
    }) as HTMLSelectElement;
    this.logMore = h(
      'button',
      {
        class: 'amlrun-log-more',
        hidden: '',
        onclick: () => this.loadEarlier()
      },
      'Load earlier output'
    ) as HTMLButtonElement;
    this.logPre = h('pre', { class: 'amlrun-log' });
    this.childrenEl = h('div', { class: 'amlrun-children' });
    this.root.append(
      this.header,
      this.errorBox,
      h('div', { class: 'amlrun-section' }, 'Metrics'),
      this.noMetrics,
      this.metricsEl,
      this.tablesEl,
      this.imagesEl,
      this.systemHead,
      this.systemEl,
      this.childrenEl,
      h(
        'div',
        { class: 'amlrun-section' },
        'Logs ',
        this.logSelect,
        ' ',
        this.logMore
      ),
      this.logPre
    );
    el.append(this.root);
    this.renderHeader();
    this.renderLogFiles();
    this.renderChildren();
    transport.connect(this);
  }

  /** The run's status as the view model last said (its v1 name), '' before the first answer. */
  get status(): string {
    return this.state.header?.status.status ?? this.state.status;
  }

  /** Whether the run may still change (not terminal, or not known yet). */
  get isLive(): boolean {
    return !(this.state.header?.status.terminal ?? false);
  }

  // -------------------------------------------------------------- IViewSink
  setState(state: Partial<ViewState>): void {
    Object.assign(this.state, state);
    if ('header' in state || 'status' in state) {
      this.renderHeader();
    } else if ('duration' in state) {
      this.renderDuration();
    }
    if ('logs' in state) {
      this.renderLogFiles();
    }
    if ('children' in state) {
      this.renderChildren();
    }
  }

  applyDelta(delta: ViewDelta): void {
    if (delta.reset) {
      this.clear();
    }
    for (const part of delta.charts) {
      const charts = part.kind === 'list' ? this.listCharts : this.charts;
      let chart = charts.get(part.name);
      if (!chart) {
        const system = part.section === 'system';
        chart = new Chart(
          system ? this.systemEl : this.metricsEl,
          part.name,
          part.kind,
          part.title || part.name,
          part.axis || part.title || part.name
        );
        this.systemHead.hidden &&= !system;
        charts.set(part.name, chart);
      }
      chart.apply(part);
    }
    for (const t of delta.tables) {
      this.tables.set(t.name, t);
    }
    for (const img of delta.images) {
      this.images.set(img.name, img);
    }
    this.tablesDirty ||= delta.tables.length > 0;
    this.imagesDirty ||= delta.images.length > 0;
    for (const chunk of delta.logs) {
      this.appendLog(chunk);
    }
    this.noMetrics.hidden = Boolean(delta.has_metrics);
    this.schedule();
  }

  prependLog(chunk: LogChunkMsg | null): void {
    this.logMore.disabled = false;
    if (!chunk) {
      return;
    }
    const buf = this.logs.get(chunk.name);
    if (!buf || chunk.end !== buf.head) {
      return;
    }
    buf.parts.unshift(chunk.text);
    buf.head = chunk.start;
    if (this.shownLog === chunk.name) {
      const p = this.logPre;
      const fromBottom = p.scrollHeight - p.scrollTop;
      p.prepend(document.createTextNode(chunk.text));
      p.scrollTop = p.scrollHeight - fromBottom; // keep what the user looked at in place
      this.logMore.hidden = buf.head <= 0;
    }
  }

  // -------------------------------------------------------------- header
  private renderHeader(): void {
    const hv: HeaderView | null = this.state.header;
    const status = hv ? hv.status : undefined;
    this.root.setAttribute(
      'data-status',
      status ? status.status : this.state.status
    );
    this.durationEl = h('span', { class: 'amlrun-duration' });
    const cancel = hv
      ? hv.cancel
      : { enabled: false, label: 'Cancel', pending_label: '' };
    const pending = this.cancelAsked && cancel.enabled;
    const button = h(
      'button',
      {
        class: 'amlrun-cancel',
        onclick: () => {
          this.cancelAsked = true;
          button.disabled = true;
          button.textContent = cancel.pending_label;
          this.transport.cancel();
        }
      },
      pending ? cancel.pending_label : cancel.label
    ) as HTMLButtonElement;
    if (!cancel.enabled || pending) {
      button.disabled = true;
    }
    const link =
      hv && hv.portal_url
        ? h(
            'a',
            { href: hv.portal_url, target: '_blank', rel: 'noopener' },
            'View run ↗'
          )
        : '';
    const props = h('table', { class: 'amlrun-props' });
    for (const f of hv ? hv.fields : []) {
      const value =
        f.kind === 'status'
          ? badge(status)
          : f.kind === 'duration'
            ? this.durationEl
            : f.text;
      props.append(h('tr', {}, h('th', {}, f.label), h('td', {}, value)));
    }
    this.header.replaceChildren(
      h(
        'div',
        { class: 'amlrun-title' },
        h('b', {}, hv ? hv.title : ''),
        ' ',
        badge(status),
        ' ',
        link,
        ' ',
        button
      ),
      originLine(hv?.origin, this.openNotebook),
      props
    );
    this.errorBox.textContent = hv ? hv.error : '';
    this.errorBox.hidden = !(hv && hv.error);
    this.renderDuration();
  }

  private renderDuration(): void {
    this.durationEl.textContent = this.state.duration || '';
  }

  // -------------------------------------------------------------- metrics, tables, images
  private clear(): void {
    for (const c of this.charts.values()) {
      c.dispose();
    }
    for (const c of this.listCharts.values()) {
      c.dispose();
    }
    this.charts.clear();
    this.listCharts.clear();
    this.systemHead.hidden = true;
    this.tables.clear();
    this.images.clear();
    this.logs.clear();
    this.tablesEl.replaceChildren();
    this.imagesEl.replaceChildren();
    this.logPre.replaceChildren();
    this.shownLog = null;
  }

  private schedule(): void {
    if (this.frame) {
      return;
    }
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  private draw(): void {
    for (const c of this.charts.values()) {
      c.draw();
    }
    for (const c of this.listCharts.values()) {
      c.draw();
    }
    if (this.tablesDirty) {
      this.tablesDirty = false;
      this.renderTables();
    }
    if (this.imagesDirty) {
      this.imagesDirty = false;
      this.renderImages();
    }
  }

  private renderTables(): void {
    const out = [];
    for (const t of this.tables.values()) {
      const title = h(
        'div',
        { class: 'amlrun-chart-title' },
        h('b', {}, t.title),
        t.note ? ` ${t.note}` : ''
      );
      out.push(h('div', { class: 'amlrun-table-box' }, title, table(t)));
    }
    this.tablesEl.replaceChildren(...out);
  }

  private renderImages(): void {
    const out = [];
    for (const img of this.images.values()) {
      out.push(
        h(
          'figure',
          { class: 'amlrun-image', 'data-image': img.name },
          img.src
            ? h('img', { src: img.src, alt: img.name })
            : h('div', { class: 'amlrun-empty' }, '(image not available)'),
          h('figcaption', {}, img.name)
        )
      );
    }
    this.imagesEl.replaceChildren(...out);
  }

  // -------------------------------------------------------------- logs
  private renderLogFiles(): void {
    const lv: LogsView = this.state.logs || { files: [], main: '' };
    const names = lv.files.map(f => f.name);
    const current = this.logSelect.value;
    this.logSelect.replaceChildren(
      ...lv.files.map(f => h('option', { value: f.name }, f.label))
    );
    if (
      !this.userPicked ||
      this.selectedLog === null ||
      !names.includes(this.selectedLog)
    ) {
      this.selectedLog = lv.main || null;
    }
    if (this.selectedLog) {
      this.logSelect.value = this.selectedLog;
    }
    if (this.logSelect.value !== current) {
      this.showLog();
    }
  }

  private appendLog(chunk: LogChunkMsg): void {
    let buf = this.logs.get(chunk.name);
    if (!buf || chunk.reset) {
      buf = new LogBuffer();
      buf.head = chunk.head ?? chunk.start;
      buf.end = chunk.start;
      this.logs.set(chunk.name, buf);
      if (this.shownLog === chunk.name) {
        this.shownLog = null;
      }
    }
    if (chunk.end <= buf.end && !chunk.reset) {
      return; // already have it
    }
    buf.parts.push(chunk.text);
    buf.end = chunk.end;
    if (!this.selectedLog) {
      this.renderLogFiles();
    }
    if (this.shownLog === chunk.name) {
      this.appendShown(chunk.text);
    } else if (this.selectedLog === chunk.name) {
      this.showLog();
    }
  }

  private atBottom(): boolean {
    const p = this.logPre;
    return p.scrollHeight - p.scrollTop - p.clientHeight < 8;
  }

  private appendShown(text: string): void {
    const stick = this.atBottom();
    this.logPre.append(document.createTextNode(text));
    if (stick) {
      this.logPre.scrollTop = this.logPre.scrollHeight;
    }
  }

  private showLog(): void {
    const name = this.selectedLog;
    const buf = name ? this.logs.get(name) : undefined;
    this.shownLog = name;
    this.logPre.replaceChildren(document.createTextNode(buf ? buf.text() : ''));
    this.logPre.setAttribute('data-log', name || '');
    this.logPre.scrollTop = this.logPre.scrollHeight;
    this.logMore.hidden = !(buf && buf.head > 0 && this.transport.loadEarlier);
  }

  private loadEarlier(): void {
    const name = this.selectedLog;
    const buf = name ? this.logs.get(name) : undefined;
    if (!name || !buf || buf.head <= 0 || !this.transport.loadEarlier) {
      return;
    }
    this.logMore.disabled = true;
    this.transport.loadEarlier(name, buf.head);
  }

  // -------------------------------------------------------------- children
  private renderChildren(): void {
    const t = this.state.children;
    if (t && t.sweep && t.sweep.children.length) {
      const sweep = t.sweep;
      const onSort = (col: number) => {
        const same = this.sweepSort !== null && this.sweepSort.col === col;
        this.sweepSort = {
          col,
          dir: same && this.sweepSort ? -this.sweepSort.dir : 1
        };
        this.renderChildren();
      };
      this.childrenEl.replaceChildren(
        ...sweepSection(sweep, this.sweepSort, onSort)
      );
      return;
    }
    if (!t || !t.rows || !t.rows.length) {
      this.childrenEl.replaceChildren();
      return;
    }
    this.childrenEl.replaceChildren(
      h('div', { class: 'amlrun-section' }, t.title),
      table(t)
    );
  }

  dispose(): void {
    if (this.frame) {
      cancelAnimationFrame(this.frame);
    }
    for (const c of this.charts.values()) {
      c.dispose();
    }
    for (const c of this.listCharts.values()) {
      c.dispose();
    }
    this.transport.dispose();
    this.root.remove();
  }

  readonly root: HTMLElement;
  private state: ViewState = {
    status: '',
    header: null,
    duration: '',
    logs: null,
    children: null
  };
  private header: HTMLElement;
  private errorBox: HTMLElement;
  private metricsEl: HTMLElement;
  private tablesEl: HTMLElement;
  private imagesEl: HTMLElement;
  private systemHead: HTMLElement;
  private systemEl: HTMLElement;
  private noMetrics: HTMLElement;
  private logSelect: HTMLSelectElement;
  private logMore: HTMLButtonElement;
  private logPre: HTMLElement;
  private childrenEl: HTMLElement;
  private durationEl: HTMLElement = document.createElement('span');
  private charts = new Map<string, Chart>(); // run.log metrics
  private listCharts = new Map<string, Chart>(); // run.log_list metrics
  private tables = new Map<string, TableView>();
  private images = new Map<string, ImageView>();
  private logs = new Map<string, LogBuffer>();
  private selectedLog: string | null = null;
  private shownLog: string | null = null;
  private userPicked = false;
  private cancelAsked = false;
  private frame = 0;
  private tablesDirty = false;
  private imagesDirty = false;
  private sweepSort: SortState = null;
}

/** Draw a run into `el` from `transport`; the view's `dispose` ends both. */
export function mountRunView(
  el: HTMLElement,
  transport: IRunTransport,
  openNotebook?: NotebookOpener
): RunDetailsView {
  return new RunDetailsView(el, transport, openNotebook);
}
