"""The static summary of a run: the same :class:`~jupyter_amlrun.view.model.RunView` as the live widget, drawn as
plain HTML with a matplotlib PNG of the charts, for front ends without a kernel or without this package's extension
(GitHub, nbviewer, VS Code, a saved notebook).
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Callable, Mapping, Sequence

from jupyter_amlrun.view.model import (
    CHART_MIN_POINTS,
    HeaderView,
    ImageView,
    RunView,
    StatusView,
    SweepView,
    TableView,
    chart_xs,
)
from jupyter_amlrun.view.watch import RunWatcher

__all__ = ["SUMMARY_LOG_LINES", "badge", "summary_html"]

SUMMARY_LOG_LINES = 200  # lines of the main log kept in the static summary


def summary_html(watcher: RunWatcher, load_image: Callable[[str], bytes | None] | None = None) -> str:
    """The static HTML of a run as ``watcher`` has read it (status, metrics, charts, tables, images, children, log)."""
    snap = watcher.snapshot()
    view = RunView(watcher.reader.run_id, load_image=load_image)
    upd = view.apply(snap)
    header = upd.header or view.header()
    parts = [
        '<div class="amlrun-summary">',
        "<b>Run details</b> (static summary)",
        _header_html(header),
    ]
    if header["error"]:
        color = header["status"]["color"]
        parts.append(f'<pre style="color:{color};white-space:pre-wrap">{html.escape(header["error"])}</pre>')
    metrics = view.metrics_table()
    if metrics["rows"]:
        parts.append(_table_html(metrics))
        series = {name: (chart_xs(steps), values) for name, (steps, values) in snap.scalars.items()}
        x_labels = {}
        for name, values in view.list_values().items():
            series.setdefault(name, ([float(i) for i in range(len(values))], values))
            x_labels[name] = "index"
        png = _chart_png(series, x_labels=x_labels)
        if png:
            parts.append(f'<img alt="metric charts" src="data:image/png;base64,{png}"/>')
    parts.extend(_table_html(t) for t in view.tables())
    parts.extend(_image_html(i) for i in view.images())
    if upd.sweep is not None and upd.sweep["children"]:
        parts.append(_sweep_html(upd.sweep))
    elif upd.children is not None and upd.children["rows"]:
        parts.append(f"<b>{html.escape(upd.children['title'])}</b>{_table_html(upd.children, caption=False)}")
    parts.append(_log_tail_html(watcher, view.main_log()))
    parts.append("</div>")
    return "".join(parts)


def _log_tail_html(watcher: RunWatcher, name: str | None) -> str:
    """The last lines of the main log, folded (the whole log: ``%amlrun logs`` or ``run.get_details_with_logs``)."""
    if not name:
        return ""
    try:
        got = watcher.reader.read_log(name)
    except OSError:
        return ""
    if got is None:
        return ""
    lines = got.text.splitlines()
    tail = lines[-SUMMARY_LOG_LINES:]
    note = f"last {len(tail)} of {len(lines)} lines" if len(tail) < len(lines) else f"{len(lines)} lines"
    return (
        f'<details class="amlrun-summary-log"><summary>{html.escape(name)} ({note})</summary>'
        f'<pre style="max-height:24em;overflow:auto;white-space:pre-wrap">{html.escape(chr(10).join(tail))}</pre>'
        "</details>"
    )


def badge(status: StatusView) -> str:
    return (
        f'<span class="amlrun-status" style="background:{status["color"]};color:#fff;padding:1px 8px;'
        'border-radius:10px;font-weight:600">'
        f"{html.escape(status['label'])}</span>"
    )


def _cell_html(cell: str | StatusView) -> str:
    return html.escape(cell) if isinstance(cell, str) else badge(cell)


def _header_html(header: HeaderView) -> str:
    rows = []
    for f in header["fields"]:
        value = badge(header["status"]) if f["kind"] == "status" else html.escape(f["text"])
        rows.append(
            f'<tr><th style="text-align:left;padding-right:12px">{html.escape(f["label"])}</th><td>{value}</td></tr>'
        )
    return f"<table>{''.join(rows)}</table>"


def _table_html(table: TableView, caption: bool = True) -> str:
    title = html.escape(table["title"]) + (f" {html.escape(table['note'])}" if table["note"] else "")
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table["columns"])
    body = "".join("<tr>" + "".join(f"<td>{_cell_html(c)}</td>" for c in row) + "</tr>" for row in table["rows"])
    cap = f"<caption>{title}</caption>" if caption and title else ""
    return f"<table>{cap}<tr>{head}</tr>{body}</table>"


def _sweep_html(sweep: SweepView) -> str:
    """A sweep's children in the static summary: the table (best first) and the two charts as one PNG."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in sweep["columns"])
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell_html(c)}</td>" for c in kid["cells"]) + "</tr>" for kid in sweep["children"]
    )
    out = f"<b>{html.escape(sweep['title'])}</b><table><tr>{head}</tr>{body}</table>"
    png = _sweep_png(sweep)
    if png:
        out += f'<img alt="sweep charts" src="data:image/png;base64,{png}"/>'
    return out


