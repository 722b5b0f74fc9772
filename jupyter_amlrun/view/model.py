"""The RunDetails view model: what to show for a run, decided and formatted once, in Python.

:class:`~jupyter_amlrun.view.watch.RunWatcher` says what is new in a run; :class:`RunView` turns that into what the
widget's front end draws (``js/src/index.js`` only draws it) and what the static summary left in a saved notebook
prints. Both read the same :class:`RunView`, so both show the same texts and numbers:

- the status: its label, colour class, badge colour and whether it is terminal (:func:`status_view`);
- the header fields (experiment, run, started, duration, compute, script) and the error message (:func:`header_view`);
- the log shown first (:func:`main_log`) and the label of each log file;
- per chart: the points to draw (raw, for uPlot) and the label with the last value;
- rows and tables already shaped as columns and formatted cells; child runs as a table.

One number rule everywhere (:func:`format_value`): integers and integral floats below 1e15 print as integers,
other finite floats with ``.6g`` (six significant digits), non-finite ones as ``nan``/``inf``/``-inf``.

This module imports neither IPython nor ipywidgets: the magics and any other front end can use it.
"""

from __future__ import annotations

import base64
import datetime as _dt
import itertools
import json
import math
import numbers
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, TypedDict

from jupyter_amlrun.runtime.status import RunStatus, is_terminal
from jupyter_amlrun.tracking import journal as _journal

if TYPE_CHECKING:
    from jupyter_amlrun.view.watch import LogChunk, RunDelta

__all__ = [
    "CHART_MIN_POINTS",
    "MAX_TABLE_ROWS",
    "CancelView",
    "Cell",
    "ChartUpdate",
    "FieldView",
    "HeaderView",
    "ImageView",
    "LogFileView",
    "LogsView",
    "OriginView",
    "RunView",
    "StatusView",
    "SweepAxisView",
    "SweepChildView",
    "SweepView",
    "TableView",
    "ValueAxisView",
    "ViewUpdate",
    "chart_axis",
    "chart_title",
    "chart_xs",
    "children_table",
    "command_line",
    "duration_seconds",
    "duration_text",
    "format_duration",
    "format_size",
    "format_time",
    "format_value",
    "header_view",
    "log_label",
    "logs_view",
    "main_log",
    "notebook_origin",
    "parse_iso",
    "series_color",
    "status_view",
    "value_axis",
]

# The newest rows of a table that a view shows: a table is not a log.
MAX_TABLE_ROWS = 200
# Child-run metric columns shown (a sweep may log many metrics per child).
MAX_CHILD_METRICS = 8
MISSING = "—"
CANCEL_LABEL = "Cancel"
CANCELING_LABEL = "Canceling…"

# Status -> colour class (a CSS hook, also used by the browser tests) and the badge colour for that class. The colour
# travels with the view, so the live badge and the static summary's badge (inline style: no CSS there) are one rule.
STATUS_CLASS: dict[str, str] = {
    RunStatus.COMPLETED: "ok",
    RunStatus.FAILED: "bad",
    RunStatus.CANCELED: "off",
    RunStatus.CANCEL_REQUESTED: "warn",
    RunStatus.FINALIZING: "busy",
    RunStatus.RUNNING: "busy",
}
DEFAULT_STATUS_CLASS = "wait"  # NotStarted, Queued, Preparing, Starting, and any status not known yet
CLASS_COLORS = {
    "ok": "#2e7d32",
    "bad": "#c62828",
    "off": "#757575",
    "warn": "#8e24aa",
    "busy": "#1565c0",
    "wait": "#ef8f00",
}
# The colour of the i-th line of a chart with several (a sweep's children, compared runs): matplotlib's tab10, so the
# static summary's PNG and the live view agree. The front end takes each line's colour from the view.
SERIES_COLORS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


# ---------------------------------------------------------------------- what a view receives (JSON)
class StatusView(TypedDict):
    """A status badge: ``status`` is the v1 string ("" before the first read), ``label`` the text to show."""

    status: str
    label: str
    css_class: str
    color: str
    terminal: bool


