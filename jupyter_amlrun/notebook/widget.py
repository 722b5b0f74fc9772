"""``RunDetails``: the live run widget (anywidget + uPlot), a thin adapter over :mod:`jupyter_amlrun.core.watch`.

Wire format. Small, persistent state is synced as traitlets (``status``, ``details``, ``log_files``, ``children``), so
a saved notebook keeps the header. Metric points, non-scalar metrics and log text travel as custom messages that hold
only what is new (``{"type": "delta", ...}``; scalar points as float64 buffers). A view that attaches (first render,
page reload, re-render) says ``hello`` and gets one ``reset`` snapshot; it says ``bye`` when removed. The kernel thread
ends at a terminal status, when the last view has been gone for a few seconds, when the cell that showed the widget
runs again or is deleted, or on :meth:`RunDetails.close`.

Saved notebooks: the displayed output is a bundle of the widget view plus ``text/html``. When the run ends, the
``text/html`` part is replaced (``update_display``) by a static summary (status, final metrics, a matplotlib PNG of
the charts), which GitHub/nbviewer show without a kernel.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as _dt
import html
import io
import math
import threading
import uuid
import weakref
from array import array
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from jupyter_amlrun.core.status import is_terminal
from jupyter_amlrun.core.watch import Backoff, Follower, LogChunk, RunDelta, RunWatcher

if TYPE_CHECKING:
    from jupyter_amlrun.core.run import Run

__all__ = ["RunDetails"]

STATIC = Path(__file__).parent / "static"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
# Scalar points per message: keeps each websocket frame a few MB even for a snapshot of millions of points.
POINTS_PER_MESSAGE = 250_000
# A view may vanish for a moment (re-render, windowed notebook scrolling): wait this long before stopping.
NO_VIEW_GRACE_SECONDS = 5.0
STATUS_COLORS = {
    "Completed": "#2e7d32",
    "Failed": "#c62828",
    "Canceled": "#757575",
    "CancelRequested": "#8e24aa",
    "Running": "#1565c0",
    "Finalizing": "#1565c0",
}

_live: weakref.WeakSet[RunDetails] = weakref.WeakSet()
_hooked_shells: weakref.WeakSet[Any] = weakref.WeakSet()
_current_cell: dict[str, str | None] = {"id": None}


class RunDetails(anywidget.AnyWidget):
    """Live view of a run: status, metric charts, logs and child runs (v1 ``azureml.widgets.RunDetails``).

    Parameters
    ----------
    run_instance:
        The :class:`~jupyter_amlrun.core.run.Run` to show: live or finished, submitted here or opened with
        ``Run.get(ws, run_id)``.
    interval:
        Seconds between polls while the run changes.
    max_interval:
        Longest wait between polls once the run is idle (the interval grows by 1.5x per idle poll).

    Examples
    --------
    >>> RunDetails(run).show()  # doctest: +SKIP
    """

    _esm = STATIC / "run_details.js"
    _css = STATIC / "run_details.css"

    run_id = traitlets.Unicode("").tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)
    details = traitlets.Dict().tag(sync=True)
    log_files: traitlets.List[str] = traitlets.List().tag(sync=True)
    children: traitlets.List[Any] = traitlets.List().tag(sync=True)

    def __init__(self, run_instance: Run, *, interval: float = 1.0, max_interval: float = 10.0, **kwargs: Any) -> None:
        if not hasattr(run_instance, "_folder") or not hasattr(run_instance, "get_status"):
            raise TypeError(f"RunDetails needs a Run, got {type(run_instance).__name__}.")
        super().__init__(run_id=run_instance.id, **kwargs)
        self.run = run_instance
        self.watcher = RunWatcher(run_instance)
        self._lock = threading.RLock()
        self.follower = Follower(
            self.watcher,
            self._on_delta,
            Backoff(interval, max_interval),
            on_end=self._on_follow_end,
            name=f"amlrun-rundetails-{run_instance.id[:8]}",
            lock=self._lock,
        )
        self.display_id = f"amlrun-{uuid.uuid4().hex}"
        self.cell_id: str | None = None
        self._views = 0
        self._stopped = False  # stopped on purpose (close, cell re-run): views do not restart it
        self._shown = False
        self._summary_html: str | None = None
        self._published_final = False
        self._images: dict[str, str | None] = {}
        self._send_lock = threading.Lock()
        self._no_view_timer: threading.Timer | None = None
        self.on_msg(self._on_view_msg)

    # ------------------------------------------------------------------ public API
    def show(self, render_lib: Any = None, widget_settings: dict[str, Any] | None = None) -> None:
        """Display the widget under the cell and follow the run until it ends."""
        from IPython.display import display

        shell = _shell()
        if shell is not None:
            _install_hooks(shell)
        self.cell_id = _current_cell["id"]
        self._shown = True
        with self._lock:
            self._prime()
        if is_terminal(self.status):
            self._published_final = True
        display(self._bundle(), raw=True, display_id=self.display_id)
        _live.add(self)
        if not self.watcher.terminal:
            self.follower.start()

    def get_widget_data(self, widget_settings: dict[str, Any] | None = None) -> dict[str, Any]:
        """The data the widget shows, in v1's ``get_widget_data`` shape (status, run_properties, run_metrics, ...)."""
        snap = RunWatcher(self.run).snapshot()
        details = snap.details or {}
        metrics = [
            {"name": name, "run_id": self.run.id, "categories": list(range(len(values))), "series": [{"data": values}]}
            for name, (_steps, values) in snap.scalars.items()
        ]
        main = _main_log([c.name for c in snap.logs])
        return {
            "status": snap.status,
            "workbench_run_details_uri": details.get("portalUrl"),
            "run_id": self.run.id,
            "run_properties": {
                "run_id": self.run.id,
                "created_utc": details.get("startTimeUtc"),
                "properties": details.get("properties", {}),
                "tags": details.get("tags", {}),
                "script_name": details.get("runDefinition", {}).get("script"),
                "arguments": " ".join(details.get("runDefinition", {}).get("arguments", [])),
                "end_time_utc": details.get("endTimeUtc"),
                "status": snap.status,
                "log_files": {c.name: c.name for c in snap.logs},
            },
            "run_metrics": metrics,
            "run_logs": next((c.text for c in snap.logs if c.name == main), ""),
            "child_runs": snap.children or [],
            "widget_settings": widget_settings or {},
        }

    def stop(self) -> None:
        """Stop following the run (the widget keeps what it shows)."""
        if "follower" not in self.__dict__:
            return  # __init__ failed before the thread existed (Widget.__del__ still calls close)
        self._stopped = True
        self._cancel_no_view_timer()
        self.follower.stop(join=False)

    def close(self) -> None:
        """Stop the thread and close the widget's comm."""
        self.stop()
        _live.discard(self)
        super().close()

    # ------------------------------------------------------------------ kernel -> views
    def _prime(self) -> None:
        """First tick on the caller's thread, so the header is right the moment the widget appears."""
        delta = self.watcher.tick()
        self._apply_state(delta)
        if delta.terminal:
            self._summary_html = self._build_summary()

    def _apply_state(self, delta: RunDelta) -> None:
        with self.hold_sync():
            if delta.status is not None:
                self.status = delta.status
            if delta.details is not None:
                self.details = _jsonable(delta.details)
            if delta.log_files is not None:
                self.log_files = delta.log_files
            if delta.children is not None:
                self.children = _jsonable(delta.children)

    def _on_delta(self, delta: RunDelta) -> None:
        self._apply_state(delta)
        self._send_data(delta)

    def _send_data(self, delta: RunDelta) -> None:
        if not (delta.scalars or delta.records or delta.logs or delta.reset):
            return
        records = [self._with_image(r) for r in delta.records]
        logs = [_chunk_dict(c) for c in delta.logs]
        batches: list[tuple[list[dict[str, Any]], list[bytes]]] = []
        metas: list[dict[str, Any]] = []
        bufs: list[bytes] = []
        count = 0
        for name, (steps, values) in delta.scalars.items():
            for lo in range(0, len(values), POINTS_PER_MESSAGE):
                part_s, part_v = steps[lo : lo + POINTS_PER_MESSAGE], values[lo : lo + POINTS_PER_MESSAGE]
                if count and count + len(part_v) > POINTS_PER_MESSAGE:
                    batches.append((metas, bufs))
                    metas, bufs, count = [], [], 0
                metas.append({"name": name, "n": len(part_v), "buffer": len(bufs)})
                bufs.append(array("d", part_s + part_v).tobytes())
                count += len(part_v)
        batches.append((metas, bufs))
        with self._send_lock:
            for i, (m, b) in enumerate(batches):
                content: dict[str, Any] = {"type": "delta", "scalars": m, "reset": delta.reset and i == 0}
                if i == 0:
                    content["records"] = records
                    content["logs"] = logs
                self.send(content, b or None)

    def _with_image(self, rec: dict[str, Any]) -> dict[str, Any]:
        if rec.get("k") != "image":
            return rec
        path = str(rec.get("v"))
        if path not in self._images:
            data = self.watcher.load_image(path)
            self._images[path] = "data:image/png;base64," + base64.b64encode(data).decode() if data else None
        return {**rec, "data": self._images[path]}

    def _on_follow_end(self) -> None:
        if not self.watcher.terminal:
            return
        self._summary_html = self._build_summary()
        if self._shown:
            # From the thread: its context is the showing cell's, so the update reaches that cell's output.
            self._publish()

    def _publish(self) -> None:
        from IPython.display import update_display

        with contextlib.suppress(Exception):
            update_display(self._bundle(), raw=True, display_id=self.display_id)

    def _bundle(self) -> dict[str, Any]:
        return {
            WIDGET_MIME: {"version_major": 2, "version_minor": 1, "model_id": self.model_id},
            "text/plain": f"RunDetails(run_id={self.run.id!r}, status={self.status!r})",
            "text/html": self._summary_html or self._live_html(),
        }

    def _live_html(self) -> str:
        return (
            '<div class="amlrun-summary"><b>RunDetails</b> for run '
            f"<code>{html.escape(self.run.id)}</code>: {_badge(self.status)}. "
            "The live view needs a running kernel; a summary replaces this text when the run ends.</div>"
        )

    # ------------------------------------------------------------------ views -> kernel
    def _on_view_msg(self, _widget: Any, content: Any, buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "hello":
            self._views += 1
            self._cancel_no_view_timer()
            if not self._stopped and not self.watcher.terminal and not self.follower.alive:
                self.follower.start()
            with self._lock:  # no delta of the thread may land between this snapshot and its sending
                snap = self.watcher.snapshot()
                self._apply_state(snap)
                self._send_data(snap)
        elif kind == "bye":
            self._views = max(0, self._views - 1)
            if self._views == 0 and self.follower.alive:
                self._cancel_no_view_timer()
                self._no_view_timer = threading.Timer(NO_VIEW_GRACE_SECONDS, self._stop_if_unseen)
                self._no_view_timer.daemon = True
                self._no_view_timer.start()
        elif kind == "cancel":
            threading.Thread(target=self._cancel_run, name="amlrun-cancel", daemon=True).start()
        elif kind == "log_more":
            chunk = self.watcher.read_log_before(str(content.get("name")), int(content.get("before") or 0))
            with self._send_lock:
                self.send({"type": "log_older", "chunk": _chunk_dict(chunk) if chunk else None})

    def _cancel_run(self) -> None:
        with contextlib.suppress(Exception):
            self.run.cancel()
        if not self.follower.alive and not self.watcher.terminal:
            self._stopped = False
            self.follower.start()
        self.follower.wake()

    def _stop_if_unseen(self) -> None:
        if self._views == 0:
            self.follower.stop(join=False)

    def _cancel_no_view_timer(self) -> None:
        if self._no_view_timer is not None:
            self._no_view_timer.cancel()
            self._no_view_timer = None

    # ------------------------------------------------------------------ static summary
    def _build_summary(self) -> str:
        snap = self.watcher.snapshot()
        details = snap.details or {}
        status = snap.status or ""
        start, end = _parse_iso(details.get("startTimeUtc")), _parse_iso(details.get("endTimeUtc"))
        duration = _fmt_duration(end - start) if start and end else ""
        definition = details.get("runDefinition") or {}
        rows = [
            ("Experiment", html.escape(str(details.get("experiment", "")))),
            ("Run", f"<code>{html.escape(self.run.id)}</code>"),
            ("Status", _badge(status)),
            ("Duration", duration),
            ("Compute", html.escape(str(details.get("target", "")))),
            (
                "Script",
                html.escape(_command(definition)),
            ),
        ]
        head = "".join(f'<tr><th style="text-align:left;padding-right:12px">{k}</th><td>{v}</td></tr>' for k, v in rows)
        error = (details.get("error") or {}).get("error", {}).get("message")
        parts = [
            '<div class="amlrun-summary">',
            "<b>Run details</b> (static summary; re-run with a kernel for the live view)",
            f"<table>{head}</table>",
        ]
        if error:
            parts.append(f'<pre style="color:#c62828;white-space:pre-wrap">{html.escape(str(error))}</pre>')
        if snap.scalars:
            metric_rows = "".join(
                f"<tr><td>{html.escape(n)}</td><td>{_fmt(v[-1])}</td><td>{_fmt(min(v))}</td><td>{_fmt(max(v))}</td>"
                f"<td>{len(v)}</td></tr>"
                for n, (_s, v) in snap.scalars.items()
            )
            parts.append(
                "<table><tr><th>Metric</th><th>Last</th><th>Min</th><th>Max</th><th>Points</th></tr>"
                f"{metric_rows}</table>"
            )
            png = _chart_png(snap.scalars)
            if png:
                parts.append(f'<img alt="metric charts" src="data:image/png;base64,{png}"/>')
        others = _last_values(snap.records)
        if others:
            rows_html = "".join(
                f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in others.items()
            )
            parts.append(f"<table><tr><th>Name</th><th>Value</th></tr>{rows_html}</table>")
        parts.append("</div>")
        return "".join(parts)


# ---------------------------------------------------------------------- IPython hooks
def _shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _install_hooks(shell: Any) -> None:
    """Once per shell: know the running cell's id; stop widgets of a cell that runs again or was deleted; publish
    summaries of runs that ended (also from the main thread, for front ends that only listen to the running cell)."""
    if shell in _hooked_shells:
        return
    _hooked_shells.add(shell)
    shell.events.register("pre_run_cell", _pre_run_cell)
    shell.events.register("post_run_cell", _post_run_cell)


def _pre_run_cell(info: Any) -> None:
    cell_id = getattr(info, "cell_id", None)
    _current_cell["id"] = cell_id
    deleted: list[str] = []
    shell = _shell()
    with contextlib.suppress(Exception):
        deleted = list((shell.get_parent() or {}).get("metadata", {}).get("deletedCells") or [])
    for widget in list(_live):
        if widget.cell_id and (widget.cell_id == cell_id or widget.cell_id in deleted):
            widget.stop()
            _live.discard(widget)


def _post_run_cell(result: Any) -> None:
    for widget in list(_live):
        if widget._published_final:
            continue
        if not widget.watcher.terminal:
            try:
                if not is_terminal(widget.run.get_status()):
                    continue
            except Exception:
                continue
            widget.follower.stop(join=True, timeout=10)
            with widget._lock:
                if not widget.watcher.terminal:
                    widget._on_delta(widget.watcher.tick())
        if widget._summary_html is None:
            widget._summary_html = widget._build_summary()
        widget._published_final = True
        widget._publish()


# ---------------------------------------------------------------------- helpers
def _command(definition: dict[str, Any]) -> str:
    return " ".join([str(definition.get("script") or ""), *map(str, definition.get("arguments") or [])])


def _main_log(names: list[str]) -> str | None:
    users = sorted(n for n in names if "user_logs/std_log" in n)
    if users:
        return next((n for n in users if n.endswith("std_log.txt")), users[0])
    return next((n for n in names if "driver_log" in n), names[0] if names else None)


def _chunk_dict(c: LogChunk) -> dict[str, Any]:
    return {"name": c.name, "text": c.text, "start": c.start, "end": c.end, "head": c.head, "reset": c.reset}


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _badge(status: str) -> str:
    color = STATUS_COLORS.get(status, "#ef8f00")
    return (
        f'<span style="background:{color};color:#fff;padding:1px 8px;border-radius:10px;font-weight:600">'
        f"{html.escape(status or '?')}</span>"
    )


def _parse_iso(value: Any) -> float | None:
    if not value:
        return None
    try:
        return _dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _fmt_duration(seconds: float) -> str:
    s = max(0, int(seconds))
    h, m, sec = s // 3600, (s % 3600) // 60, s % 60
    return f"{h}h {m}m {sec}s" if h else f"{m}m {sec}s" if m else f"{sec}s"


def _fmt(v: float) -> str:
    if not math.isfinite(v):
        return str(v)
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.6g}"


