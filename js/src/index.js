// RunDetails front end (anywidget ESM). It only draws: what to show, and every text and number shown, comes from the
// kernel's view model (jupyter_amlrun/view/model.py). This file keeps the chart points it was sent (the kernel sends
// only what is new) and hands them to uPlot. The wire is jupyter_amlrun/notebook/protocol.py; the names and typedefs
// below mirror it and tests/notebook/test_protocol.py checks that they do.
import uPlot from "uplot";

/** Message type names (protocol.py MSG_*). */
const MSG = Object.freeze({
  DELTA: "delta",
  LOG_OLDER: "log_older",
  HELLO: "hello",
  BYE: "bye",
  CANCEL: "cancel",
  LOG_MORE: "log_more",
});

/** Synced state names (protocol.py STATE_*). */
const STATE = Object.freeze({
  RUN_ID: "run_id",
  STATUS: "status",
  HEADER: "header",
  DURATION: "duration",
  LOGS: "logs",
  CHILDREN: "children",
});

/** A metric with fewer points is drawn as its value, not a chart (runview.py CHART_MIN_POINTS). */
const CHART_MIN_POINTS = 2;

// ---------------------------------------------------------------------- the wire (mirrors protocol.py / runview.py)
/**
 * @typedef {Object} StatusView
 * @property {string} status
 * @property {string} label
 * @property {string} css_class
 * @property {string} color
 * @property {boolean} terminal
 */
/** @typedef {string | StatusView} Cell */
/**
 * @typedef {Object} FieldView
 * @property {string} label
 * @property {string} text
 * @property {string} kind
 */
/**
 * @typedef {Object} CancelView
 * @property {boolean} enabled
 * @property {string} label
 * @property {string} pending_label
 */
/**
 * @typedef {Object} HeaderView
 * @property {string} title
 * @property {string} run_id
 * @property {StatusView} status
 * @property {FieldView[]} fields
 * @property {string} portal_url
 * @property {string} error
 * @property {CancelView} cancel
 */
/**
 * @typedef {Object} LogFileView
 * @property {string} name
 * @property {string} label
 */
/**
 * @typedef {Object} LogsView
 * @property {LogFileView[]} files
 * @property {string} main
 */
/**
 * @typedef {Object} TableView
 * @property {string} name
 * @property {string} title
 * @property {string} note
 * @property {string[]} columns
 * @property {Cell[][]} rows
 */
/**
 * @typedef {Object} ImageView
 * @property {string} name
 * @property {string} src
 */
/**
 * @typedef {Object} SeriesPart
 * @property {string} name
 * @property {number} n
 * @property {number} buffer
 * @property {boolean} replace
 * @property {boolean} reindex
 * @property {string} label
 */
/**
 * @typedef {Object} LogChunkMsg
 * @property {string} name
 * @property {string} text
 * @property {number} start
 * @property {number} end
 * @property {number} head
 * @property {boolean} reset
 */
/**
 * @typedef {Object} DeltaMsg
 * @property {"delta"} type
 * @property {boolean} reset
 * @property {SeriesPart[]} scalars
 * @property {SeriesPart[]} lists
 * @property {TableView[]} tables
 * @property {ImageView[]} images
 * @property {LogChunkMsg[]} logs
 * @property {boolean} has_metrics
 */
/**
 * @typedef {Object} LogOlderMsg
 * @property {"log_older"} type
 * @property {LogChunkMsg | null} chunk
 */
/**
 * @typedef {Object} HelloMsg
 * @property {"hello"} type
 */
/**
 * @typedef {Object} ByeMsg
 * @property {"bye"} type
 */
/**
 * @typedef {Object} CancelMsg
 * @property {"cancel"} type
 */
/**
 * @typedef {Object} LogMoreMsg
 * @property {"log_more"} type
 * @property {string} name
 * @property {number} before
 */

// ---------------------------------------------------------------------- drawing helpers
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/** @param {StatusView | undefined} s */
function badge(s) {
  const v = s || { css_class: "wait", color: "", label: "…" };
  return h("span", { class: `amlrun-status amlrun-${v.css_class}`, style: v.color ? `background:${v.color}` : null }, v.label);
}

/** @param {Cell} c */
function cell(c) {
  return typeof c === "string" ? c : badge(c);
}

