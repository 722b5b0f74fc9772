"""MLflow as the system of record: experiments, runs, tags, metrics, artifacts and the model registry.

This is the only module that imports mlflow (lazily: ``import jupyter_amlrun`` stays fast, and the run driver
can start the user's script before paying for the mlflow import).
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import logging
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlparse

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

T = TypeVar("T")
MAX_BATCH = 1000  # MLflow's per-call limit for log_batch
MAX_TAG_LENGTH = 5000
# A migrated, empty MLflow sqlite store that new sqlite stores copy instead of migrating (tests set it).
STORE_TEMPLATE_ENV = "AMLRUN_STORE_TEMPLATE"
BULK_CHUNK = 50_000  # points per bulk-insert transaction: big enough to amortise, small enough to hold in memory

_lock = threading.Lock()
_clients: dict[tuple[str, str], Any] = {}
_preload: threading.Thread | None = None


def preload(modules: Sequence[str] = ()) -> None:
    """Import MLflow's client and sqlite store in a background thread, once (``%load_ext jupyter_amlrun`` calls it).

    The first submit of a fresh kernel needs them (the experiment and the run are created in the store) and they
    are most of its time (~2 s of imports); loaded while the user writes the cell, the submit does not wait for them.
    Every use of MLflow here waits for the thread first (:attr:`TrackingStore.client`), so two threads never import
    MLflow at once. ``modules`` are imported after it (the caller's submit path): modules without import cycles
    among them, which another thread may import at the same time safely (it waits on the module's import lock).
    """
    global _preload
    with _lock:
        if _preload is not None or "mlflow.store.tracking.sqlalchemy_store" in sys.modules:
            return
        _preload = threading.Thread(
            target=_import_mlflow, args=(tuple(modules),), name="amlrun-mlflow-preload", daemon=True
        )
        _preload.start()


def _import_mlflow(modules: tuple[str, ...] = ()) -> None:
    with contextlib.suppress(Exception):  # a broken install says so on first real use, with its own error
        _quiet_mlflow_logs()
        import alembic.command  # noqa: F401 - MLflow's sqlite store imports it when it opens a store
        import mlflow.store.tracking.sqlalchemy_store
        import mlflow.tracking  # noqa: F401
    for name in modules:
        with contextlib.suppress(Exception):
            importlib.import_module(name)


def _wait_preload() -> None:
    """Called before every MLflow import here: never import MLflow beside the preload thread (import locks)."""
    thread = _preload
    if thread is not None and thread is not threading.current_thread():
        thread.join()


def _quiet_mlflow_logs() -> None:
    for name in (
        "mlflow.store.db.utils",
        "alembic",
        "alembic.runtime.migration",
        "mlflow.tracking._tracking_service",
    ):
        logging.getLogger(name).setLevel(logging.WARNING)
    # It logs a traceback for every locked attempt; the error itself reaches the caller, and a lock wait is said once
    # by _retry instead.
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)


@dataclass
class RunRecord:
    """What MLflow knows of one run, in plain Python types."""

    run_id: str
    experiment_id: str
    run_name: str
    mlflow_status: str
    start_time: int | None
    end_time: int | None
    artifact_uri: str
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass
class ModelVersionRecord:
    """One version of a registered model."""

    name: str
    version: int
    source: str
    run_id: str | None
    description: str
    tags: dict[str, str]
    creation_time: int


def file_uri_to_path(uri: str) -> Path | None:
    """Return the local path of a ``file:`` URI (or a bare path), else None."""
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return Path(unquote(parsed.path))
    return None


def _retry(fn: Callable[[], T], attempts: int = 6) -> T:
    """Retry transient sqlite contention; anything else is raised at once. A wait for another process's lock is said
    once (:mod:`jupyter_amlrun.tracking._lockwait`)."""
    from jupyter_amlrun.tracking._lockwait import LockNotice, max_wait_seconds

    delay = 0.2
    notice = LockNotice(lambda: [uri for uri, _ in list(_clients)], max_wait_seconds(attempts, delay))
    try:
        for i in range(attempts):
            try:
                return fn()
            except Exception as exc:
                text = str(exc).lower()
                if i == attempts - 1 or ("locked" not in text and "busy" not in text):
                    raise
                time.sleep(delay)
                delay *= 2
    finally:
        notice.done()
    raise AssertionError("unreachable")


class TrackingStore:
    """A typed facade over ``MlflowClient`` for one workspace.

    Parameters
    ----------
    tracking_uri:
        MLflow tracking URI (``sqlite:///...`` by default, ``http://...`` for a team server).
    artifact_root:
        Local folder for run artifacts when the store is local; None lets the server decide.
    """

    def __init__(self, tracking_uri: str, artifact_root: Path | None = None) -> None:
        self.tracking_uri = tracking_uri
        self.artifact_root = artifact_root

    @property
    def client(self) -> Any:
        key = (self.tracking_uri, str(self.artifact_root))
        _wait_preload()
        with _lock:
            client = _clients.get(key)
            if client is None:
                _quiet_mlflow_logs()
                from mlflow.tracking import MlflowClient

                client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)
                _clients[key] = client
        return client

    def initialize(self) -> None:
        """Create the store's tables (MLflow migrates a new sqlite file on first use).

        A new sqlite store starts as a copy of ``$AMLRUN_STORE_TEMPLATE`` when that names an empty store which this
        MLflow migrated already: the migration costs a second or more per store, so the test suite sets it.
        """
        self._seed_from_template()
        _retry(lambda: self.client.search_experiments(max_results=1))

    def _seed_from_template(self) -> None:
        template = os.environ.get(STORE_TEMPLATE_ENV)
        if not template or not self.tracking_uri.startswith("sqlite:///") or not Path(template).is_file():
            return
        target = Path(self.tracking_uri[len("sqlite:///") :])
        if target.exists() or not target.parent.is_dir():
            return
        # Copy beside the target, then link into place: a store someone made meanwhile is never overwritten.
        partial = target.with_name(f".{target.name}.{os.getpid()}.template")
        shutil.copyfile(template, partial)
        try:
            os.link(partial, target)
        except OSError:
            pass  # made meanwhile, or no hard links on this file system: MLflow opens or migrates what is there
        finally:
            partial.unlink(missing_ok=True)

    # ---------------------------------------------------------------- experiments
    def get_experiment_id(self, name: str) -> str | None:
        exp = _retry(lambda: self.client.get_experiment_by_name(name))
        return None if exp is None else str(exp.experiment_id)

    def get_or_create_experiment(self, name: str) -> str:
        exp_id = self.get_experiment_id(name)
        if exp_id is not None:
            return exp_id
        location = None
        if self.artifact_root is not None:
            location = (self.artifact_root / name).as_uri()
        try:
            return str(_retry(lambda: self.client.create_experiment(name, artifact_location=location)))
        except Exception:
            # Another process created it between our read and our write.
            exp_id = self.get_experiment_id(name)
            if exp_id is None:
                raise
            return exp_id

    def list_experiments(self) -> list[tuple[str, str]]:
        """Return ``(experiment_id, name)`` pairs, excluding MLflow's empty 'Default'."""
        exps = _retry(lambda: self.client.search_experiments(max_results=10000))
        return [(str(e.experiment_id), e.name) for e in exps if e.name != "Default"]

    def experiment_name(self, experiment_id: str) -> str:
        return str(_retry(lambda: self.client.get_experiment(experiment_id)).name)

    # ---------------------------------------------------------------- runs
    @staticmethod
    def _record(run: Any) -> RunRecord:
        info, data = run.info, run.data
        return RunRecord(
            run_id=info.run_id,
            experiment_id=str(info.experiment_id),
            run_name=info.run_name or "",
            mlflow_status=info.status,
            start_time=info.start_time,
            end_time=info.end_time,
            artifact_uri=info.artifact_uri,
            tags=dict(data.tags),
            params=dict(data.params),
            metrics=dict(data.metrics),
        )

    def create_run(
        self, experiment_id: str, run_name: str, tags: dict[str, str], params: dict[str, str] | None = None
    ) -> RunRecord:
        run = _retry(lambda: self.client.create_run(experiment_id, run_name=run_name, tags=tags))
        if params:
            _wait_preload()
            from mlflow.entities import Param

            plist = [Param(k, str(v)[:6000]) for k, v in params.items()]
            _retry(lambda: self.client.log_batch(run.info.run_id, params=plist))
        return self._record(run)

    def get_run(self, run_id: str) -> RunRecord | None:
        _wait_preload()
        from mlflow.exceptions import MlflowException

        try:
            return self._record(_retry(lambda: self.client.get_run(run_id)))
        except MlflowException:
            return None

    def search_runs(
        self, experiment_ids: Sequence[str], filter_string: str = "", max_results: int = 1000
    ) -> list[RunRecord]:
        if not experiment_ids:
            return []
        runs = _retry(
            lambda: self.client.search_runs(
                list(experiment_ids),
                filter_string=filter_string,
                max_results=max_results,
                order_by=["attributes.start_time DESC"],
            )
        )
        return [self._record(r) for r in runs]

    def set_tags(self, run_id: str, tags: dict[str, Any]) -> None:
        if not tags:
            return
        _wait_preload()
        from mlflow.entities import RunTag

        items = [RunTag(k, str(v)[:MAX_TAG_LENGTH]) for k, v in tags.items()]
        _retry(lambda: self.client.log_batch(run_id, tags=items))

    def delete_tag(self, run_id: str, key: str) -> None:
        _retry(lambda: self.client.delete_tag(run_id, key))

    def set_mlflow_status(self, run_id: str, mlflow_status: str, end_time_ms: int | None = None) -> None:
        if mlflow_status in ("FINISHED", "FAILED", "KILLED"):
            _retry(lambda: self.client.set_terminated(run_id, mlflow_status, end_time=end_time_ms))
        else:
            _retry(lambda: self.client.update_run(run_id, status=mlflow_status))

    def delete_run(self, run_id: str) -> None:
        _retry(lambda: self.client.delete_run(run_id))

    # ---------------------------------------------------------------- metrics
    def log_metrics(self, run_id: str, points: Iterable[tuple[str, float, int, int]]) -> int:
        """Log ``(key, value, timestamp_ms, step)`` points in batches; returns how many (raises on a bad point)."""
        _wait_preload()
        from mlflow.entities import Metric

        batch: list[Any] = []
        count = 0
        for key, value, ts, step in points:
            batch.append(Metric(key, float(value), int(ts), int(step)))
            if len(batch) == MAX_BATCH:
                count += self._log_metric_batch(run_id, batch)
                batch = []
        if batch:
            count += self._log_metric_batch(run_id, batch)
        return count

    def _log_metric_batch(self, run_id: str, batch: list[Any]) -> int:
        _retry(lambda: self.client.log_batch(run_id, metrics=batch))
        return len(batch)

    def log_metric_points(self, run_id: str, points: Sequence[tuple[str, float, int, int]]) -> list[tuple[int, str]]:
        """Store many ``(key, value, timestamp_ms, step)`` points; a bad point never keeps the others out.

        On a local SQL store the points go in with one bulk insert per chunk into MLflow's own tables (through the
        store's session: ~20x faster than ``log_batch``, whose ORM inserts manage ~10,000 points/s); elsewhere, or
        when a chunk fails, ``log_batch`` of up to 1,000 points, halving a failing batch until the bad point is
        alone. Exact duplicates of stored points are dropped, as MLflow does.

        Returns
        -------
        list of (int, str)
            ``(index into points, reason)`` of every point the store refused.
        """
        rejected: list[tuple[int, str]] = []
        bulk = _BulkMetrics.for_client(self.client)
        for start in range(0, len(points), BULK_CHUNK):
            chunk = points[start : start + BULK_CHUNK]
            if bulk is not None:
                try:
                    _retry(lambda c=chunk: bulk.insert(run_id, c))  # type: ignore[misc]
                    continue
                except Exception:
                    pass  # isolate the bad point(s) below, through MLflow's own API and its error messages
            for lo in range(0, len(chunk), MAX_BATCH):
                self._isolate(run_id, chunk, lo, min(len(chunk), lo + MAX_BATCH), start, rejected)
        return rejected

    def _isolate(
        self,
        run_id: str,
        chunk: Sequence[tuple[str, float, int, int]],
        lo: int,
        hi: int,
        base: int,
        rejected: list[tuple[int, str]],
    ) -> None:
        _wait_preload()
        from mlflow.entities import Metric

        try:
            batch = [Metric(k, float(v), int(ts), int(s)) for k, v, ts, s in chunk[lo:hi]]
            self._log_metric_batch(run_id, batch)
            return
        except Exception as exc:
            # The store is busy or its disk is full or failing: not the data's fault, so nothing is set aside (the
            # caller keeps its place and ships again later). Checked before the single point is blamed.
            if "locked" in str(exc).lower() or "busy" in str(exc).lower() or storage_error(exc):
                raise
            if hi - lo == 1:
                rejected.append((base + lo, _one_line(exc)))
                return
        mid = (lo + hi) // 2
        self._isolate(run_id, chunk, lo, mid, base, rejected)
        self._isolate(run_id, chunk, mid, hi, base, rejected)

    def metric_history(self, run_id: str, key: str) -> list[tuple[int, int, float]]:
        """Return ``(step, timestamp_ms, value)`` points ordered by step then time."""
        hist = _retry(lambda: self.client.get_metric_history(run_id, key))
        return sorted((m.step, m.timestamp, m.value) for m in hist)

    def metric_points(
        self, run_id: str, key: str, offset: int = 0, limit: int | None = None
    ) -> list[tuple[int, int, float]]:
        """``(step, timestamp_ms, value)`` points of one metric ordered by step, time and value, from ``offset``, at
        most ``limit`` of them (all without a limit).

        A SQL store is read column by column in one query: ``get_metric_history`` builds an object per point (about
        4 s for 100k points, the whole history for any slice). Another store pages MLflow's public API.
        """
        client = self.client
        with _lock:  # mlflow's modules are imported on first use: two threads at once can see one half made
            sql = _BulkMetrics.for_client(client)
        if sql is None:
            return self.metric_history(run_id, key)[offset : None if limit is None else offset + limit]
        return _retry(lambda: sql.points(run_id, key, offset, limit))

    # ---------------------------------------------------------------- artifacts
    def log_artifacts(self, run_id: str, local_dir: Path, artifact_path: str | None = None) -> None:
        _retry(lambda: self.client.log_artifacts(run_id, str(local_dir), artifact_path))

    def log_artifact(self, run_id: str, local_file: Path, artifact_path: str | None = None) -> None:
        _retry(lambda: self.client.log_artifact(run_id, str(local_file), artifact_path))

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[tuple[str, int]]:
        """Return every artifact file under ``path`` as ``(relative path, size)``, recursively."""
        out: list[tuple[str, int]] = []
        pending = [path]
        try:
            # The run's own artifact folder: MLflow 3's client.list_artifacts also lists the run's logged models
            # (resolved through a client on the process's default tracking URI, not this store's).
            repo = _retry(lambda: self.client._tracking_client._get_artifact_repo(run_id))
            list_dir: Callable[[str | None], Any] = repo.list_artifacts
        except AttributeError:  # another MLflow layout: the public API
            list_dir = lambda c: self.client.list_artifacts(run_id, c)  # noqa: E731
        while pending:
            current = pending.pop()
            for info in _retry(lambda c=current: list_dir(c)):  # type: ignore[misc]
                if info.is_dir:
                    pending.append(info.path)
                else:
                    out.append((info.path, int(info.file_size or 0)))
        return sorted(out)

    def download_artifacts(self, run_id: str, path: str, dst_dir: Path) -> Path:
        dst_dir.mkdir(parents=True, exist_ok=True)
        return Path(_retry(lambda: self.client.download_artifacts(run_id, path, str(dst_dir))))

    def download_uri(self, uri: str, dst_dir: Path) -> Path:
        _wait_preload()
        import mlflow.artifacts

        dst_dir.mkdir(parents=True, exist_ok=True)
        return Path(
            _retry(
                lambda: mlflow.artifacts.download_artifacts(
                    artifact_uri=uri, dst_path=str(dst_dir), tracking_uri=self.tracking_uri
                )
            )
        )

    # ---------------------------------------------------------------- model registry
    @staticmethod
    def _mv(mv: Any) -> ModelVersionRecord:
        return ModelVersionRecord(
            name=mv.name,
            version=int(mv.version),
            source=mv.source,
            run_id=mv.run_id or None,
            description=mv.description or "",
            tags=dict(mv.tags or {}),
            creation_time=int(mv.creation_timestamp or 0),
        )

    def create_model_version(
        self, name: str, source: str, run_id: str | None, tags: dict[str, str], description: str | None
    ) -> ModelVersionRecord:
        _wait_preload()
        from mlflow.exceptions import MlflowException

        try:
            _retry(lambda: self.client.create_registered_model(name))
        except MlflowException as exc:
            if "already exists" not in str(exc).lower():
                raise
        mv = _retry(
            lambda: self.client.create_model_version(
                name, source, run_id=run_id, tags=tags or None, description=description
            )
        )
        return self._mv(mv)

    def get_model_version(self, name: str, version: int) -> ModelVersionRecord | None:
        _wait_preload()
        from mlflow.exceptions import MlflowException

        try:
            return self._mv(_retry(lambda: self.client.get_model_version(name, str(version))))
        except MlflowException:
            return None

    def search_model_versions(self, name: str | None = None) -> list[ModelVersionRecord]:
        filt = "" if name is None else "name='{}'".format(name.replace("'", "''"))
        found = _retry(lambda: self.client.search_model_versions(filt, max_results=10000))
        return sorted((self._mv(m) for m in found), key=lambda m: (m.name, m.version))

    def set_model_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        _retry(lambda: self.client.set_model_version_tag(name, str(version), key, value))

    def update_model_version(self, name: str, version: int, description: str) -> None:
        _retry(lambda: self.client.update_model_version(name, str(version), description=description))

    def delete_model_version(self, name: str, version: int) -> None:
        _retry(lambda: self.client.delete_model_version(name, str(version)))


_STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EIO, errno.EDQUOT})
# How sqlite (through SQLAlchemy) and the OS word a storage failure, lower case.
STORAGE_WORDS = ("disk is full", "disk i/o error", "no space left", "input/output error", "quota exceeded")


def storage_error(exc: BaseException) -> bool:
    """Whether ``exc`` (or an error it wraps) is the storage failing (a full disk, an I/O error), not bad data.

    Such an error is waited out and retried; it never sets a record aside as refused.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _STORAGE_ERRNOS:
            return True
        text = str(current).lower()
        if any(word in text for word in STORAGE_WORDS):
            return True
        current = current.__cause__ or current.__context__
    return False


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] + ("..." if len(text) > 300 else "")


class _BulkMetrics:
    """Bulk inserts into a SQL tracking store's ``metrics`` and ``latest_metrics`` tables, as MLflow lays them out.

    MLflow's ``log_batch`` is capped at 1,000 metrics per call and builds one ORM object per point; here one Core
    ``INSERT ... ON CONFLICT DO NOTHING`` per chunk does the same work. ``latest_metrics`` keeps MLflow's rule: the
    point with the greatest ``(step, timestamp, value)`` per key. Points must already be valid (the journal's
    shipper checks names and values first); anything unexpected raises and the caller falls back to ``log_batch``.
    """

    def __init__(self, sql_store: Any) -> None:
        _wait_preload()
        from mlflow.store.tracking.dbmodels.models import SqlLatestMetric, SqlMetric

        self.store = sql_store
        self.metrics = SqlMetric.__table__
        self.latest = SqlLatestMetric
        self.dialect = sql_store.engine.dialect.name

    @classmethod
    def for_client(cls, client: Any) -> _BulkMetrics | None:
        try:
            _wait_preload()
            from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

            store = client._tracking_client.store
            if isinstance(store, SqlAlchemyStore) and store.engine.dialect.name in ("sqlite", "postgresql"):
                return cls(store)
        except Exception:  # another MLflow layout: the public API still works
            return None
        return None

    def _insert_ignoring_duplicates(self) -> Any:
        from sqlalchemy.dialects import postgresql, sqlite

        insert: Any = sqlite.insert if self.dialect == "sqlite" else postgresql.insert
        return insert(self.metrics).on_conflict_do_nothing()

    def points(self, run_id: str, key: str, offset: int, limit: int | None) -> list[tuple[int, int, float]]:
        """One metric's ``(step, timestamp, value)`` rows, MLflow's order, NaN restored from ``is_nan``."""
        query = (
            "SELECT step, timestamp, value, is_nan FROM metrics WHERE run_uuid = ? AND key = ? "
            "ORDER BY step, timestamp, value LIMIT ? OFFSET ?"
        )
        if self.dialect != "sqlite":
            query = query.replace("?", "%s")
        with self.store.ManagedSessionMaker() as session:
            rows = session.connection().exec_driver_sql(query, (run_id, key, 2**62 if limit is None else limit, offset))
            return [(int(s), int(t), float("nan") if nan else float(v)) for s, t, v, nan in rows]

    def insert(self, run_id: str, points: Sequence[tuple[str, float, int, int]]) -> None:
        import math

        rows = []
        newest: dict[str, tuple[int, int, float, bool]] = {}
        for key, value, ts, step in points:
            nan = math.isnan(value)
            v = 0.0 if nan else value  # MLflow keeps NaN as value 0 with is_nan set
            rows.append((key, v, ts, step, nan, run_id))
            cur = newest.get(key)
            if cur is None or (step, ts, v) > cur[:3]:
                newest[key] = (step, ts, v, nan)
        with self.store.ManagedSessionMaker(read_only=False) as session:
            run = self.store._get_run(run_uuid=run_id, session=session)
            self.store._check_run_is_active(run)
            conn = session.connection()
            if self.dialect == "sqlite":
                # The driver's own executemany: SQLAlchemy's per-row parameter processing would take most of the time.
                # A page cache that holds the metric indexes (sqlite's default 2 MB spills them to disk mid-insert).
                conn.exec_driver_sql("PRAGMA cache_size = -262144")
                conn.exec_driver_sql(_SQLITE_INSERT_METRICS, rows)
            else:
                columns = ("key", "value", "timestamp", "step", "is_nan", "run_uuid")
                conn.execute(self._insert_ignoring_duplicates(), [dict(zip(columns, r, strict=True)) for r in rows])
            existing = {
                m.key: m
                for m in session.query(self.latest).filter(
                    self.latest.run_uuid == run_id, self.latest.key.in_(list(newest))
                )
            }
            for key, (step, ts, v, nan) in newest.items():
                old = existing.get(key)
                if old is None:
                    session.add(self.latest(run_uuid=run_id, key=key, value=v, timestamp=ts, step=step, is_nan=nan))
                elif (step, ts, v) > (old.step, old.timestamp, old.value):
                    old.value, old.timestamp, old.step, old.is_nan = v, ts, step, nan


# Exact duplicates (MLflow's primary key: every column) are dropped, as MLflow's log_batch does.
_SQLITE_INSERT_METRICS = (
    "INSERT OR IGNORE INTO metrics (key, value, timestamp, step, is_nan, run_uuid) VALUES (?, ?, ?, ?, ?, ?)"
)
