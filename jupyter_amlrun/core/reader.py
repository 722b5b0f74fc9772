"""RunReader: the one place that reads a run (status, details, logs, metrics, children).

``Run`` (v1 API), the widget's watcher, the server's REST service and ``%amlrun`` all read a run through a
:class:`RunReader`, so each question has one answer:

- **Which backend?** Resolved once per reader, from the launch handle kept in the run's state (``RunState.handle``,
  written by the submit path from what :meth:`ComputeBackend.launch` returned); the ``TARGET`` tag only for runs
  without a handle (interactive runs, runs of older versions).
- **Journal or store?** One rule (:meth:`RunReader.metrics`): a run's metrics come from its journal while its run
  folder holds one, from the tracking store after (with +-inf restored by
  :func:`~jupyter_amlrun.tracking.metrics.from_stored`).
- **Which logs?** The live files of the run folder while it exists (through the backend's ``log_sources``), the
  uploaded ``logs/...`` run files after.

On the read side no other module opens a run's journal (``tests/core/test_reader.py`` greps for it).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_amlrun._util.fileio import read_range, whole_chars
from jupyter_amlrun.core.contracts import LaunchHandle
from jupyter_amlrun.runtime import tags as T
from jupyter_amlrun.runtime.errors import ComputeTargetException
from jupyter_amlrun.runtime.runfolder import RunFolder, log_files_under
from jupyter_amlrun.runtime.status import RunStatus, is_terminal, status_of
from jupyter_amlrun.runtime.tags import float_tag, json_tag
from jupyter_amlrun.tracking import journal as _journal
from jupyter_amlrun.tracking import metrics as _metrics
from jupyter_amlrun.tracking.metrics import SampledSeries, downsample

if TYPE_CHECKING:
    from jupyter_amlrun.core.contracts import ComputeBackend
    from jupyter_amlrun.core.workspace import Workspace
    from jupyter_amlrun.tracking.store import RunRecord

__all__ = [
    "DEFAULT_ERROR",
    "Details",
    "LogRange",
    "MetricBatch",
    "MetricCursor",
    "RunReader",
    "iso_time",
    "whole_chars",
]

DEFAULT_ERROR = "Detailed error not set on the Run. Please check the logs for details."
JOURNAL = "journal"
STORE = "store"
DEFAULT_SERIES_POINTS = 1000  # points per series for a chart (MLflow's UI samples its charts to about as many)


# ---------------------------------------------------------------------------------------------------- helpers
def iso_time(ts: float | int | None, ms: bool = False) -> str | None:
    """``ts`` (epoch seconds, or milliseconds with ``ms``) as an ISO-8601 UTC string ending in ``Z``."""
    if ts is None:
        return None
    seconds = float(ts) / (1000.0 if ms else 1.0)
    return _dt.datetime.fromtimestamp(seconds, tz=_dt.timezone.utc).isoformat().replace("+00:00", "Z")


# ---------------------------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class Details:
    """What a run is, read once: the typed form of v1's ``get_details()`` (:meth:`to_v1` gives that dict)."""

    run_id: str
    display_name: str
    experiment_id: str
    status: str
    target: str
    start: float | None
    end: float | None  # only for an ended run
    properties: dict[str, str]
    tags: dict[str, str]
    inputs: list[Any]
    outputs: list[Any]
    script: str | None
    arguments: list[Any]
    environment: str | None
    environment_hash: str | None
    node_count: int
    max_run_duration_seconds: float | None
    snapshot_id: str | None
    source_directory: str | None
    log_files: dict[str, str]
    submitted_by: str
    parent_id: str | None
    exit_code: int | None = None
    error: str | None = None  # the message v1 shows under ``error`` (Failed, or Canceled with a reason)
    warnings: tuple[str, ...] = ()

    def to_v1(self) -> dict[str, Any]:
        """v1's ``Run.get_details()`` dict: runId, target, status, startTimeUtc, endTimeUtc, properties, ..."""
        out: dict[str, Any] = {
            "runId": self.run_id,
            "displayName": self.display_name,
            "target": self.target,
            "status": self.status,
            "startTimeUtc": iso_time(self.start) if self.start else None,
            "properties": dict(self.properties),
            "tags": dict(self.tags),
            "inputDatasets": list(self.inputs),
            "outputDatasets": list(self.outputs),
            "runDefinition": {
                "script": self.script,
                "arguments": list(self.arguments),
                "target": self.target,
                "environment": {"name": self.environment, "hash": self.environment_hash},
                "nodeCount": self.node_count,
                "maxRunDurationSeconds": self.max_run_duration_seconds,
                "snapshotId": self.snapshot_id,
                "sourceDirectory": self.source_directory,
            },
            "logFiles": dict(self.log_files),
            "submittedBy": self.submitted_by,
        }
        if is_terminal(self.status):
            out["endTimeUtc"] = iso_time(self.end) if self.end else None
        if self.exit_code is not None:
            out["exitCode"] = self.exit_code
        if self.error is not None:
            out["error"] = {"error": {"code": "UserError", "message": self.error}}
        if self.warnings:
            out["warnings"] = [{"message": w} for w in self.warnings]
        return out


