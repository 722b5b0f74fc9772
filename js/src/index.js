// RunDetails front end (anywidget ESM). The kernel sends only deltas; this file keeps the history it has seen and
// draws it. Business logic (what is new, what a run is) stays in Python (jupyter_amlrun/core/watch.py).
import uPlot from "uplot";

const TERMINAL = new Set(["Completed", "Failed", "Canceled"]);
const STATUS_CLASS = {
  Completed: "ok",
  Failed: "bad",
  Canceled: "off",
  CancelRequested: "warn",
  Finalizing: "busy",
  Running: "busy",
  Starting: "wait",
  Preparing: "wait",
  Queued: "wait",
  NotStarted: "wait",
};

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

function fmtDuration(ms) {
  if (!(ms >= 0)) return "";
  const s = Math.floor(ms / 1000);
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  return hh ? `${hh}h ${mm}m ${ss}s` : mm ? `${mm}m ${ss}s` : `${ss}s`;
}

function fmtValue(v) {
  if (typeof v === "number") {
    if (Number.isInteger(v)) return String(v);
    return Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(4) : v.toFixed(4);
  }
  if (v === null || v === undefined) return "";
  return typeof v === "string" ? v : JSON.stringify(v);
}

function parseTime(iso) {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(t) ? null : t;
}

// A growable pair of Float64Arrays: appending n points costs O(n) (amortised), never a copy of the history.
class Series {
  constructor() {
    this.xs = new Float64Array(1024);
    this.ys = new Float64Array(1024);
    this.n = 0;
    this.byIndex = false; // steps went backwards (several writers): plot against the arrival index instead
  }
  push(steps, values) {
    const need = this.n + values.length;
    if (need > this.xs.length) {
      let cap = this.xs.length;
      while (cap < need) cap *= 2;
      const xs = new Float64Array(cap);
      const ys = new Float64Array(cap);
      xs.set(this.xs.subarray(0, this.n));
      ys.set(this.ys.subarray(0, this.n));
      this.xs = xs;
      this.ys = ys;
    }
    for (let i = 0; i < values.length; i++) {
      const step = steps[i];
      if (!this.byIndex && this.n > 0 && step < this.xs[this.n - 1]) {
        this.byIndex = true;
        for (let j = 0; j < this.n; j++) this.xs[j] = j;
      }
      this.xs[this.n] = this.byIndex ? this.n : step;
      this.ys[this.n] = values[i];
      this.n++;
    }
  }
  data() {
    return [this.xs.subarray(0, this.n), this.ys.subarray(0, this.n)];
  }
  last() {
    return this.n ? this.ys[this.n - 1] : undefined;
  }
}

class Chart {
  constructor(parent, name, kind) {
    this.name = name;
    this.series = new Series();
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
    const width = Math.max(260, Math.min(420, (this.root.parentElement?.clientWidth || 420) - 16));
    this.plot = new uPlot(
      {
        width,
        height: 180,
        legend: { show: false },
        cursor: { drag: { x: true, y: false } },
        scales: { x: { time: false } },
        axes: [{ size: 28 }, { size: 56 }],
        series: [{}, { label: this.name, stroke: "#1f77b4", width: 1.5, points: { show: false } }],
      },
      this.series.data(),
      this.plotEl,
    );
  }
  push(steps, values) {
    this.series.push(steps, values);
    this.dirty = true;
  }
  replace(values) {
    this.series = new Series();
    this.series.push(values.map((_, i) => i), values);
    this.dirty = true;
  }
  draw() {
    if (!this.dirty) return;
    this.dirty = false;
    this.ensurePlot();
    this.plot.setData(this.series.data());
    this.root.setAttribute("data-points", String(this.series.n));
    this.title.textContent = this.series.n ? `${fmtValue(this.series.last())} (${this.series.n} pts)` : "";
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
    this.charts = new Map();
    this.listCharts = new Map();
    this.rows = new Map(); // table name -> {columns: [], rows: []}
    this.texts = new Map();
    this.images = new Map();
    this.logs = new Map();
    this.selectedLog = null;
    this.userPicked = false;
    this.frame = 0;
    this.build();
    this.onMsg = (msg, buffers) => this.handle(msg, buffers);
    this.onChange = () => this.renderHeader();
    model.on("msg:custom", this.onMsg);
    for (const k of ["status", "details"]) model.on(`change:${k}`, this.onChange);
    this.onFiles = () => this.renderLogFiles();
    model.on("change:log_files", this.onFiles);
    this.onChildren = () => this.renderChildren();
    model.on("change:children", this.onChildren);
    this.renderHeader();
    this.renderLogFiles();
    this.renderChildren();
    this.timer = setInterval(() => this.tickDuration(), 1000);
    model.send({ type: "hello" });
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
    const status = this.model.get("status") || "";
    const d = this.model.get("details") || {};
    const def = d.runDefinition || {};
    this.root.setAttribute("data-status", status);
    const badge = h("span", { class: `amlrun-status amlrun-${STATUS_CLASS[status] || "wait"}` }, status || "…");
    this.durationEl = h("span", { class: "amlrun-duration" });
    const terminal = TERMINAL.has(status);
    const canceling = status === "CancelRequested" || this.cancelAsked;
    this.cancelBtn = h(
      "button",
      {
        class: "amlrun-cancel",
        onclick: () => {
          this.cancelAsked = true;
          this.cancelBtn.disabled = true;
          this.cancelBtn.textContent = "Canceling…";
          this.model.send({ type: "cancel" });
        },
      },
      canceling && !terminal ? "Canceling…" : "Cancel",
    );
    if (terminal || canceling) this.cancelBtn.disabled = true;
    const link = d.portalUrl ? h("a", { href: d.portalUrl, target: "_blank", rel: "noopener" }, "View run ↗") : "";
    const args = (def.arguments || []).join(" ");
    const rows = [
      ["Experiment", d.experiment || ""],
      ["Run", d.runId || this.model.get("run_id") || ""],
      ["Status", badge],
      ["Started", d.startTimeUtc ? new Date(d.startTimeUtc).toLocaleString() : "—"],
      ["Duration", this.durationEl],
      ["Compute", d.target || def.target || ""],
      ["Script", [def.script || "", args ? ` ${args}` : ""].join("")],
    ];
    const table = h("table", { class: "amlrun-props" });
    for (const [k, v] of rows) table.append(h("tr", {}, h("th", {}, k), h("td", {}, v)));
    this.header.replaceChildren(
      h("div", { class: "amlrun-title" }, h("b", {}, "Run details"), " ", badge.cloneNode(true), " ", link, " ", this.cancelBtn),
      table,
    );
    const err = d.error && d.error.error && d.error.error.message;
    if (err) {
      this.errorBox.textContent = err;
      this.errorBox.hidden = false;
    } else {
      this.errorBox.hidden = true;
    }
    this.tickDuration();
  }

