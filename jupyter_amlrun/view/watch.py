"""Watching a run incrementally: each tick returns only what is new since the last one.

This is the logic behind ``RunDetails`` kept free of Jupyter, so it can be tested and measured on its own. A tick's
cost is proportional to the new data, not to the run's history:

- status: one read of the run's state file (the live source for local runs); details only when the status changed;
- metrics: new journal records read from the last byte offset (``JournalReader``) for runs with a local folder, or,
  for finished runs without one, the MLflow history read once;
- logs: new bytes of each log file from its last offset (a large log starts at its tail; earlier parts are read on
  request with :meth:`RunWatcher.read_log_before`);
- child runs: queried every ``children_interval`` seconds and at the end, reported only when they changed.

:class:`Follower` runs ticks on a background thread with a back-off (:class:`Backoff`) and stops at a terminal status.
What to show for a delta (texts, labels, tables) is :mod:`jupyter_amlrun.view.model`'s business.

Reading a run's logs lives here only: the widget tails them (:meth:`RunWatcher.tick`), ``%amlrun logs`` reads one
whole (:meth:`RunWatcher.log_paths`, :meth:`RunWatcher.read_log`); both find them the same way (the run folder, or
the uploaded logs of a finished run opened without it).
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jupyter_amlrun._util.portal import run_link
from jupyter_amlrun.core.reader import JOURNAL, STORE, MetricCursor, RunReader
from jupyter_amlrun.runtime import tags as T
from jupyter_amlrun.runtime.status import is_terminal
from jupyter_amlrun.tracking import journal as _journal
from jupyter_amlrun.view.sections import section_for

if TYPE_CHECKING:
    from jupyter_amlrun.core.run import Run

__all__ = ["Backoff", "Follower", "LogChunk", "RunDelta", "RunWatcher"]

LOG_TAIL_BYTES = 64 * 1024
LOG_MAX_BYTES_PER_TICK = 512 * 1024
JOURNAL_MAX_BYTES_PER_TICK = 64 * 1024 * 1024


@dataclass
class LogChunk:
    """Bytes ``[start, end)`` of log file ``name``, decoded.

    ``reset`` says the file was replaced or truncated (the reader must drop what it has); ``head`` is the first byte
    the reader has of this file (> 0 when the start of a large log was not loaded yet).
    """

    name: str
    text: str
    start: int
    end: int
    head: int = 0
    reset: bool = False


@dataclass
class RunDelta:
    """What is new in a run since the previous tick.

    Attributes
    ----------
    status:
        The new status, or None when unchanged.
    details:
        ``Run.get_details()`` plus ``experiment``/``portalUrl``, when the status changed (else None).
    scalars:
        New numeric points per metric name: ``(steps, values)``.
    records:
        New non-numeric journal records (lists, rows, tables, images, text scalars) as stored in the journal.
    log_files:
        The full list of log file names when it changed (else None).
    logs:
        New text per log file.
    children:
        Child runs (``runId``, ``status``, ``metrics``, times) when they changed (else None).
    terminal:
        True once the run reached Completed, Failed or Canceled: nothing more will come.
    reset:
        True for a snapshot: the receiver replaces everything it has.
    """

    status: str | None = None
    details: dict[str, Any] | None = None
    scalars: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)
    log_files: list[str] | None = None
    logs: list[LogChunk] = field(default_factory=list)
    children: list[dict[str, Any]] | None = None
    terminal: bool = False
    reset: bool = False

    def is_empty(self) -> bool:
        """True when the tick found nothing new (the terminal flag alone counts as new)."""
        return (
            self.status is None
            and self.details is None
            and not self.scalars
            and not self.records
            and self.log_files is None
            and not self.logs
            and self.children is None
            and not self.terminal
        )

    def point_count(self) -> int:
        return sum(len(v) for _s, v in self.scalars.values())


class Backoff:
    """Poll interval: ``minimum`` while the run changes, growing by ``factor`` per idle tick up to ``maximum``."""

    def __init__(self, minimum: float = 1.0, maximum: float = 10.0, factor: float = 1.5) -> None:
        self.minimum = minimum
        self.maximum = maximum
        self.factor = factor
        self.current = minimum

    def next(self, changed: bool) -> float:
        """The wait before the next tick, given whether this tick brought anything new."""
        self.current = self.minimum if changed else min(self.maximum, self.current * self.factor)
        return self.current

    def reset(self) -> None:
        self.current = self.minimum


class _LogState:
    __slots__ = ("head", "ino", "offset")

    def __init__(self, offset: int, head: int, ino: int) -> None:
        self.offset = offset
        self.head = head
        self.ino = ino


def _add_point(scalars: dict[str, tuple[list[float], list[float]]], name: str, step: Any, value: float) -> None:
    steps, values = scalars.setdefault(name, ([], []))
    steps.append(float(step or 0))
    values.append(value)


def _split(records: list[dict[str, Any]]) -> tuple[dict[str, tuple[list[float], list[float]]], list[dict[str, Any]]]:
    scalars: dict[str, tuple[list[float], list[float]]] = {}
    others: list[dict[str, Any]] = []
    for rec in records:
        value = rec.get("v")
        if rec.get("k") == _journal.SCALAR and _journal.is_numeric(value):
            _add_point(scalars, rec["n"], rec.get("s", 0), float(value))  # type: ignore[arg-type]
        else:
            others.append(rec)
    return scalars, others


class RunWatcher:
    """Incremental reader of one run (status, metrics, logs, children), over a :class:`RunReader`.

    Parameters
    ----------
    run:
        The :class:`~jupyter_amlrun.core.run.Run` to watch (live or finished, local or opened by id), or a
        :class:`~jupyter_amlrun.core.reader.RunReader` of it.
    log_tail_bytes:
        A log first seen larger than this starts at its tail; earlier bytes come from :meth:`read_log_before`.
    log_max_bytes_per_tick:
        At most this many new bytes per log file per tick (the rest follows on the next ticks).
    children_interval:
        Seconds between child-run queries (they cost a tracking-store query, unlike the rest of a tick).
    """

    def __init__(
        self,
        run: Run | RunReader,
        *,
        log_tail_bytes: int = LOG_TAIL_BYTES,
        log_max_bytes_per_tick: int = LOG_MAX_BYTES_PER_TICK,
        children_interval: float = 5.0,
    ) -> None:
        if isinstance(run, RunReader):
            self.run: Run | None = None
            self.reader = run
        else:
            self.run = run
            # A reader of its own: the watcher ticks on a thread while the notebook uses the Run.
            self.reader = RunReader(run.workspace, run.id, record=run.record)
        self.log_tail_bytes = log_tail_bytes
        self.log_max_bytes_per_tick = log_max_bytes_per_tick
        self.children_interval = children_interval
        self._lock = threading.RLock()
        self._status: str | None = None
        self._terminal = False
        self._cursor: MetricCursor | None = None
        # Metrics read from the store (a run without its journal here), kept for snapshots.
        self._store_scalars: dict[str, tuple[list[float], list[float]]] = {}
        self._store_records: list[dict[str, Any]] = []
        self._logs: dict[str, _LogState] = {}
        self._log_files: list[str] | None = None
        self._children: list[dict[str, Any]] | None = None
        self._children_due = 0.0
        self._child_readers: dict[str, RunReader] = {}
        self._probed_size = -1
        self.ticks = 0

    # ------------------------------------------------------------------ public
    @property
    def status(self) -> str | None:
        """The last status seen."""
        return self._status

    @property
    def terminal(self) -> bool:
        """True once a tick saw a terminal status (and read everything after it)."""
        return self._terminal

    def tick(self) -> RunDelta:
        """Read what is new since the previous tick."""
        with self._lock:
            self.ticks += 1
            delta = RunDelta()
            # Status first: a terminal status is written after the journal and logs are complete, so reading the
            # data after it leaves nothing behind.
            status = self.reader.status()
            if status != self._status:
                self._status = status
                delta.status = status
                delta.details = self._details()
            terminal = is_terminal(status)
            self._read_metrics(delta)
            self._read_logs(delta)
            now = time.monotonic()
            if terminal or now >= self._children_due or delta.status is not None:
                self._children_due = now + self.children_interval
                children = self._child_views()
                if children != self._children:
                    self._children = children
                    delta.children = children
            if terminal:
                self._terminal = True
                delta.terminal = True
            return delta

    def journal_grew(self) -> bool:
        """Whether the run's journal holds bytes the last tick did not read (one ``stat``, no read).

        Cheap enough to call several times a second between ticks (``Follower``'s ``probe``): a point logged while
        the back-off has grown is then shown at once instead of after the current wait. A size reported once is not
        reported again (a partial last line waiting for its newline does not wake the follower over and over).
        """
        if self._cursor is not None and self._cursor.source != JOURNAL:
            return False
        size = self.reader.journal_size()
        offset = self._cursor.offset if self._cursor is not None else 0
        if size <= offset or size == self._probed_size:
            return False
        self._probed_size = size
        return True

    def snapshot(self) -> RunDelta:
        """Everything read so far (status, metrics, the loaded part of each log, children), as one reset delta.

        For a view that attaches late: the next :meth:`tick` continues exactly where this snapshot ends.
        """
        with self._lock:
            if self._status is None:
                self.tick()
            delta = RunDelta(reset=True, status=self._status, terminal=self._terminal)
            delta.details = self._details()
            cursor = self._cursor
            if cursor is not None and cursor.source == JOURNAL:
                if cursor.offset:
                    batch = self.reader.metrics(MetricCursor(JOURNAL, 0), max_bytes=cursor.offset)
                    delta.scalars, delta.records = _split(batch.records)
            else:
                delta.scalars = {k: (list(s), list(v)) for k, (s, v) in self._store_scalars.items()}
                delta.records = list(self._store_records)
            delta.log_files = list(self._log_files or [])
            paths = self.reader.log_paths()
            for name, st in self._logs.items():
                if name not in paths:
                    continue
                start = st.head
                if st.offset - start > self.log_tail_bytes:
                    start = self.reader.log_line_start(name, st.offset, self.log_tail_bytes, paths)
                got = self.reader.read_log(name, start, st.offset - start, paths)
                text = got.text if got is not None else ""
                delta.logs.append(LogChunk(name, text, start, st.offset, head=start, reset=True))
            delta.children = self._children
            return delta

    def read_log_before(self, name: str, before: int, size: int | None = None) -> LogChunk | None:
        """Up to ``size`` bytes of log ``name`` that end at byte ``before`` (for "load earlier output")."""
        with self._lock:
            paths = self.reader.log_paths()
            if name not in paths or before <= 0:
                return None
            size = size or self.log_tail_bytes
            start = max(0, before - size)
            if start > 0:
                start = self.reader.log_line_start(name, before, before - start, paths)
            got = self.reader.read_log(name, start, before - start, paths)
            st = self._logs.get(name)
            if st is not None and start < st.head:
                st.head = start
            return LogChunk(name, got.text if got is not None else "", start, before, head=start)

    def close(self) -> None:
        """Remove the temporary copy of a finished run's logs, if one was made."""
        with self._lock:
            self.reader.close()

    def load_image(self, path: str) -> bytes | None:
        """The bytes of an image logged with ``log_image`` (a run file such as ``images/plot_1.png``)."""
        return self.reader.read_file(path)

    # ------------------------------------------------------------------ parts
    def _details(self) -> dict[str, Any]:
        reader = self.reader
        try:
            details = reader.details().to_v1()
        except Exception as exc:  # a store hiccup must not end the watch
            details = {"runId": reader.run_id, "status": self._status, "detailsError": str(exc)}
        details["experiment"] = reader.experiment_name()
        details["portalUrl"] = run_link(reader.run_id, near=[reader.workspace.path]).url
        details.pop("logFiles", None)  # the log list travels on its own
        return details

    def _read_metrics(self, delta: RunDelta) -> None:
        cursor = self._cursor
        if cursor is not None and cursor.source == STORE and cursor.complete:
            return
        # A run without its journal here: its metrics are read from the store once, when it ended.
        if not self.reader.has_journal() and not is_terminal(self._status or ""):
            return
        batch = self.reader.metrics(cursor, max_bytes=JOURNAL_MAX_BYTES_PER_TICK)
        self._cursor = batch.cursor
        if batch.cursor.source == STORE:
            self._store_scalars, self._store_records = _split(batch.records)
            delta.scalars = {k: (list(s), list(v)) for k, (s, v) in self._store_scalars.items()}
            delta.records = list(self._store_records)
        elif batch.records:
            delta.scalars, delta.records = _split(batch.records)

    def _read_logs(self, delta: RunDelta) -> None:
        paths = self.reader.log_paths()
        names = sorted(paths)
        if names != self._log_files:
            self._log_files = names
            delta.log_files = list(names)
        for name in names:
            try:
                st_ = paths[name].stat()
            except FileNotFoundError:
                continue
            state = self._logs.get(name)
            reset = False
            if state is None or st_.st_ino != state.ino or st_.st_size < state.offset:
                reset = state is not None
                start = self.reader.log_line_start(name, st_.st_size, self.log_tail_bytes, paths)
                state = self._logs[name] = _LogState(start, start, st_.st_ino)
                if start == st_.st_size and not reset:
                    # An empty (or exactly consumed) new file: still announce where it starts.
                    continue
            if st_.st_size <= state.offset and not reset:
                continue
            got = self.reader.read_log(name, state.offset, self.log_max_bytes_per_tick, paths)
            if got is None:
                continue
            start = state.offset
            state.offset = got.end
            delta.logs.append(LogChunk(name, got.text, start, state.offset, head=state.head, reset=reset))

    def _child_views(self) -> list[dict[str, Any]]:
        try:
            records = self.reader.children()
        except Exception:
            return self._children or []
        section = section_for(T.properties(self.reader.record.tags))
        out = []
        for rec in records:
            child = self._child_readers.get(rec.run_id)
            if child is None:
                child = self._child_readers[rec.run_id] = self.reader.child(rec)
            child.record = rec  # the record just read (one search for all children)
            tags = rec.tags
            metrics = {k: (v if math.isfinite(v) else str(v)) for k, v in sorted(rec.metrics.items())}
            kid: dict[str, Any] = {
                "runId": rec.run_id,
                "name": rec.run_name,
                "status": tags.get(T.STATUS) or child.status(),
                "startTime": rec.start_time,
                "endTime": rec.end_time,
                "metrics": metrics,
            }
            if section is not None:
                kid.update(section.child_fields(child))
            out.append(kid)
        return out


class Follower:
    """Ticks a :class:`RunWatcher` on a daemon thread and hands every non-empty delta to ``on_delta``.

    ``lock`` (an ``RLock``) is held from each tick until its delta was handed over: take it to read a consistent
    snapshot. The thread runs in a copy of the starting thread's context (so Jupyter routes its output to the cell that
    started it), waits ``backoff`` between ticks, can be woken early with :meth:`wake`, and ends after the tick that
    sees a terminal status, on :meth:`stop`, or after ``max_errors`` consecutive failing ticks.

    ``clock`` (optional) is called every ``clock_interval`` seconds while the thread waits between ticks: a view that
    shows elapsed time refreshes it without the cost of a tick (ticks slow down to ``backoff.maximum`` when idle).

    ``probe`` (optional, cheap: e.g. :meth:`RunWatcher.journal_grew`) is called every ``probe_interval`` seconds while
    the thread waits longer than ``backoff.minimum`` (the back-off has grown: the run was idle); when it returns True
    the thread ticks at once. A run that keeps changing still ticks every ``backoff.minimum`` seconds.
    """

    def __init__(
        self,
        watcher: RunWatcher,
        on_delta: Callable[[RunDelta], None],
        backoff: Backoff | None = None,
        *,
        on_end: Callable[[], None] | None = None,
        max_errors: int = 10,
        name: str = "amlrun-watch",
        lock: threading.RLock | None = None,
        clock: Callable[[], None] | None = None,
        clock_interval: float = 1.0,
        probe: Callable[[], bool] | None = None,
        probe_interval: float = 0.2,
    ) -> None:
        self.watcher = watcher
        # Held across tick + on_delta, so a snapshot taken under the same lock never races a delta in flight.
        self.lock = lock or threading.RLock()
        self.on_delta = on_delta
        self.on_end = on_end
        self.backoff = backoff or Backoff()
        self.max_errors = max_errors
        self.name = name
        self.clock = clock
        self.clock_interval = clock_interval
        self.probe = probe
        self.probe_interval = probe_interval
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the thread (a no-op when it runs already)."""
        if self.alive:
            return
        self._stop.clear()
        ctx = contextvars.copy_context()
        self._thread = threading.Thread(target=ctx.run, args=(self._loop,), name=self.name, daemon=True)
        self._thread.start()

    def stop(self, join: bool = True, timeout: float = 5.0) -> None:
        """Ask the thread to end (it ends within one tick) and by default wait for it."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if join and thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def wake(self) -> None:
        """Tick now (e.g. after a cancel request) and go back to the fastest interval."""
        self.backoff.reset()
        self._wake.set()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        try:
            while not self._stop.is_set():
                with self.lock:
                    try:
                        delta = self.watcher.tick()
                        self.errors.clear()
                    except Exception as exc:
                        self.errors.append(exc)
                        if len(self.errors) >= self.max_errors:
                            return
                        delta = RunDelta()
                    if not delta.is_empty() and not self._stop.is_set():
                        with contextlib.suppress(Exception):
                            self.on_delta(delta)
                if delta.terminal:
                    return
                self._wait(self.backoff.next(not delta.is_empty()))
        finally:
            if self.on_end is not None:
                with contextlib.suppress(Exception):
                    self.on_end()

    def _wait(self, seconds: float) -> None:
        """Wait ``seconds`` (or until woken, or the probe sees news), calling the clock every ``clock_interval``."""
        start = time.monotonic()
        deadline = start + seconds
        probe = self.probe if seconds > self.backoff.minimum else None
        next_clock = start + self.clock_interval
        while True:
            now = time.monotonic()
            left = deadline - now
            if left <= 0:
                break
            step = left
            if self.clock is not None:
                step = min(step, max(0.0, next_clock - now))
            if probe is not None:
                step = min(step, self.probe_interval)
            if self._wake.wait(step):
                break
            now = time.monotonic()
            if self.clock is not None and not self._stop.is_set() and (now >= next_clock or now >= deadline):
                next_clock = now + self.clock_interval
                with contextlib.suppress(Exception):
                    self.clock()
            if probe is not None and not self._stop.is_set():
                try:
                    if probe():
                        break
                except Exception:
                    probe = None
        self._wake.clear()