def _sweep_png(sweep: SweepView) -> str | None:
    """The primary metric per child over its intervals (ended early: dashed, x) and the parallel coordinates."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        return None
    fig = Figure(figsize=(10, 3.2), dpi=80)
    FigureCanvasAgg(fig)
    lines, par = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for kid in sweep["children"]:
        color = kid["color"]  # the live view's colour of this child (view/model.py series_color)
        values = kid["values"]
        if not values:
            continue
        style = "--" if kid["terminated"] else "-"
        lines.plot(range(1, len(values) + 1), values, style, color=color, linewidth=1.2)
        if kid["terminated"]:
            lines.plot([len(values)], [values[-1]], "x", color=color)
        coords = [(i, c) for i, c in enumerate(kid["coords"]) if c is not None]
        if len(coords) >= 2:
            par.plot(
                [i for i, _ in coords],
                [c for _, c in coords],
                style,
                color=color,
                alpha=0.5 if kid["terminated"] else 0.9,
            )
    lines.set_title(f"{sweep['metric']} per child (dashed, x: ended early)", fontsize=9)
    lines.set_xlabel("interval", fontsize=8)
    lines.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes = sweep["axes"]
    par.set_xticks(range(len(axes)), [a["name"] for a in axes], fontsize=8)
    par.set_yticks([])
    for i, axis in enumerate(axes):
        par.axvline(i, color="#999", linewidth=0.8)
        for pos, label in axis["ticks"]:
            par.annotate(str(label), (i, float(pos)), fontsize=7, xytext=(3, 0), textcoords="offset points")
    par.set_title(f"Parameters vs {sweep['metric']}", fontsize=9)
    for ax in (lines, par):
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode()


def _image_html(image: ImageView) -> str:
    name = html.escape(image["name"])
    inner = (
        f'<img alt="{name}" src="{image["src"]}" style="max-width:360px"/>' if image["src"] else "(image not available)"
    )
    return f"<figure>{inner}<figcaption>{name}</figcaption></figure>"


def _chart_png(
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    max_charts: int = 12,
    x_labels: Mapping[str, str] | None = None,
) -> str | None:
    """A PNG (base64) of one small line chart per metric with 2+ points (x values by :func:`chart_xs`)."""
    x_labels = x_labels or {}
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        return None
    # one point is a value (the metrics table has it), not a chart
    names = [n for n, (_xs, values) in series.items() if len(values) >= CHART_MIN_POINTS][:max_charts]
    if not names:
        return None
    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    fig = Figure(figsize=(3.4 * cols, 2.3 * rows), dpi=80)
    FigureCanvasAgg(fig)
    for i, name in enumerate(names):
        xs, values = series[name]
        stride = max(1, len(values) // 2000)  # a summary image needs no more points than pixels
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.plot(xs[::stride], values[::stride], color="#1f77b4", linewidth=1.2)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps and indexes are whole numbers
        ax.set_xlabel(x_labels.get(name, "step"), fontsize=7)
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode()
