"""``RunDetails``: the live run widget (anywidget + uPlot), a thin adapter over :mod:`jupyter_amlrun.view.watch`.

What to show is decided once, in Python, by the view model (:class:`~jupyter_amlrun.view.model.RunView`): the
status badge, the header texts, the main log, chart labels, tables as formatted cells. ``index.js`` only draws it,
and the static summary prints the same view, so the live and the saved view show the same numbers.

Wire format (every name in :mod:`jupyter_amlrun.notebook.protocol`). Small, persistent state is synced as traitlets
(``status``, ``header``, ``duration``, ``logs``, ``children``), so a saved notebook keeps the header. Chart points,
tables, images and log text travel as custom messages that hold only what is new (``delta``; chart points as float64
buffers). A view that attaches (first render, page reload, re-render) says ``hello`` and gets one ``reset`` snapshot;
it says ``bye`` when removed. The kernel thread ends at a terminal status, when the last view has been gone for a few
seconds, when the cell that showed the widget runs again or is deleted, or on :meth:`RunDetails.close`.

Saved notebooks: the output is the widget view, a marker with the run's id (``P.RUN_MIME``; JupyterLab and Notebook 7
with this package's extension show the run from the workspace when the widget's model is gone: a notebook reopened on a
fresh kernel, or a kernel restart) and ``text/html`` for readers without the extension. While the run is live that
HTML says so; when the run ends it becomes the static summary (:mod:`jupyter_amlrun.view.summary`: status, final
metrics, a matplotlib PNG of the charts, tables, images and the tail of the main log), published with
``update_display``. The interactive view (zoomable charts, the log panel, "load earlier output") stays while the
kernel lives; GitHub, nbviewer and other readers of the saved notebook show the summary.
"""

from __future__ import annotations

import contextlib
import functools
import html
import threading
import typing
import uuid
import weakref
from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from jupyter_amlrun.notebook import origin
from jupyter_amlrun.notebook import protocol as P
from jupyter_amlrun.runtime.status import is_terminal
from jupyter_amlrun.view.model import (
    ChartUpdate,
    RunView,
    ViewUpdate,
    main_log,
    status_view,
)
from jupyter_amlrun.view.summary import badge, summary_html
from jupyter_amlrun.view.watch import Backoff, Follower, LogChunk, RunDelta, RunWatcher

if TYPE_CHECKING:
    from jupyter_amlrun.core.run import Run

__all__ = ["RunDetails", "notify_enabled", "set_notify"]

STATIC = Path(__file__).parent / "static"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
# Chart points per message: keeps each websocket frame a few MB even for a snapshot of millions of points.
POINTS_PER_MESSAGE = 250_000
# A view may vanish for a moment (re-render, windowed notebook scrolling): wait this long before stopping.
NO_VIEW_GRACE_SECONDS = 5.0
SUMMARY_LOG_LINES = 200  # lines of the main log kept in the static summary

_live: weakref.WeakSet[RunDetails] = weakref.WeakSet()
_hooked_shells: weakref.WeakSet[Any] = weakref.WeakSet()
_current_cell: dict[str, str | None] = {"id": None}
# `%amlrun notify off|on`: whether RunDetails outputs shown from now on ask JupyterLab for a notice when the run ends.
_notify: dict[str, bool] = {"on": True}


def set_notify(on: bool) -> None:
    """Whether the runs shown from now on raise JupyterLab's notice when they end (``%amlrun notify off|on``).

    The setting goes to the front end in each RunDetails output's marker (``P.RunMarker.notify``): it concerns the
    runs this kernel shows, reaches exactly the browser that shows them, and needs no server state.
    """
    _notify["on"] = bool(on)