# A table cell: formatted text, or a status badge (child runs).
Cell = str | StatusView


class FieldView(TypedDict):
    """One header row; ``kind`` is ``text``, ``status`` (draw the badge) or ``duration`` (the ticking clock)."""

    label: str
    text: str
    kind: str


class CancelView(TypedDict):
    """The cancel button: whether it can be pressed, its label, and its label once pressed."""

    enabled: bool
    label: str
    pending_label: str


class OriginView(TypedDict):
    """The notebook a ``%%submit`` run came from (notebook/origin.py's properties): ``path`` relative to the Jupyter
    root when the run's notebook lies under it ("" when not: then only ``text`` is shown, with no link), the cell's
    index (``None`` when not found in the saved notebook) and the link's text."""

    path: str
    cell: int | None
    text: str


class HeaderView(TypedDict):
    """The widget's header: title line, status badge, fields, error message, cancel button, and the notebook the run
    came from (``None`` for a run not submitted by ``%%submit``)."""

    title: str
    run_id: str
    status: StatusView
    fields: list[FieldView]
    portal_url: str
    error: str
    cancel: CancelView
    origin: OriginView | None


class LogFileView(TypedDict):
    """A log file: its run file name (``logs/...``) and the label the picker shows."""

    name: str
    label: str


class LogsView(TypedDict):
    """The log files and the one shown until the user picks another (``main``; "" when there is none)."""

    files: list[LogFileView]
    main: str


class TableView(TypedDict):
    """A table ready to draw: ``rows`` hold formatted cells in the order of ``columns``; ``note`` says what was cut."""

    name: str
    title: str
    note: str
    columns: list[str]
    rows: list[list[Cell]]


class SweepChildView(TypedDict):
    """One child of a sweep: its badge, sampled values, primary metric (every value and the best) and whether a
    policy ended it early. ``cells`` are the table's formatted cells and ``sort`` the keys to sort each column by
    (numbers, or text; ``None`` sorts last); ``coords`` its position on each parallel-coordinates axis (0..1)."""

    run_id: str
    name: str
    status: StatusView
    color: str  # its line's colour in both charts (series_color)
    terminated: bool
    values: list[float]
    best: float | None
    cells: list[Cell]
    sort: list[float | str | None]
    coords: list[float | None]


class SweepAxisView(TypedDict):
    """One parallel-coordinates axis: its name and ``[position 0..1, label]`` ticks."""

    name: str
    ticks: list[list[Any]]


class SweepView(TypedDict):
    """A sweep's children, best first: the table (``columns``), the metric-per-child chart (its ``value_axis``), the
    parallel axes."""

    metric: str
    goal: str
    title: str
    columns: list[str]
    children: list[SweepChildView]
    axes: list[SweepAxisView]
    value_axis: ValueAxisView  # the metric-per-child chart's value axis


class ValueAxisView(TypedDict):
    """A value axis ready to draw: the range ``[lo, hi]`` to map onto the axis and ``[value, label]`` ticks."""

    lo: float
    hi: float
    ticks: list[list[Any]]


class ImageView(TypedDict):
    """A logged image as a ``data:`` URL ("" when its file cannot be read)."""

    name: str
    src: str