/** @param {TableView} t */
function table(t) {
  const el = h("table", { class: "amlrun-table", "data-table": t.name });
  el.append(h("tr", {}, ...t.columns.map((c) => h("th", {}, c))));
  for (const row of t.rows) el.append(h("tr", {}, ...row.map((c) => h("td", {}, cell(c)))));
  return el;
}

// ---------------------------------------------------------------------- a sweep's children (runview.py SweepView)
/**
 * @typedef {Object} SweepChildView
 * @property {string} run_id
 * @property {string} name
 * @property {StatusView} status
 * @property {boolean} terminated
 * @property {number[]} values
 * @property {number | null} best
 * @property {Cell[]} cells
 * @property {(number | string | null)[]} sort
 * @property {(number | null)[]} coords
 */
/**
 * @typedef {Object} SweepView
 * @property {string} metric
 * @property {string} goal
 * @property {string} title
 * @property {string[]} columns
 * @property {SweepChildView[]} children
 * @property {{name: string, ticks: [number, string][]}[]} axes
 */
const SVG = "http://www.w3.org/2000/svg";
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

function s(tag, attrs = {}, text = null) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== null) el.textContent = text;
  return el;
}

/** The sortable table: a click on a column header sorts by it (again: the other way). */
function sweepTable(sw, state) {
  const rows = sw.children.map((c, i) => ({ c, i }));
  const col = state.sweepSort ? state.sweepSort.col : -1;
  if (col >= 0) {
    const dir = state.sweepSort.dir;
    rows.sort((a, b) => {
      const x = a.c.sort[col];
      const y = b.c.sort[col];
      if (x === null || x === undefined) return 1; // no value: last either way
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : x > y ? 1 : 0) * dir || a.i - b.i;
    });
  }
  const el = h("table", { class: "amlrun-table amlrun-sweep-table", "data-table": "sweep" });
  const head = sw.columns.map((name, k) =>
    h(
      "th",
      {
        class: "amlrun-sortable",
        title: "sort",
        onclick: () => {
          const same = state.sweepSort && state.sweepSort.col === k;
          state.sweepSort = { col: k, dir: same ? -state.sweepSort.dir : 1 };
          state.renderChildren();
        },
      },
      name + (k === col ? (state.sweepSort.dir > 0 ? " ▲" : " ▼") : ""),
    ),
  );
  el.append(h("tr", {}, ...head));
  for (const { c } of rows) {
    el.append(h("tr", { "data-run": c.run_id, class: c.terminated ? "amlrun-terminated" : null }, ...c.cells.map((x) => h("td", {}, cell(x)))));
  }
  return el;
}

/** The primary metric per child over its intervals; children a policy ended are dashed and end with an x. */
function sweepLines(sw) {
  const W = 420, H = 220, L = 46, R = 8, T = 8, B = 26;
  const all = sw.children.flatMap((c) => c.values);
  const el = s("svg", { width: W, height: H, class: "amlrun-sweep-lines" });
  if (!all.length) return el;
  let lo = Math.min(...all), hi = Math.max(...all);
  if (hi === lo) { lo -= 0.5; hi += 0.5; }
  const n = Math.max(2, ...sw.children.map((c) => c.values.length));
  const x = (i) => L + ((W - L - R) * i) / (n - 1);
  const y = (v) => T + (H - T - B) * (1 - (v - lo) / (hi - lo));
  el.append(s("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#999" }));
  el.append(s("line", { x1: L, y1: T, x2: L, y2: H - B, stroke: "#999" }));
  el.append(s("text", { x: L - 4, y: T + 8, "text-anchor": "end", "font-size": 10 }, hi.toPrecision(3)));
  el.append(s("text", { x: L - 4, y: H - B, "text-anchor": "end", "font-size": 10 }, lo.toPrecision(3)));
  el.append(s("text", { x: (L + W) / 2, y: H - 6, "text-anchor": "middle", "font-size": 10 }, "interval"));
  sw.children.forEach((c, k) => {
    if (!c.values.length) return;
    const color = PALETTE[k % PALETTE.length];
    const pts = c.values.map((v, i) => `${x(i)},${y(v)}`).join(" ");
    const line = s("polyline", { points: pts, fill: "none", stroke: color, "stroke-width": 1.5, "data-run": c.run_id });
    if (c.terminated) line.setAttribute("stroke-dasharray", "4 3");
    line.append(s("title", {}, `${c.name}: ${c.cells[c.cells.length - 1]}`));
    el.append(line);
    if (c.terminated) {
      const i = c.values.length - 1;
      el.append(s("text", { x: x(i), y: y(c.values[i]) + 4, "text-anchor": "middle", fill: color, "font-size": 12, class: "amlrun-ended" }, "×"));
    }
  });
  return el;
}