def notify_enabled() -> bool:
    """What :func:`set_notify` set last (on by default)."""
    return _notify["on"]


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

    A list of 2 or more runs (of one workspace) gives their compare view instead
    (:class:`~jupyter_amlrun.notebook.compare.CompareDetails`): one chart per metric with a line per run, and the
    parameters table with the differing rows first. A list of one run shows that run.

    Examples
    --------
    >>> RunDetails(run).show()  # doctest: +SKIP
    >>> RunDetails([run_a, run_b]).show()  # doctest: +SKIP
    """

    def __new__(cls, run_instance: Any = None, *args: Any, **kwargs: Any) -> Any:
        if isinstance(run_instance, (list, tuple)):
            from jupyter_amlrun.notebook.compare import CompareDetails, check_runs

            runs = check_runs(run_instance)
            if len(runs) > 1:
                return CompareDetails(runs, **{k: v for k, v in kwargs.items() if k == "interval"})
        return super().__new__(cls, *args, **kwargs)

    _esm = STATIC / "run_details.js"
    _css = STATIC / "run_details.css"

    # Synced state: the names are protocol.STATE_*; the values are views of view.model.
    run_id = traitlets.Unicode("").tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)
    header = traitlets.Dict().tag(sync=True)
    duration = traitlets.Unicode("").tag(sync=True)
    logs = traitlets.Dict().tag(sync=True)
    children = traitlets.Dict().tag(sync=True)

    def __init__(
        self, run_instance: Run | Sequence[Run], *, interval: float = 1.0, max_interval: float = 10.0, **kwargs: Any
    ) -> None:
        if isinstance(run_instance, (list, tuple)) and len(run_instance) == 1:
            run_instance = run_instance[0]  # RunDetails([run]): that run's view (__new__ checked the list)
        run_instance = typing.cast("Run", run_instance)
        if not hasattr(run_instance, "reader") or not hasattr(run_instance, "get_status"):
            raise TypeError(f"RunDetails needs a Run, got {type(run_instance).__name__}.")
        super().__init__(run_id=run_instance.id, **kwargs)
        self.run = run_instance
        self.watcher = RunWatcher(run_instance)
        # One read per image file, shared by the live view and the static summary.
        self._load_image = functools.lru_cache(maxsize=64)(self.watcher.load_image)
        # the Jupyter root links the notebook the run came from (%%submit) relative to it
        self.view = RunView(run_instance.id, load_image=self._load_image, root_dir=origin.jupyter_root())
        self._lock = threading.RLock()
        self.follower = Follower(
            self.watcher,
            self._on_delta,
            Backoff(interval, max_interval),
            on_end=self._on_follow_end,
            name=f"amlrun-rundetails-{run_instance.id[:8]}",
            lock=self._lock,
            clock=self._tick_clock,
            probe=self.watcher.journal_grew,
        )
        self.display_id = f"amlrun-{uuid.uuid4().hex}"
        self._notify = notify_enabled()  # fixed when made: `%amlrun notify` concerns the runs shown after it
        self.cell_id: str | None = None
        self._views = 0
        self._stopped = False  # stopped on purpose (close, cell re-run): views do not restart it
        self._shown = False
        self._summary_html: str | None = None
        self._published_final = False
        self._send_lock = threading.Lock()
        self._no_view_timer: threading.Timer | None = None
        self.on_msg(self._on_view_msg)

    @property
    def log_files(self) -> list[str]:
        """Names of the run's log files shown in the log picker."""
        return [f["name"] for f in self.logs.get("files", [])]

    # ------------------------------------------------------------------ public API
    def show(self, render_lib: Any = None, widget_settings: dict[str, Any] | None = None) -> None:
        """Display the live view under the cell and follow the run; when it ends, the view stays (while the kernel
        lives) and the output's HTML for readers without a kernel becomes the static summary.
        """
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
        main = main_log([c.name for c in snap.logs])
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
        self._apply_state(self.view.apply(delta))
        if delta.terminal:
            self._summary_html = self._build_summary()

    def _apply_state(self, upd: ViewUpdate) -> None:
        with self.hold_sync():
            if upd.status is not None:
                self.status = upd.status
            if upd.header is not None:
                self.header = dict(upd.header)
            if upd.duration is not None:
                self.duration = upd.duration
            if upd.logs is not None:
                self.logs = dict(upd.logs)
            if upd.children is not None:
                children: dict[str, Any] = dict(upd.children)
                if upd.sweep is not None:
                    children["sweep"] = dict(upd.sweep)  # a sweep parent: index.js draws the sweep section instead
                self.children = children

    def _on_delta(self, delta: RunDelta) -> None:
        upd = self.view.apply(delta)
        self._apply_state(upd)
        self._send_data(upd)

    def _tick_clock(self) -> None:
        # The duration grows while the run runs; the kernel is the clock (index.js formats nothing).
        with self._lock:
            self.duration = self.view.duration()

    def _send_data(self, upd: ViewUpdate) -> None:
        if not (upd.charts or upd.tables or upd.images or upd.log_chunks or upd.reset):
            return
        batches = _batches(upd.charts)
        with self._send_lock:
            for i, (scalars, lists, bufs) in enumerate(batches):
                first = i == 0
                content: P.DeltaMsg = {
                    "type": P.MSG_DELTA,
                    "reset": upd.reset and first,
                    "scalars": scalars,
                    "lists": lists,
                    "tables": upd.tables if first else [],
                    "images": upd.images if first else [],
                    "logs": [_chunk_msg(c) for c in upd.log_chunks] if first else [],
                    "has_metrics": upd.has_metrics,
                }
                self.send(content, bufs or None)

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
        plain = f"RunDetails(run_id={self.run.id!r}, status={self.status!r})"
        marker: P.RunMarker = {
            "run_id": self.run.id,
            "experiment": self.run.experiment.name,
            "notify": self._notify,
            "live": not is_terminal(self.status),
        }
        return {
            # The interactive view, while this kernel lives (also after the run ended).
            WIDGET_MIME: {"version_major": 2, "version_minor": 1, "model_id": self.model_id},
            # JupyterLab with our extension shows the run from the server when the widget's model is gone.
            P.RUN_MIME: dict(marker),
            "text/plain": plain,
            # Readers without the extension: the static summary once the run ended.
            "text/html": self._summary_html if self._summary_html is not None else self._live_html(),
        }

    def _live_html(self) -> str:
        return (
            '<div class="amlrun-summary"><b>RunDetails</b> for run '
            f"<code>{html.escape(self.run.id)}</code>: {badge(status_view(self.status))}. "
            "The live view needs a running kernel; a summary replaces this text when the run ends.</div>"
        )

    # ------------------------------------------------------------------ views -> kernel
    def _on_view_msg(self, _widget: Any, content: Any, buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == P.MSG_HELLO:
            self._views += 1
            self._cancel_no_view_timer()
            if not self._stopped and not self.watcher.terminal and not self.follower.alive:
                self.follower.start()
            with self._lock:  # no delta of the thread may land between this snapshot and its sending
                self._on_delta(self.watcher.snapshot())
        elif kind == P.MSG_BYE:
            self._views = max(0, self._views - 1)
            if self._views == 0 and self.follower.alive:
                self._cancel_no_view_timer()
                self._no_view_timer = threading.Timer(NO_VIEW_GRACE_SECONDS, self._stop_if_unseen)
                self._no_view_timer.daemon = True
                self._no_view_timer.start()
        elif kind == P.MSG_CANCEL:
            threading.Thread(target=self._cancel_run, name="amlrun-cancel", daemon=True).start()
        elif kind == P.MSG_LOG_MORE:
            chunk = self.watcher.read_log_before(str(content.get("name")), int(content.get("before") or 0))
            reply: P.LogOlderMsg = {"type": P.MSG_LOG_OLDER, "chunk": _chunk_msg(chunk) if chunk else None}
            with self._send_lock:
                self.send(reply)

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
        """The static HTML of the finished run, from the live view's model (:mod:`jupyter_amlrun.view.summary`)."""
        return summary_html(self.watcher, load_image=self._load_image)


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
def _batches(charts: list[ChartUpdate]) -> list[tuple[list[P.SeriesPart], list[P.SeriesPart], list[bytes]]]:
    """Chart points as messages of at most ``POINTS_PER_MESSAGE`` points: (scalar parts, list parts, buffers)."""
    batches: list[tuple[list[P.SeriesPart], list[P.SeriesPart], list[bytes]]] = []
    scalars: list[P.SeriesPart] = []
    lists: list[P.SeriesPart] = []
    bufs: list[bytes] = []
    count = 0
    for chart in charts:
        # range(max(n, 1)): an emptied list chart still gets its (empty) replacement.
        for lo in range(0, max(len(chart.ys), 1), POINTS_PER_MESSAGE):
            xs, ys = chart.xs[lo : lo + POINTS_PER_MESSAGE], chart.ys[lo : lo + POINTS_PER_MESSAGE]
            if count and count + len(ys) > POINTS_PER_MESSAGE:
                batches.append((scalars, lists, bufs))
                scalars, lists, bufs, count = [], [], [], 0
            part: P.SeriesPart = {
                "name": chart.name,
                "n": len(ys),
                "buffer": len(bufs),
                "replace": chart.replace and lo == 0,
                "reindex": chart.reindex and lo == 0,
                "label": chart.label,
                "section": chart.section,
                "title": chart.title or chart.name,
                "axis": chart.axis or chart.title or chart.name,
            }
            (scalars if chart.kind == "scalar" else lists).append(part)
            bufs.append(array("d", [*xs, *ys]).tobytes())
            count += len(ys)
    batches.append((scalars, lists, bufs))
    return batches


def _chunk_msg(c: LogChunk) -> P.LogChunkMsg:
    return {"name": c.name, "text": c.text, "start": c.start, "end": c.end, "head": c.head, "reset": c.reset}