def _last_values(records: list[dict[str, Any]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for rec in records:
        kind, name, value = rec.get("k"), str(rec.get("n")), rec.get("v")
        if kind == "scalar":
            out[name] = str(value)
        elif kind == "list":
            out[name] = f"list of {len(value) if isinstance(value, list) else '?'} values"
        elif kind in ("row", "table"):
            out[name] = "table"
        elif kind == "image":
            out[name] = f"image {value}"
    return out


def _chart_png(scalars: dict[str, tuple[list[float], list[float]]], max_charts: int = 12) -> str | None:
    """A PNG (base64) of one small line chart per scalar metric; uses matplotlib's Agg canvas, not pyplot."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return None
    names = list(scalars)[:max_charts]
    if not names:
        return None
    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    fig = Figure(figsize=(3.4 * cols, 2.3 * rows), dpi=80)
    FigureCanvasAgg(fig)
    for i, name in enumerate(names):
        steps, values = scalars[name]
        stride = max(1, len(values) // 2000)  # a summary image needs no more points than pixels
        ax = fig.add_subplot(rows, cols, i + 1)
        if len(values) == 1:
            ax.plot(steps, values, "o", color="#1f77b4")
        else:
            ax.plot(steps[::stride], values[::stride], color="#1f77b4", linewidth=1.2)
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode()