/** Parallel coordinates: one axis per parameter and the metric; each child a line through its positions. */
function sweepParallel(sw) {
  const W = 420, H = 220, L = 30, R = 30, T = 18, B = 22;
  const el = s("svg", { width: W, height: H, class: "amlrun-sweep-parallel" });
  const n = sw.axes.length;
  const x = (i) => (n === 1 ? W / 2 : L + ((W - L - R) * i) / (n - 1));
  const y = (p) => T + (H - T - B) * (1 - p);
  sw.axes.forEach((ax, i) => {
    el.append(s("line", { x1: x(i), y1: T, x2: x(i), y2: H - B, stroke: "#999" }));
    el.append(s("text", { x: x(i), y: H - 6, "text-anchor": "middle", "font-size": 10 }, ax.name));
    for (const [p, label] of ax.ticks) el.append(s("text", { x: x(i) + 3, y: y(p) + 3, "font-size": 9, fill: "#666" }, label));
  });
  sw.children.forEach((c, k) => {
    const pts = c.coords.map((p, i) => (p === null ? null : `${x(i)},${y(p)}`)).filter((p) => p !== null);
    if (pts.length < 2) return;
    const line = s("polyline", { points: pts.join(" "), fill: "none", stroke: PALETTE[k % PALETTE.length], "stroke-width": 1.2, opacity: c.terminated ? 0.45 : 0.9, "data-run": c.run_id });
    if (c.terminated) line.setAttribute("stroke-dasharray", "4 3");
    line.append(s("title", {}, c.name));
    el.append(line);
  });
  return el;
}

/** @param {SweepView} sw */
function sweepSection(sw, state) {
  return [
    h("div", { class: "amlrun-section" }, sw.title),
    sweepTable(sw, state),
    h(
      "div",
      { class: "amlrun-charts amlrun-sweep-charts" },
      h("div", { class: "amlrun-chart" }, h("div", { class: "amlrun-chart-title" }, `${sw.metric} per child (dashed, ×: ended early)`), sweepLines(sw)),
      h("div", { class: "amlrun-chart" }, h("div", { class: "amlrun-chart-title" }, "Parameters vs " + sw.metric), sweepParallel(sw)),
    ),
  ];
}

/** @param {DataView | ArrayBuffer} buf */
function float64(buf) {
  return new Float64Array(buf.buffer ? buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) : buf);
}