@dataclass(frozen=True)
class MetricCursor:
    """Where the next :meth:`RunReader.metrics` call goes on: the source read and, for the journal, the byte offset.

    ``complete`` is true once a store read saw the run ended (nothing more will come from it).
    """

    source: str = ""
    offset: int = 0
    complete: bool = False


@dataclass
class MetricBatch:
    """Metric records (journal-shaped: ``k``, ``n``, ``v``, ``s``, ``t``) read after a cursor.

    ``reset`` says the records replace everything read before (a source switch, or a re-read store).
    """

    records: list[dict[str, Any]] = field(default_factory=list)
    cursor: MetricCursor = field(default_factory=MetricCursor)
    reset: bool = False


@dataclass(frozen=True)
class LogRange:
    """Bytes ``[start, end)`` of log ``name`` (a file of ``size`` bytes now), cut at whole UTF-8 characters."""

    name: str
    data: bytes
    start: int
    end: int
    size: int

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


# ---------------------------------------------------------------------------------------------------- the reader
class RunReader:
    """Reads one run of a workspace; cheap to make, meant to be kept while a run is followed.

    Parameters
    ----------
    workspace:
        The run's workspace.
    run_id:
        The run's id.
    record:
        The run's tracking record when the caller has it already (saves one store read).

    Raises
    ------
    RunNotFoundException
        The workspace has no run ``run_id`` (when ``record`` is not given).
    """

    def __init__(self, workspace: Workspace, run_id: str, record: RunRecord | None = None) -> None:
        self.workspace = workspace
        self.run_id = run_id
        self.folder = RunFolder(workspace.path, run_id)
        self._record = record if record is not None else workspace._get_run_record(run_id)
        self._backend: ComputeBackend | None = None
        self._logs_dir: Path | None = None  # uploaded logs of an ended run, downloaded once

    # ------------------------------------------------------------------ record and backend
    @property
    def record(self) -> RunRecord:
        """The run's tracking record as last read (see :meth:`refresh`); a caller that read it anew may set it."""
        return self._record

    @record.setter
    def record(self, rec: RunRecord) -> None:
        if rec.run_id != self.run_id:
            raise ValueError(f"record of run {rec.run_id!r} given to the reader of run {self.run_id!r}")
        self._record = rec

    def experiment_name(self) -> str:
        """The name of the run's experiment."""
        return self.workspace.store.experiment_name(self._record.experiment_id)

    def refresh(self) -> RunRecord:
        """Read the run's tracking record again (tags, metrics, end time)."""
        rec = self.workspace.store.get_run(self.run_id)
        if rec is not None:
            self._record = rec
        return self._record

    def handle(self) -> LaunchHandle | None:
        """The launch handle kept in the run's state, ``None`` for a run without one (interactive, older)."""
        doc = self.folder.read_state().handle if self.folder.exists() else None
        return LaunchHandle.from_dict(doc) if doc else None

    def backend(self) -> ComputeBackend:
        """The compute backend that runs this run, resolved once per reader (from the launch handle)."""
        if self._backend is None:
            self._backend = self._resolve_backend()
        return self._backend

    def _resolve_backend(self) -> ComputeBackend:
        from jupyter_amlrun.core.computetarget import resolve_backend
        from jupyter_amlrun.core.registry import compute_backends

        handle = self.handle()
        if handle is None:
            return resolve_backend(self.workspace, self._record.tags.get(T.TARGET, "local"))
        try:
            backend = resolve_backend(self.workspace, handle.target)
        except ComputeTargetException:
            backend = None  # the target was deleted since: the handle's kind still reads the run
        if backend is not None and backend.kind == handle.kind:
            return backend
        cls = compute_backends.load(handle.kind)
        return cls(self.workspace, handle.target, backend.config if backend is not None else {"type": handle.kind})

    # ------------------------------------------------------------------ status and details
    def status(self) -> str:
        """The v1 status string; a live run whose supervisor died is found and marked Failed here."""
        if self.folder.exists():
            return self.backend().status(self.folder)
        status = status_of(self.refresh())
        known = self.folder.last_known()
        if known is not None and not is_terminal(status) and not known.terminal:
            # The folder went under a live run and the store lags behind it: never step back (to NotStarted).
            return known.status
        return status

    def details(self) -> Details:
        """The run's details (status first, then the record, so an ended run's data is complete)."""
        status = self.status()
        rec = self.refresh()
        state = self.folder.read_state()
        tags = rec.tags
        start = state.start_time or float_tag(tags.get(T.START_TIME))
        end: float | None = None
        if is_terminal(status):
            end = state.end_time or float_tag(tags.get(T.END_TIME))
            if not end and rec.end_time:
                end = rec.end_time / 1000.0
        exit_code = state.exit_code if state.exit_code is not None else tags.get(T.EXIT_CODE)
        error = state.error or tags.get(T.ERROR)
        shown_error = None
        if status in (RunStatus.FAILED, RunStatus.CANCELED) and (error or status == RunStatus.FAILED):
            shown_error = error or DEFAULT_ERROR
        return Details(
            run_id=self.run_id,
            display_name=rec.run_name,
            experiment_id=rec.experiment_id,
            status=status,
            target=tags.get(T.TARGET, "local"),
            start=start or None,
            end=end,
            properties=T.properties(tags),
            tags=T.user_tags(tags),
            inputs=json_tag(tags.get(T.INPUTS), []),
            outputs=json_tag(tags.get(T.OUTPUTS), []),
            script=tags.get(T.SCRIPT),
            arguments=json_tag(tags.get(T.ARGUMENTS), []),
            environment=tags.get(T.ENVIRONMENT),
            environment_hash=tags.get(T.ENVIRONMENT_HASH),
            node_count=int(tags.get(T.NODE_COUNT, 1)),
            max_run_duration_seconds=float_tag(tags.get(T.MAX_RUN_DURATION_SECONDS)),
            snapshot_id=tags.get(T.SNAPSHOT_ID),
            source_directory=tags.get(T.SOURCE_DIRECTORY),
            log_files={name: str(path) for name, path in self.live_logs().items()},
            submitted_by=tags.get(T.USER, ""),
            parent_id=tags.get(T.PARENT_RUN_ID),
            exit_code=int(exit_code) if exit_code is not None else None,
            error=shown_error,
            warnings=tuple(state.warnings or ()),
        )

    # ------------------------------------------------------------------ logs
    def live_logs(self) -> dict[str, Path]:
        """Log files of the run folder readable on this machine, by name (``logs/...``); empty without a folder."""
        if not self.folder.exists():
            return {}
        return self.backend().log_sources(self.folder)

    def stored_log_names(self) -> list[str]:
        """The log files uploaded with the run (the run files under ``logs/``)."""
        return sorted(p for p, _size in self.workspace.store.list_artifacts(self.run_id, "logs"))

    def log_names(self) -> list[str]:
        """The run's log files: the live ones while its folder is here, else those uploaded with it."""
        live = self.live_logs()
        if live or self.folder.exists():
            return sorted(live)
        return self.stored_log_names()

    def log_paths(self) -> dict[str, Path]:
        """Local files of :meth:`log_names`: the live ones, or an ended run's uploaded logs (downloaded once).

        A run without a folder here that has not ended yet has no complete uploaded logs: empty.
        """
        if self.folder.exists():
            return self.live_logs()
        if self._logs_dir is None:
            if not is_terminal(self.status()):
                return {}
            self._logs_dir = Path(tempfile.mkdtemp(prefix="amlrun-logs-"))
            with contextlib.suppress(Exception):
                self.workspace.store.download_artifacts(self.run_id, "logs", self._logs_dir)
        return log_files_under(self._logs_dir / "logs")

    def read_log(
        self, name: str, start: int = 0, max_bytes: int | None = None, paths: Mapping[str, Path] | None = None
    ) -> LogRange | None:
        """Bytes of log ``name`` from ``start`` (at most ``max_bytes``; then cut after the last whole character).

        ``None`` when the run has no such log (see :meth:`log_names`). ``paths``: a :meth:`log_paths` the caller
        has just read (saves listing the logs again when reading several).
        """
        path = (self.log_paths() if paths is None else paths).get(name)
        if path is not None:
            return _log_range(name, read_range(path, start, max_bytes))
        if self.folder.exists() or name not in self.stored_log_names():
            return None
        # A run not ended here but with uploaded logs: this one as it is now.
        with tempfile.TemporaryDirectory() as tmp:
            got = self.workspace.store.download_artifacts(self.run_id, name, Path(tmp))
            return _log_range(name, read_range(got, start, max_bytes))

    def log_line_start(self, name: str, offset: int, tail: int, paths: Mapping[str, Path] | None = None) -> int:
        """Where to start showing the ``tail`` bytes of log ``name`` that end at ``offset``: a line start."""
        if offset <= tail:
            return 0
        start = offset - tail
        chunk = self.read_log(name, start, min(tail, 4096), paths)
        nl = chunk.data.find(b"\n") if chunk is not None else -1
        return start + nl + 1 if nl >= 0 else start

    def read_file(self, path: str) -> bytes | None:
        """The bytes of run file ``path`` (an uploaded file such as ``images/plot_1.png``); ``None`` if missing."""
        with tempfile.TemporaryDirectory() as tmp:
            try:
                return Path(self.workspace.store.download_artifacts(self.run_id, path, Path(tmp))).read_bytes()
            except Exception:
                return None

    def close(self) -> None:
        """Remove the downloaded copy of an ended run's logs, if one was made."""
        if self._logs_dir is not None:
            shutil.rmtree(self._logs_dir, ignore_errors=True)
            self._logs_dir = None

    # ------------------------------------------------------------------ metrics
    def metrics(self, cursor: MetricCursor | None = None, max_bytes: int | None = None) -> MetricBatch:
        """Metric records logged after ``cursor`` (all of them without one).

        The one rule: the journal while the run folder holds one (live, and after the end while the folder stays),
        the tracking store otherwise (+-inf restored). A store read returns everything, as a ``reset`` batch when it
        follows an earlier read; once a store read saw the run ended, later calls return nothing.
        """
        path = self.folder.journal_path
        if path.exists() and (cursor is None or cursor.source in ("", JOURNAL)):
            reader = _journal.JournalReader(path, cursor.offset if cursor is not None else 0)
            records = reader.read_new(max_bytes=max_bytes)
            return MetricBatch(records, MetricCursor(JOURNAL, reader.offset))
        if cursor is not None and cursor.source == STORE and cursor.complete:
            return MetricBatch([], cursor)
        terminal = is_terminal(self.status())
        records = self._store_records()
        return MetricBatch(records, MetricCursor(STORE, 0, terminal), reset=cursor is not None and bool(cursor.source))

    def has_journal(self) -> bool:
        """Whether the run folder here holds a metrics journal (then :meth:`metrics` reads it)."""
        return self.folder.journal_path.exists()

    def journal_size(self) -> int:
        """The journal's size in bytes now (0 without one): one ``stat``, for a cheap "anything new?" probe."""
        try:
            return self.folder.journal_path.stat().st_size
        except OSError:
            return 0

    def _store_records(self) -> list[dict[str, Any]]:
        store = self.workspace.store
        rec = self.refresh()
        out: list[dict[str, Any]] = []
        for key in sorted(rec.metrics):
            for step, ts, value in store.metric_history(self.run_id, key):
                # the store holds +-inf as +-max float; the journal has the real inf
                out.append(
                    {"k": _journal.SCALAR, "n": key, "v": _metrics.from_stored(float(value)), "s": step, "t": ts}
                )
        names = {p for p, _ in store.list_artifacts(self.run_id, ".amlrun")}
        if _journal.NONSCALAR_ARTIFACT in names:
            with tempfile.TemporaryDirectory() as tmp:
                path = store.download_artifacts(self.run_id, _journal.NONSCALAR_ARTIFACT, Path(tmp))
                out.extend(_journal.read_all(path))
        return out

    def scalar_series(self, name: str | None = None) -> dict[str, list[tuple[float, float]]]:
        """Numeric series by metric name, ``[(step, value), ...]`` in logged order (``name``: that metric only)."""
        points: dict[str, list[tuple[float, float, float]]] = {}
        for rec in self.metrics().records:
            value = rec.get("v")
            if rec.get("k") != _journal.SCALAR or (name is not None and rec.get("n") != name):
                continue
            if not _journal.is_numeric(value):
                continue  # strings are not charted
            step, at = float(rec.get("s") or 0), float(rec.get("t") or 0)
            points.setdefault(str(rec["n"]), []).append((step, at, float(value)))  # type: ignore[arg-type]
        return {
            k: [(s, float(v)) for s, _t, v in sorted(p, key=lambda x: (x[0], x[1]))] for k, p in sorted(points.items())
        }

    def sampled_series(self, name: str | None = None, points: int = DEFAULT_SERIES_POINTS) -> dict[str, SampledSeries]:
        """Numeric series by metric name cut to at most about ``points`` points each for display (:func:`downsample`:
        first, last, and each bucket's min and max kept), with each series' full length.

        An ended run's store is read column by column (:meth:`TrackingStore.metric_points`), not through MLflow's
        per-point objects; a journal is read as :meth:`metrics` reads it.
        """
        out: dict[str, SampledSeries] = {}
        if self.has_journal():
            for key, full in self.scalar_series(name).items():
                out[key] = SampledSeries(downsample(full, points), len(full))
            return out
        for key in self._store_keys(name):
            full = self._store_points(key, 0, None)
            out[key] = SampledSeries(downsample(full, points), len(full))
        return out

    def series_page(self, name: str, offset: int = 0, limit: int = 10_000) -> list[tuple[float, float]]:
        """The full history of metric ``name`` from point ``offset``, at most ``limit`` points (``[]`` past the end):
        page it by passing ``offset + len(answer)`` until a page comes back shorter than ``limit``."""
        if self.has_journal():
            return self.scalar_series(name).get(name, [])[offset : offset + limit]
        if name not in self._store_keys(name):
            return []
        return self._store_points(name, offset, limit)

    def _store_keys(self, name: str | None) -> list[str]:
        keys = sorted(self.refresh().metrics)
        return [k for k in keys if name is None or k == name]

    def _store_points(self, key: str, offset: int, limit: int | None) -> list[tuple[float, float]]:
        points = self.workspace.store.metric_points(self.run_id, key, offset, limit)
        return [(float(step), _metrics.from_stored(float(value))) for step, _ts, value in points]

    # ------------------------------------------------------------------ children
    def children(self) -> list[RunRecord]:
        """The records of the run's direct children, oldest first."""
        store = self.workspace.store
        records = store.search_runs(
            [self._record.experiment_id], filter_string=f"tags.`{T.PARENT_RUN_ID}` = '{self.run_id}'"
        )
        return list(reversed(records))

    def child(self, record: RunRecord) -> RunReader:
        """A reader of one child (from :meth:`children`)."""
        return RunReader(self.workspace, record.run_id, record=record)


def _log_range(name: str, got: tuple[bytes, int, int] | None) -> LogRange | None:
    if got is None:
        return None
    data, begin, size = got
    return LogRange(name, data, begin, begin + len(data), size)