  tickDuration() {
    const d = this.model.get("details") || {};
    const start = parseTime(d.startTimeUtc);
    if (!this.durationEl) return;
    if (start === null) {
      this.durationEl.textContent = "—";
      return;
    }
    const status = this.model.get("status") || "";
    const end = parseTime(d.endTimeUtc) ?? (TERMINAL.has(status) ? start : Date.now());
    this.durationEl.textContent = fmtDuration(end - start);
  }

  // ------------------------------------------------------------------ deltas
  handle(msg, buffers) {
    if (!msg || typeof msg !== "object") return;
    if (msg.type === "delta") this.applyDelta(msg, buffers || []);
    else if (msg.type === "log_older") this.prependLog(msg.chunk);
  }

  applyDelta(msg, buffers) {
    if (msg.reset) this.clear();
    for (const s of msg.scalars || []) {
      const buf = buffers[s.buffer];
      const arr = new Float64Array(buf.buffer ? buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) : buf);
      const steps = arr.subarray(0, s.n);
      const values = arr.subarray(s.n, 2 * s.n);
      let chart = this.charts.get(s.name);
      if (!chart) {
        chart = new Chart(this.metricsEl, s.name, "scalar");
        this.charts.set(s.name, chart);
      }
      chart.push(steps, values);
    }
    for (const rec of msg.records || []) this.applyRecord(rec);
    for (const chunk of msg.logs || []) this.appendLog(chunk);
    this.noMetrics.hidden = this.charts.size + this.listCharts.size + this.rows.size + this.images.size + this.texts.size > 0;
    this.schedule();
  }

  clear() {
    for (const c of this.charts.values()) c.dispose();
    for (const c of this.listCharts.values()) c.dispose();
    this.charts.clear();
    this.listCharts.clear();
    this.rows.clear();
    this.texts.clear();
    this.images.clear();
    this.logs.clear();
    this.tablesEl.replaceChildren();
    this.imagesEl.replaceChildren();
    this.logPre.replaceChildren();
    this.shownLog = null;
  }

  applyRecord(rec) {
    const { k: kind, n: name, v: value } = rec;
    if (kind === "list") {
      const nums = Array.isArray(value) ? value.map(Number) : [];
      let chart = this.listCharts.get(name);
      if (!chart) {
        chart = new Chart(this.metricsEl, name, "list");
        this.listCharts.set(name, chart);
      }
      chart.replace(nums);
    } else if (kind === "row") {
      const t = this.rows.get(name) || { columns: [], rows: [] };
      for (const c of Object.keys(value || {})) if (!t.columns.includes(c)) t.columns.push(c);
      t.rows.push(value || {});
      this.rows.set(name, t);
      this.tablesDirty = true;
    } else if (kind === "table") {
      const cols = Object.keys(value || {});
      const len = Math.max(0, ...cols.map((c) => (Array.isArray(value[c]) ? value[c].length : 1)));
      const rows = [];
      for (let i = 0; i < len; i++) {
        const row = {};
        for (const c of cols) row[c] = Array.isArray(value[c]) ? value[c][i] : value[c];
        rows.push(row);
      }
      this.rows.set(name, { columns: cols, rows });
      this.tablesDirty = true;
    } else if (kind === "image") {
      this.images.set(name, rec.data || null);
      this.imagesDirty = true;
    } else {
      this.texts.set(name, value);
      this.tablesDirty = true;
    }
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
    if (this.texts.size) {
      const t = h("table", { class: "amlrun-table", "data-table": "values" }, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Value")));
      for (const [k, v] of this.texts) t.append(h("tr", {}, h("td", {}, k), h("td", {}, fmtValue(v))));
      out.push(h("div", { class: "amlrun-table-box" }, h("div", { class: "amlrun-chart-title" }, h("b", {}, "Values")), t));
    }
    for (const [name, t] of this.rows) {
      const table = h("table", { class: "amlrun-table", "data-table": name });
      table.append(h("tr", {}, ...t.columns.map((c) => h("th", {}, c))));
      const shown = t.rows.slice(-200); // the newest rows; a table is not a log
      for (const r of shown) table.append(h("tr", {}, ...t.columns.map((c) => h("td", {}, fmtValue(r[c])))));
      const more = t.rows.length > shown.length ? ` (last ${shown.length} of ${t.rows.length} rows)` : "";
      out.push(h("div", { class: "amlrun-table-box" }, h("div", { class: "amlrun-chart-title" }, h("b", {}, name), more), table));
    }
    this.tablesEl.replaceChildren(...out);
  }

  renderImages() {
    const out = [];
    for (const [name, src] of this.images) {
      out.push(
        h(
          "figure",
          { class: "amlrun-image", "data-image": name },
          src ? h("img", { src, alt: name }) : h("div", { class: "amlrun-empty" }, "(image not available)"),
          h("figcaption", {}, name),
        ),
      );
    }
    this.imagesEl.replaceChildren(...out);
  }

  // ------------------------------------------------------------------ logs
  renderLogFiles() {
    const files = this.model.get("log_files") || [];
    const current = this.logSelect.value;
    this.logSelect.replaceChildren(...files.map((f) => h("option", { value: f }, f.replace(/^logs\//, ""))));
    if (!this.userPicked || !files.includes(this.selectedLog)) this.selectedLog = this.pickDefaultLog(files);
    if (this.selectedLog) this.logSelect.value = this.selectedLog;
    if (this.logSelect.value !== current) this.showLog();
  }

  pickDefaultLog(files) {
    // v1: the user's stdout (rank 0 first), else the driver log.
    const user = files.filter((f) => /user_logs\/std_log[\D]*0*(?:_ps)?\.txt$/.test(f)).sort();
    if (user.length) return user.find((f) => /std_log\.txt$/.test(f)) || user[0];
    return files.find((f) => f.includes("driver_log")) || files[0] || null;
  }

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
    if (!this.selectedLog && this.model.get("log_files")?.length) this.renderLogFiles();
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
    this.model.send({ type: "log_more", name: this.selectedLog, before: buf.head });
  }

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
    const kids = this.model.get("children") || [];
    if (!kids.length) {
      this.childrenEl.replaceChildren();
      return;
    }
    const metricNames = [...new Set(kids.flatMap((k) => Object.keys(k.metrics || {})))].slice(0, 8);
    const table = h(
      "table",
      { class: "amlrun-table", "data-table": "children" },
      h("tr", {}, h("th", {}, "Run"), h("th", {}, "Status"), h("th", {}, "Duration"), ...metricNames.map((m) => h("th", {}, m))),
    );
    for (const k of kids) {
      const dur = k.startTime ? fmtDuration((k.endTime || Date.now()) - k.startTime) : "";
      table.append(
        h(
          "tr",
          {},
          h("td", {}, k.name || k.runId),
          h("td", {}, h("span", { class: `amlrun-status amlrun-${STATUS_CLASS[k.status] || "wait"}` }, k.status)),
          h("td", {}, dur),
          ...metricNames.map((m) => h("td", {}, fmtValue((k.metrics || {})[m]))),
        ),
      );
    }
    this.childrenEl.replaceChildren(h("div", { class: "amlrun-section" }, `Child runs (${kids.length})`), table);
  }

  dispose() {
    clearInterval(this.timer);
    if (this.frame) cancelAnimationFrame(this.frame);
    this.model.off("msg:custom", this.onMsg);
    for (const k of ["status", "details"]) this.model.off(`change:${k}`, this.onChange);
    this.model.off("change:log_files", this.onFiles);
    this.model.off("change:children", this.onChildren);
    for (const c of this.charts.values()) c.dispose();
    for (const c of this.listCharts.values()) c.dispose();
    try {
      this.model.send({ type: "bye" });
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