// A growable pair of Float64Arrays: appending n points costs O(n) (amortised), never a copy of the history.
class Series {
  constructor() {
    this.xs = new Float64Array(1024);
    this.ys = new Float64Array(1024);
    this.n = 0;
  }
  push(xs, ys) {
    const need = this.n + ys.length;
    if (need > this.xs.length) {
      let cap = this.xs.length;
      while (cap < need) cap *= 2;
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
  reindex() {
    for (let j = 0; j < this.n; j++) this.xs[j] = j;
  }
  data() {
    return [this.xs.subarray(0, this.n), this.ys.subarray(0, this.n)];
  }
}

class Chart {
  constructor(parent, name, kind) {
    this.name = name;
    this.kind = kind;
    this.series = new Series();
    this.label = "";
    this.title = h("span", { class: "amlrun-chart-value" });
    this.root = h(
      "div",
      { class: "amlrun-chart", "data-metric": name, "data-kind": kind, "data-points": "0" },
      h("div", { class: "amlrun-chart-title" }, h("b", {}, name), " ", this.title),
    );
    this.plotEl = h("div");
    this.root.append(this.plotEl);
    parent.append(this.root);
    this.plot = null;
    this.dirty = true;
  }
  ensurePlot() {
    if (this.plot) return;
    // Steps and list indexes are whole numbers: integer ticks only, labelled on both axes.
    const integerTicks = (u, splits) => splits.map((v) => (Number.isInteger(v) ? String(v) : ""));
    const width = Math.max(260, Math.min(420, (this.root.parentElement?.clientWidth || 420) - 16));
    this.plot = new uPlot(
      {
        width,
        height: 180,
        legend: { show: false },
        cursor: { drag: { x: true, y: false } },
        scales: { x: { time: false } },
        axes: [
          { size: 40, label: this.kind === "list" ? "index" : "step", labelSize: 14, values: integerTicks },
          { size: 56, label: this.name, labelSize: 14 },
        ],
        series: [{}, { label: this.name, stroke: "#1f77b4", width: 1.5, points: { show: false } }],
      },
      this.series.data(),
      this.plotEl,
    );
  }
  /** @param {SeriesPart} part */
  apply(part, xs, ys) {
    if (part.replace) this.series = new Series();
    if (part.reindex) this.series.reindex();
    this.series.push(xs, ys);
    if (part.label !== undefined) this.label = part.label;
    this.dirty = true;
  }
  draw() {
    if (!this.dirty) return;
    this.dirty = false;
    this.root.setAttribute("data-points", String(this.series.n));
    this.title.textContent = this.label;
    // A single value (lr, final accuracy) is shown as its value, the kernel's label; a chart from two points on.
    const single = this.series.n < CHART_MIN_POINTS;
    this.root.classList.toggle("amlrun-chart-single", single);
    if (single) return;
    this.ensurePlot();
    this.plot.setData(this.series.data());
  }
  dispose() {
    if (this.plot) this.plot.destroy();
    this.root.remove();
  }
}

class LogBuffer {
  constructor() {
    this.head = 0; // first byte we hold
    this.end = 0; // byte after the last one we hold
    this.parts = [];
  }
  text() {
    return this.parts.join("");
  }
}

class RunDetailsView {
  constructor(model, el) {
    this.model = model;
    this.el = el;
    this.charts = new Map(); // run.log metrics
    this.listCharts = new Map(); // run.log_list metrics
    this.tables = new Map(); // name -> TableView
    this.images = new Map(); // name -> ImageView
    this.logs = new Map();
    this.selectedLog = null;
    this.userPicked = false;
    this.cancelAsked = false;
    this.frame = 0;
    this.build();
    this.onMsg = (msg, buffers) => this.handle(msg, buffers);
    this.onHeader = () => this.renderHeader();
    this.onDuration = () => this.renderDuration();
    this.onLogs = () => this.renderLogFiles();
    this.onChildren = () => this.renderChildren();
    model.on("msg:custom", this.onMsg);
    model.on(`change:${STATE.HEADER}`, this.onHeader);
    model.on(`change:${STATE.DURATION}`, this.onDuration);
    model.on(`change:${STATE.LOGS}`, this.onLogs);
    model.on(`change:${STATE.CHILDREN}`, this.onChildren);
    this.renderHeader();
    this.renderLogFiles();
    this.renderChildren();
    this.send({ type: MSG.HELLO });
  }

  /** @param {HelloMsg | ByeMsg | CancelMsg | LogMoreMsg} msg */
  send(msg) {
    this.model.send(msg);
  }

  build() {
    this.root = h("div", { class: "amlrun-rd" });
    this.header = h("div", { class: "amlrun-header" });
    this.errorBox = h("pre", { class: "amlrun-error", hidden: "" });
    this.metricsEl = h("div", { class: "amlrun-charts" });
    this.tablesEl = h("div", { class: "amlrun-tables" });
    this.imagesEl = h("div", { class: "amlrun-images" });
    this.noMetrics = h("div", { class: "amlrun-empty" }, "No metrics yet.");
    this.logSelect = h("select", {
      class: "amlrun-log-select",
      onchange: () => {
        this.userPicked = true;
        this.selectedLog = this.logSelect.value;
        this.showLog();
      },
    });
    this.logMore = h(
      "button",
      { class: "amlrun-log-more", hidden: "", onclick: () => this.loadEarlier() },
      "Load earlier output",
    );
    this.logPre = h("pre", { class: "amlrun-log" });
    this.childrenEl = h("div", { class: "amlrun-children" });
    this.root.append(
      this.header,
      this.errorBox,
      h("div", { class: "amlrun-section" }, "Metrics"),
      this.noMetrics,
      this.metricsEl,
      this.tablesEl,
      this.imagesEl,
      this.childrenEl,
      h("div", { class: "amlrun-section" }, "Logs ", this.logSelect, " ", this.logMore),
      this.logPre,
    );
    this.el.append(this.root);
  }

  // ------------------------------------------------------------------ header
  renderHeader() {
    /** @type {HeaderView | undefined} */
    const hv = this.model.get(STATE.HEADER);
    const status = hv ? hv.status : undefined;
    this.root.setAttribute("data-status", status ? status.status : this.model.get(STATE.STATUS) || "");
    this.durationEl = h("span", { class: "amlrun-duration" });
    const cancel = hv ? hv.cancel : { enabled: false, label: "Cancel", pending_label: "" };
    const pending = this.cancelAsked && cancel.enabled;
    this.cancelBtn = h(
      "button",
      {
        class: "amlrun-cancel",
        onclick: () => {
          this.cancelAsked = true;
          this.cancelBtn.disabled = true;
          this.cancelBtn.textContent = cancel.pending_label;
          this.send({ type: MSG.CANCEL });
        },
      },
      pending ? cancel.pending_label : cancel.label,
    );
    if (!cancel.enabled || pending) this.cancelBtn.disabled = true;
    const link = hv && hv.portal_url ? h("a", { href: hv.portal_url, target: "_blank", rel: "noopener" }, "View run ↗") : "";
    const props = h("table", { class: "amlrun-props" });
    for (const f of hv ? hv.fields : []) {
      const value = f.kind === "status" ? badge(status) : f.kind === "duration" ? this.durationEl : f.text;
      props.append(h("tr", {}, h("th", {}, f.label), h("td", {}, value)));
    }
    this.header.replaceChildren(
      h("div", { class: "amlrun-title" }, h("b", {}, hv ? hv.title : ""), " ", badge(status), " ", link, " ", this.cancelBtn),
      props,
    );
    this.errorBox.textContent = hv ? hv.error : "";
    this.errorBox.hidden = !(hv && hv.error);
    this.renderDuration();
  }

  renderDuration() {
    if (this.durationEl) this.durationEl.textContent = this.model.get(STATE.DURATION) || "";
  }

  // ------------------------------------------------------------------ deltas
  handle(msg, buffers) {
    if (!msg || typeof msg !== "object") return;
    if (msg.type === MSG.DELTA) this.applyDelta(msg, buffers || []);
    else if (msg.type === MSG.LOG_OLDER) this.prependLog(msg.chunk);
  }

  /** @param {DeltaMsg} msg */
  applyDelta(msg, buffers) {
    if (msg.reset) this.clear();
    for (const [parts, charts, kind] of [
      [msg.scalars, this.charts, "scalar"],
      [msg.lists, this.listCharts, "list"],
    ]) {
      for (const part of parts || []) {
        const arr = float64(buffers[part.buffer]);
        let chart = charts.get(part.name);
        if (!chart) {
          chart = new Chart(this.metricsEl, part.name, kind);
          charts.set(part.name, chart);
        }
        chart.apply(part, arr.subarray(0, part.n), arr.subarray(part.n, 2 * part.n));
      }
    }
    for (const t of msg.tables || []) this.tables.set(t.name, t);
    for (const img of msg.images || []) this.images.set(img.name, img);
    if ((msg.tables || []).length) this.tablesDirty = true;
    if ((msg.images || []).length) this.imagesDirty = true;
    for (const chunk of msg.logs || []) this.appendLog(chunk);
    this.noMetrics.hidden = Boolean(msg.has_metrics);
    this.schedule();
  }

  clear() {
    for (const c of this.charts.values()) c.dispose();
    for (const c of this.listCharts.values()) c.dispose();
    this.charts.clear();
    this.listCharts.clear();
    this.tables.clear();
    this.images.clear();
    this.logs.clear();
    this.tablesEl.replaceChildren();
    this.imagesEl.replaceChildren();
    this.logPre.replaceChildren();
    this.shownLog = null;
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  draw() {
    for (const c of this.charts.values()) c.draw();
    for (const c of this.listCharts.values()) c.draw();
    if (this.tablesDirty) {
      this.tablesDirty = false;
      this.renderTables();
    }
    if (this.imagesDirty) {
      this.imagesDirty = false;
      this.renderImages();
    }
  }

  renderTables() {
    const out = [];
    for (const t of this.tables.values()) {
      const title = h("div", { class: "amlrun-chart-title" }, h("b", {}, t.title), t.note ? ` ${t.note}` : "");
      out.push(h("div", { class: "amlrun-table-box" }, title, table(t)));
    }
    this.tablesEl.replaceChildren(...out);
  }

  renderImages() {
    const out = [];
    for (const img of this.images.values()) {
      out.push(
        h(
          "figure",
          { class: "amlrun-image", "data-image": img.name },
          img.src ? h("img", { src: img.src, alt: img.name }) : h("div", { class: "amlrun-empty" }, "(image not available)"),
          h("figcaption", {}, img.name),
        ),
      );
    }
    this.imagesEl.replaceChildren(...out);
  }

  // ------------------------------------------------------------------ logs
  renderLogFiles() {
    /** @type {LogsView} */
    const lv = this.model.get(STATE.LOGS) || { files: [], main: "" };
    const names = lv.files.map((f) => f.name);
    const current = this.logSelect.value;
    this.logSelect.replaceChildren(...lv.files.map((f) => h("option", { value: f.name }, f.label)));
    if (!this.userPicked || !names.includes(this.selectedLog)) this.selectedLog = lv.main || null;
    if (this.selectedLog) this.logSelect.value = this.selectedLog;
    if (this.logSelect.value !== current) this.showLog();
  }

  /** @param {LogChunkMsg} chunk */
  appendLog(chunk) {
    let buf = this.logs.get(chunk.name);
    if (!buf || chunk.reset) {
      buf = new LogBuffer();
      buf.head = chunk.head ?? chunk.start;
      buf.end = chunk.start;
      this.logs.set(chunk.name, buf);
      if (this.shownLog === chunk.name) this.shownLog = null;
    }
    if (chunk.end <= buf.end && !chunk.reset) return; // already have it
    buf.parts.push(chunk.text);
    buf.end = chunk.end;
    if (!this.selectedLog) this.renderLogFiles();
    if (this.shownLog === chunk.name) this.appendShown(chunk.text);
    else if (this.selectedLog === chunk.name) this.showLog();
  }

  atBottom() {
    const p = this.logPre;
    return p.scrollHeight - p.scrollTop - p.clientHeight < 8;
  }

  appendShown(text) {
    const stick = this.atBottom();
    this.logPre.append(document.createTextNode(text));
    if (stick) this.logPre.scrollTop = this.logPre.scrollHeight;
  }

  showLog() {
    const name = this.selectedLog;
    const buf = name ? this.logs.get(name) : null;
    this.shownLog = name;
    this.logPre.replaceChildren(document.createTextNode(buf ? buf.text() : ""));
    this.logPre.setAttribute("data-log", name || "");
    this.logPre.scrollTop = this.logPre.scrollHeight;
    this.logMore.hidden = !(buf && buf.head > 0);
  }

  loadEarlier() {
    const buf = this.logs.get(this.selectedLog);
    if (!buf || buf.head <= 0) return;
    this.logMore.disabled = true;
    this.send({ type: MSG.LOG_MORE, name: this.selectedLog, before: buf.head });
  }

  /** @param {LogChunkMsg | null} chunk */
  prependLog(chunk) {
    this.logMore.disabled = false;
    if (!chunk) return;
    const buf = this.logs.get(chunk.name);
    if (!buf || chunk.end !== buf.head) return;
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

  // ------------------------------------------------------------------ children
  renderChildren() {
    /** @type {(TableView & {sweep?: SweepView}) | undefined} */
    const t = this.model.get(STATE.CHILDREN);
    if (t && t.sweep && t.sweep.children.length) {
      this.childrenEl.replaceChildren(...sweepSection(t.sweep, this));
      return;
    }
    if (!t || !t.rows || !t.rows.length) {
      this.childrenEl.replaceChildren();
      return;
    }
    this.childrenEl.replaceChildren(h("div", { class: "amlrun-section" }, t.title), table(t));
  }

  dispose() {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.model.off("msg:custom", this.onMsg);
    this.model.off(`change:${STATE.HEADER}`, this.onHeader);
    this.model.off(`change:${STATE.DURATION}`, this.onDuration);
    this.model.off(`change:${STATE.LOGS}`, this.onLogs);
    this.model.off(`change:${STATE.CHILDREN}`, this.onChildren);
    for (const c of this.charts.values()) c.dispose();
    for (const c of this.listCharts.values()) c.dispose();
    try {
      this.send({ type: MSG.BYE });
    } catch (_e) {
      // the comm may already be closed
    }
  }
}

function render({ model, el }) {
  const view = new RunDetailsView(model, el);
  // Test and benchmark hook: the live view of each widget element.
  el.__amlrunView = view;
  return () => view.dispose();
}

export default { render };