# ---------------------------------------------------------------------- formatting (the one rule for each)
def format_value(value: Any) -> str:
    """Format a metric value or table cell: the one number rule of the live view, the summary and the magics.

    Integers (and integral floats below 1e15) print as integers; other finite floats with ``.6g``; non-finite ones
    as ``nan``, ``inf``, ``-inf``; ``None`` as ""; strings as they are; anything else as compact JSON.

    Examples
    --------
    >>> [format_value(v) for v in (3, 2.0, 1 / 3, 1e-7, float("inf"), None, "done")]
    ['3', '2', '0.333333', '1e-07', 'inf', '', 'done']
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        v = float(value)
        if not math.isfinite(v):
            return str(v)
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return f"{v:.6g}"
    try:
        return json.dumps(value, separators=(",", ":"), default=str)
    except ValueError:  # a circular structure
        return str(value)


def format_duration(seconds: float | None) -> str:
    """``1h 2m 3s``, ``2m 3s`` or ``3s`` (whole seconds); "" when unknown.

    Examples
    --------
    >>> format_duration(3723.9), format_duration(59), format_duration(None)
    ('1h 2m 3s', '59s', '')
    """
    if seconds is None or not math.isfinite(seconds):
        return ""
    s = max(0, int(seconds))
    h, m, sec = s // 3600, (s % 3600) // 60, s % 60
    return f"{h}h {m}m {sec}s" if h else f"{m}m {sec}s" if m else f"{sec}s"


def format_size(size: float | None) -> str:
    """A byte count for people: ``512 B``, ``2.0 KB``, ``3.4 MB`` (powers of 1024); "" when unknown.

    Examples
    --------
    >>> format_size(512), format_size(2048), format_size(None)
    ('512 B', '2.0 KB', '')
    """
    if size is None or not math.isfinite(size):
        return ""
    units = ("B", "KB", "MB", "GB", "TB")
    value, unit = float(size), 0
    while abs(value) >= 1024 and unit < len(units) - 1:
        value /= 1024
        unit += 1
    return f"{int(value)} B" if unit == 0 else f"{value:.1f} {units[unit]}"


def series_color(index: int) -> str:
    """The colour of the ``index``-th line of a chart with several lines (:data:`SERIES_COLORS`, cycled)."""
    return SERIES_COLORS[index % len(SERIES_COLORS)]


def value_axis(values: Iterable[float]) -> ValueAxisView:
    """The value axis of a chart drawn by hand (a sweep's metric per child): the finite values' range (widened by
    0.5 each way when it is a single value) and its two ends as ticks, labelled by :func:`format_value`."""
    finite = [float(v) for v in values if math.isfinite(v)]
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    if hi == lo:
        lo, hi = lo - 0.5, hi + 0.5
    return {"lo": lo, "hi": hi, "ticks": [[lo, format_value(lo)], [hi, format_value(hi)]]}


def parse_iso(value: Any) -> float | None:
    """An ISO-8601 time (``...Z`` or with an offset) as epoch seconds, or None when absent or unreadable."""
    if not value:
        return None
    try:
        parsed = _dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_dt.timezone.utc)  # v1 times are UTC
    return parsed.timestamp()


def format_time(epoch_seconds: float | None) -> str:
    """A point in time in the kernel's local time zone (``2024-05-01 14:03:07 CEST``); "" when unknown."""
    if epoch_seconds is None:
        return ""
    return _dt.datetime.fromtimestamp(epoch_seconds).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def command_line(definition: Mapping[str, Any]) -> str:
    """The script and its arguments of a run definition (``runDefinition`` of ``Run.get_details()``)."""
    parts = [str(definition.get("script") or ""), *map(str, definition.get("arguments") or [])]
    return " ".join(p for p in parts if p)


def duration_seconds(details: Mapping[str, Any], now: float | None = None) -> float | None:
    """How long a run ran: end - start once it ended, ``now`` - start while it runs; None when not known.

    A run that reached a terminal status without an end time has no known duration.
    """
    start = parse_iso(details.get("startTimeUtc"))
    if start is None:
        return None
    end = parse_iso(details.get("endTimeUtc"))
    if end is not None:
        return end - start
    if is_terminal(str(details.get("status") or "")):
        return None
    return (time.time() if now is None else now) - start


def duration_text(details: Mapping[str, Any], now: float | None = None) -> str:
    """:func:`duration_seconds` formatted by :func:`format_duration` ("" when not known)."""
    return format_duration(duration_seconds(details, now))


def status_view(status: str | None) -> StatusView:
    """The badge of a status (colour class, colour, terminal flag); "…" before the status is known."""
    status = status or ""
    css = STATUS_CLASS.get(status, DEFAULT_STATUS_CLASS)
    return {
        "status": status,
        "label": status or "…",
        "css_class": css,
        "color": CLASS_COLORS[css],
        "terminal": is_terminal(status),
    }


def notebook_origin(properties: Mapping[str, Any] | None, root_dir: str | None = None) -> OriginView | None:
    """The notebook a run came from, from its ``notebook_*`` properties (notebook/origin.py), or ``None``.

    ``path`` is relative to ``root_dir`` (the Jupyter server's root) when the notebook lies under it, in the form
    JupyterLab opens (``/``-separated); else "" and the text names the notebook's full path.
    """
    props = properties or {}
    full = str(props.get("notebook_path") or "")
    if not full:
        return None
    index = str(props.get("notebook_cell_index") or "")
    cell = int(index) if index.isdigit() else None
    rel = ""
    if root_dir:
        path, root = PurePath(full), PurePath(root_dir)
        if path.is_relative_to(root) and path != root:
            rel = path.relative_to(root).as_posix()
    where = f" (cell {cell})" if cell is not None else ""
    return {"path": rel, "cell": cell, "text": f"From {rel or full}{where}"}


def header_view(
    run_id: str,
    status: str | None,
    details: Mapping[str, Any] | None,
    now: float | None = None,
    root_dir: str | None = None,
) -> HeaderView:
    """The header of a run from its status and ``RunWatcher`` details (``Run.get_details()`` + experiment, portal);
    ``root_dir`` (the Jupyter root, when known) makes the notebook origin's path one JupyterLab can open."""
    d = dict(details or {})
    if status:
        d["status"] = status
    definition = d.get("runDefinition") or {}
    badge = status_view(status)
    started = format_time(parse_iso(d.get("startTimeUtc")))
    fields: list[FieldView] = [
        {"label": "Experiment", "text": str(d.get("experiment") or ""), "kind": "text"},
        {"label": "Run", "text": str(d.get("runId") or run_id), "kind": "text"},
        {"label": "Status", "text": badge["label"], "kind": "status"},
        {"label": "Started", "text": started or MISSING, "kind": "text"},
        {"label": "Duration", "text": duration_text(d, now) or MISSING, "kind": "duration"},
        {"label": "Compute", "text": str(d.get("target") or definition.get("target") or ""), "kind": "text"},
        {"label": "Script", "text": command_line(definition), "kind": "text"},
    ]
    error = ((d.get("error") or {}).get("error") or {}).get("message") or ""
    canceling = status == RunStatus.CANCEL_REQUESTED
    return {
        "title": "Run details",
        "run_id": run_id,
        "status": badge,
        "fields": fields,
        "portal_url": str(d.get("portalUrl") or ""),
        "error": str(error),
        "cancel": {
            "enabled": not badge["terminal"] and not canceling,
            "label": CANCELING_LABEL if canceling else CANCEL_LABEL,
            "pending_label": CANCELING_LABEL,
        },
        "origin": notebook_origin(d.get("properties"), root_dir),
    }


# ---------------------------------------------------------------------- logs
def _rank(name: str) -> int:
    # std_log_process_<rank>.txt (and std_log_<rank>.txt); the plain std_log.txt is the only process: rank 0.
    digits = re.findall(r"\d+", name.rsplit("/", 1)[-1])
    return int(digits[-1]) if digits else 0


def main_log(names: Iterable[str]) -> str | None:
    """The log a view shows first (v1): the script's output of rank 0, else the driver log, else the first log.

    Among the user logs (``user_logs/std_log*``) the lowest rank wins (``std_log.txt`` before
    ``std_log_process_0.txt``); ``std_log_process_10.txt`` comes after ``std_log_process_2.txt``.
    """
    ordered = sorted(names)
    users = [n for n in ordered if "user_logs/std_log" in n]
    if users:
        return min(users, key=lambda n: (_rank(n), n))
    return next((n for n in ordered if "driver_log" in n), ordered[0] if ordered else None)


def log_label(name: str) -> str:
    """The label of a log file in the picker: its name below ``logs/``."""
    return name.removeprefix("logs/")


def logs_view(names: Iterable[str]) -> LogsView:
    """The log picker: every log file (sorted) and the main one."""
    ordered = sorted(names)
    return {"files": [{"name": n, "label": log_label(n)} for n in ordered], "main": main_log(ordered) or ""}


# ---------------------------------------------------------------------- tables
def _table(name: str, title: str, columns: list[str], rows: list[list[Cell]], note: str = "") -> TableView:
    return {"name": name, "title": title, "note": note, "columns": columns, "rows": rows}


def _table_rows(value: Any) -> tuple[list[str], list[dict[str, Any]]]:
    """A ``log_table`` value (``{column: values}``) as columns and rows; a non-list column repeats in every row."""
    if not isinstance(value, Mapping):
        return [], []
    columns = [str(c) for c in value]
    cols = {str(c): v for c, v in value.items()}
    length = max([len(v) if isinstance(v, list) else 1 for v in cols.values()], default=0)
    rows = []
    for i in range(length):
        rows.append({c: (v[i] if i < len(v) else None) if isinstance(v, list) else v for c, v in cols.items()})
    return columns, rows


def children_table(children: Sequence[Mapping[str, Any]] | None, now: float | None = None) -> TableView:
    """Child runs as a table: name, status badge, duration and up to 8 metric columns (no rows: no children)."""
    kids = list(children or [])
    names: list[str] = []
    for kid in kids:
        for m in kid.get("metrics") or {}:
            if m not in names:
                names.append(m)
    names = names[:MAX_CHILD_METRICS]
    now_ms = (time.time() if now is None else now) * 1000
    rows: list[list[Cell]] = []
    for kid in kids:
        status = str(kid.get("status") or "")
        start, end = kid.get("startTime"), kid.get("endTime")
        if start and not end and not is_terminal(status):
            end = now_ms
        duration = format_duration((end - start) / 1000) if start and end else ""
        metrics = kid.get("metrics") or {}
        rows.append(
            [
                str(kid.get("name") or kid.get("runId") or ""),
                status_view(status),
                duration,
                *(format_value(metrics.get(m)) for m in names),
            ]
        )
    title = f"Child runs ({len(kids)})" if kids else ""
    return _table("children", title, ["Run", "Status", "Duration", *names], rows)


# ---------------------------------------------------------------------- charts
def _decreases(previous: float | None, steps: Sequence[float]) -> bool:
    if previous is not None and steps and steps[0] < previous:
        return True
    return any(b < a for a, b in itertools.pairwise(steps))


CHART_MIN_POINTS = 2  # a metric with fewer points is drawn as its value (index.js: CHART_MIN_POINTS)


def chart_xs(steps: Sequence[float]) -> list[float]:
    """The x values of a metric's chart: its steps, or the arrival index once steps go backwards (several writers).

    The live view applies the same rule point by point (:class:`RunView`), so both charts agree.
    """
    return [float(i) for i in range(len(steps))] if _decreases(None, steps) else [float(s) for s in steps]


@dataclass
class ChartUpdate:
    """Points for one chart: append ``ys`` at ``xs`` (after dropping what it has when ``replace``; after redrawing
    its existing points at their index when ``reindex``); ``label`` is the new text beside the chart title."""

    name: str
    kind: str  # "scalar" (run.log) or "list" (run.log_list)
    xs: list[float]
    ys: list[float]
    label: str
    replace: bool = False
    reindex: bool = False
    section: str = "metrics"  # "system" for the driver's system/... samples (drawn in the System section)
    title: str = ""  # the chart's title (chart_title): "" means the name
    axis: str = ""  # its value axis's label (chart_axis): "" means the title


SYSTEM_PREFIX = "system/"  # the driver's samples of the script's process tree (compute/sysmetrics.py)


# The unit a system metric's name ends with (MLflow's system-metric names and the driver's): its axis label.
SYSTEM_UNITS = {
    "_percentage": "%",
    "_megabytes": "MB",
    "_gigabytes": "GB",
    "_bytes": "bytes",
    "_watts": "W",
    "_celsius": "°C",
}


def chart_title(name: str) -> str:
    """The title of a metric's chart: the name, less ``system/`` in the System section (the section says it)."""
    return name[len(SYSTEM_PREFIX) :] if name.startswith(SYSTEM_PREFIX) else name


def chart_axis(name: str) -> str:
    """The label of a metric chart's value axis: a system metric's unit (``%``, ``MB``; its title names it, and a
    full name is cut on the axis), else the chart's title."""
    if name.startswith(SYSTEM_PREFIX):
        unit = next((u for suffix, u in SYSTEM_UNITS.items() if name.endswith(suffix)), None)
        if unit is not None:
            return unit
    return chart_title(name)


def chart_section(name: str) -> str:
    """The section a chart belongs to: ``"system"`` for ``system/...`` metrics, else ``"metrics"``."""
    return "system" if name.startswith(SYSTEM_PREFIX) else "metrics"


class _Series:
    __slots__ = ("by_index", "count", "last", "last_step", "maximum", "minimum")

    def __init__(self) -> None:
        self.count = 0
        self.last = math.nan
        self.last_step: float | None = None
        self.by_index = False
        self.minimum = math.inf
        self.maximum = -math.inf

    def add(self, values: Sequence[float]) -> None:
        if not values:
            return
        self.count += len(values)
        self.last = float(values[-1])
        finite = [v for v in values if v == v]  # NaN is not a minimum or a maximum
        if finite:
            self.minimum = min(self.minimum, min(finite))
            self.maximum = max(self.maximum, max(finite))

    def label(self) -> str:
        if not self.count:
            return ""
        # one point is shown as a value, not as a chart (CHART_MIN_POINTS)
        return (
            format_value(self.last)
            if self.count < CHART_MIN_POINTS
            else f"{format_value(self.last)} ({self.count} pts)"
        )


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


# ---------------------------------------------------------------------- the view model
@dataclass
class ViewUpdate:
    """What changed in the view after one :class:`~jupyter_amlrun.view.watch.RunDelta`.

    ``None`` fields are unchanged. ``reset``: the receiver drops everything it holds first (a snapshot).
    """

    reset: bool = False
    status: str | None = None
    header: HeaderView | None = None
    duration: str | None = None
    logs: LogsView | None = None
    children: TableView | None = None
    sweep: SweepView | None = None  # a sweep parent's children (with children, when they changed)
    charts: list[ChartUpdate] = field(default_factory=list)
    tables: list[TableView] = field(default_factory=list)
    images: list[ImageView] = field(default_factory=list)
    log_chunks: list[LogChunk] = field(default_factory=list)
    has_metrics: bool = False


class RunView:
    """The view of one run, fed with the deltas of a :class:`~jupyter_amlrun.view.watch.RunWatcher`.

    It holds what a view needs to draw and format the next delta (per chart: point count, last value and step; per
    table: its rows), never the points themselves.

    Parameters
    ----------
    run_id:
        The run shown.
    load_image:
        Reads the bytes of a logged image (a run file such as ``images/plot_1.png``); None: images show as missing.
    max_table_rows:
        The newest rows of a table that are shown.
    root_dir:
        The Jupyter server's root folder when known: the notebook a run came from is linked relative to it.

    Examples
    --------
    >>> view = RunView("run-1")
    >>> update = view.apply(watcher.tick())  # doctest: +SKIP
    """

    def __init__(
        self,
        run_id: str,
        *,
        load_image: Callable[[str], bytes | None] | None = None,
        max_table_rows: int = MAX_TABLE_ROWS,
        root_dir: str | None = None,
    ) -> None:
        self.run_id = run_id
        self.root_dir = root_dir
        self.load_image = load_image
        self.max_table_rows = max_table_rows
        self.status: str | None = None
        self.details: dict[str, Any] = {}
        self.log_files: list[str] = []
        self.children: list[dict[str, Any]] = []
        self._clear()

    def _clear(self) -> None:
        self._series: dict[str, _Series] = {}
        self._lists: dict[str, list[float]] = {}
        self._values: dict[str, str] = {}
        self._tables: dict[str, tuple[list[str], list[dict[str, Any]]]] = {}
        self._images: dict[str, str] = {}

    # ------------------------------------------------------------------ feeding
    def apply(self, delta: RunDelta, now: float | None = None) -> ViewUpdate:
        """Take in one delta (a snapshot when ``delta.reset``) and return what changed in the view."""
        if delta.reset:
            self._clear()
        upd = ViewUpdate(reset=delta.reset, log_chunks=list(delta.logs))
        if delta.status is not None:
            self.status = delta.status
        if delta.details is not None:
            self.details = dict(delta.details)
        if delta.reset or delta.status is not None or delta.details is not None:
            upd.status = self.status or ""
            upd.header = self.header(now)
            upd.duration = self.duration(now)
        if delta.reset or delta.log_files is not None:
            self.log_files = list(delta.log_files or [])
            upd.logs = logs_view(self.log_files)
        if delta.reset or delta.children is not None:
            self.children = list(delta.children or [])
            upd.children = children_table(self.children, now)
            upd.sweep = self.sweep()
        upd.charts = [self._add_points(name, steps, values) for name, (steps, values) in delta.scalars.items()]
        upd.charts += self._apply_records(delta.records, upd)
        upd.has_metrics = self.has_metrics
        return upd

    def _add_points(self, name: str, steps: Sequence[float], values: Sequence[float]) -> ChartUpdate:
        series = self._series.setdefault(name, _Series())
        reindex = False
        if not series.by_index and _decreases(series.last_step, steps):
            series.by_index = True
            reindex = series.count > 0
        xs = [float(i) for i in range(series.count, series.count + len(steps))] if series.by_index else list(steps)
        if steps:
            series.last_step = float(steps[-1])
        series.add(values)
        return ChartUpdate(
            name,
            "scalar",
            xs,
            list(values),
            series.label(),
            reindex=reindex,
            section=chart_section(name),
            title=chart_title(name),
            axis=chart_axis(name),
        )

    def _apply_records(self, records: list[dict[str, Any]], upd: ViewUpdate) -> list[ChartUpdate]:
        lists: dict[str, list[float]] = {}
        tables: list[str] = []
        values_changed = False
        for rec in records:
            kind, name, value = rec.get("k"), str(rec.get("n")), rec.get("v")
            if kind == _journal.LIST:
                lists[name] = [_as_float(v) for v in value] if isinstance(value, list) else []
            elif kind == _journal.ROW:
                columns, rows = self._tables.setdefault(name, ([], []))
                row = {str(k): v for k, v in value.items()} if isinstance(value, Mapping) else {}
                columns.extend(c for c in row if c not in columns)
                rows.append(row)
                tables.append(name)
            elif kind == _journal.TABLE:
                self._tables[name] = _table_rows(value)
                tables.append(name)
            elif kind == _journal.IMAGE:
                self._images[name] = self._image_src(str(value))
                upd.images.append({"name": name, "src": self._images[name]})
            else:  # text scalars and anything else: one value per name
                self._values[name] = format_value(value)
                values_changed = True
        if values_changed:
            upd.tables.append(self.values_table())
        for name in dict.fromkeys(tables):
            upd.tables.append(self.table(name))
        charts = []
        for name, nums in lists.items():
            self._lists[name] = nums
            xs = [float(i) for i in range(len(nums))]
            charts.append(
                ChartUpdate(
                    name,
                    "list",
                    xs,
                    nums,
                    self._list_label(name),
                    replace=True,
                    title=chart_title(name),
                    axis=chart_axis(name),
                )
            )
        return charts

    def _image_src(self, path: str) -> str:
        data = self.load_image(path) if self.load_image is not None else None
        return "data:image/png;base64," + base64.b64encode(data).decode() if data else ""

    def _list_label(self, name: str) -> str:
        series = _Series()
        series.add(self._lists[name])
        return series.label()

    # ------------------------------------------------------------------ reading
    @property
    def has_metrics(self) -> bool:
        """True once any metric (chart, value, table or image) was logged; system/... samples are no metric of the
        script's (they have their own section)."""
        scripts = any(chart_section(n) != "system" for n in self._series)
        return bool(scripts or self._lists or self._values or self._tables or self._images)

    @property
    def terminal(self) -> bool:
        return is_terminal(self.status or "")

    def header(self, now: float | None = None) -> HeaderView:
        """The header as of ``now`` (epoch seconds; default: the current time)."""
        return header_view(self.run_id, self.status, self.details, now, self.root_dir)

    def duration(self, now: float | None = None) -> str:
        """The duration text as of ``now``: it grows while the run runs (the widget refreshes it every second)."""
        details = {**self.details, "status": self.status or self.details.get("status")}
        return duration_text(details, now) or MISSING

    def main_log(self) -> str | None:
        """The log a view shows first."""
        return main_log(self.log_files)

    def values_table(self) -> TableView:
        """Text values (``run.log`` of a string) by name."""
        rows: list[list[Cell]] = [[k, v] for k, v in self._values.items()]
        return _table("values", "Values", ["Name", "Value"], rows)

    def table(self, name: str) -> TableView:
        """A ``log_row``/``log_table`` metric, its newest ``max_table_rows`` rows formatted."""
        columns, rows = self._tables[name]
        shown = rows[-self.max_table_rows :] if self.max_table_rows else rows
        cells: list[list[Cell]] = [[format_value(r.get(c)) for c in columns] for r in shown]
        note = f"(last {len(shown)} of {len(rows)} rows)" if len(shown) < len(rows) else ""
        return _table(name, name, list(columns), cells, note)

    def tables(self) -> list[TableView]:
        """Every table: the values first, then the row/table metrics in the order they were first logged."""
        out = [self.values_table()] if self._values else []
        return out + [self.table(n) for n in self._tables]

    def images(self) -> list[ImageView]:
        return [{"name": n, "src": s} for n, s in self._images.items()]

    def metrics_table(self) -> TableView:
        """Per chart (scalar and list metrics): last, minimum, maximum and number of points, formatted (the System
        section's samples are in :meth:`system_table`)."""
        stats = [(n, s) for n, s in self._series.items() if chart_section(n) != "system"]
        for name, nums in self._lists.items():
            series = _Series()
            series.add(nums)
            stats.append((name, series))
        rows: list[list[Cell]] = []
        for name, s in stats:
            seen = s.minimum <= s.maximum  # False when every value was NaN
            lo, hi = (s.minimum, s.maximum) if seen else (math.nan, math.nan)
            rows.append([name, format_value(s.last), format_value(lo), format_value(hi), str(s.count)])
        return _table("metrics", "Metrics", ["Metric", "Last", "Min", "Max", "Points"], rows)

    def system_table(self) -> TableView:
        """The System section: per ``system/...`` metric, the last, minimum and maximum sample and their count."""
        rows: list[list[Cell]] = []
        for name, s in self._series.items():
            if chart_section(name) == "system":
                seen = s.minimum <= s.maximum
                lo, hi = (s.minimum, s.maximum) if seen else (math.nan, math.nan)
                rows.append([chart_title(name), format_value(s.last), format_value(lo), format_value(hi), str(s.count)])
        return _table("system", "System", ["Metric", "Last", "Min", "Max", "Samples"], rows)

    def sweep(self) -> SweepView | None:
        """The sweep view of a sweep parent's children (``None`` for any other run)."""
        from jupyter_amlrun.view.sections import section_for  # sections build on this module

        section = section_for(self.details.get("properties") or {})
        return section.children_view(self.children) if section is not None else None

    def list_values(self) -> dict[str, list[float]]:
        """The values of each ``log_list`` metric (what its chart draws)."""
        return dict(self._lists)
