"""The few store operations of a submit, on MLflow's sqlite schema with the standard library (issue 20).

Importing MLflow takes ~2 s (its sqlite store pulls in SQLAlchemy, alembic, pandas and more); the first ``%%submit``
of a fresh kernel needs only a handful of rows: find or make the experiment, insert the run with its tags and params,
read it back, add a tag, find its children. :class:`TrackingStore` uses this module for those on a sqlite store, so a
submit never waits for MLflow's import (``%load_ext`` imports it in a background thread for the rest) and a warm one
skips MLflow's ORM (a session, a query and entity objects per call).

The rows written are the ones MLflow's ``SqlAlchemyStore`` writes for the same call (``create_run``: status RUNNING,
source UNKNOWN, the ``mlflow.runName`` tag, the artifact URI under the experiment's location), in one transaction, so
MLflow reads them as its own (tests/tracking/test_sqlite_direct.py compares both). Anything outside that narrow shape
(a schema at another revision than :data:`SCHEMA_REVISION`, a name MLflow would refuse, an experiment without a
location, a filter other than one tag equality, MLflow workspaces enabled) answers ``None`` here and the caller goes
through MLflow, with its own checks and errors.
"""

from __future__ import annotations

import math
import os
import re
import sqlite3
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jupyter_amlrun.tracking.store import RunRecord

# MLflow's own limits and name rule (mlflow/utils/validation.py), kept narrower: outside them MLflow decides.
_KEY = re.compile(r"^[/\w.\- ]{1,250}$")
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000
RUN_NAME_TAG = "mlflow.runName"
USER_TAG = "mlflow.user"
# A single equality on one tag, the form reader.children() uses: tags.`key` = 'value'
_TAG_FILTER = re.compile(r"^tags\.`([^`]+)` = '([^'\\]*)'$")
_TABLES = ("alembic_version", "experiments", "runs", "tags", "params", "latest_metrics")
# The schema these statements were written and tested against: the head revision of the pinned MLflow (3.17.2). A
# store at any other revision (migrated by another MLflow, or not yet migrated) goes through MLflow, which checks it.
# tests/tracking/test_sqlite_direct.py fails when the installed MLflow's head is another one: re-check this module.
SCHEMA_REVISION = "dc11669786a5"


def known_schema(conn: sqlite3.Connection) -> bool:
    """Whether ``conn`` is an MLflow store at :data:`SCHEMA_REVISION` with the tables read here (one rule for every
    module that reads MLflow's tables directly: this one, tracking/runindex.py)."""
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not all(t in names for t in _TABLES):
        return False
    return conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(SCHEMA_REVISION,)]


def _safe_key(key: str) -> bool:
    return bool(_KEY.match(key)) and ".." not in key and not key.startswith("/")


class SqliteDirect:
    """Reads and writes the run rows a submit needs straight from an MLflow sqlite store.

    Parameters
    ----------
    path:
        The sqlite file of the store (``sqlite:///<path>``).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._usable: bool | None = None

    @classmethod
    def for_uri(cls, tracking_uri: str) -> SqliteDirect | None:
        """The direct access for a ``sqlite:///`` store whose file exists; None for any other store."""
        if not tracking_uri.startswith("sqlite:///") or "?" in tracking_uri:
            return None
        if os.environ.get("MLFLOW_ENABLE_WORKSPACES", "").strip().lower() in ("1", "true", "yes"):
            return None  # MLflow then scopes every query by workspace: leave that to it
        path = Path(tracking_uri[len("sqlite:///") :])
        return cls(path) if path.is_file() else None

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # MLflow's sessions wait 20 s for another writer (PRAGMA busy_timeout = 20000): the same here
        with closing(sqlite3.connect(self.path, timeout=20.0, isolation_level=None)) as conn:
            conn.execute("PRAGMA foreign_keys = ON")
            yield conn

    def usable(self) -> bool:
        """Whether the file holds an MLflow store at :data:`SCHEMA_REVISION` (its tables, migrated to that revision)."""
        if self._usable is None:
            try:
                with self._connect() as conn:
                    self._usable = known_schema(conn)
            except sqlite3.Error:
                self._usable = False
        return self._usable

    # ------------------------------------------------------------------ experiments
    def experiment_id(self, name: str) -> str | None:
        """The id of the experiment called ``name`` (deleted ones included, as MLflow's get_experiment_by_name)."""
        with self._connect() as conn:
            row = conn.execute("SELECT experiment_id FROM experiments WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def create_experiment(self, name: str, artifact_location: str) -> str | None:
        """Insert an active experiment as MLflow's ``create_experiment`` does; its id, or None: let MLflow do it.

        When another process made one of that name meanwhile, its id (as the caller's fallback does with MLflow).
        """
        if not name or len(name) > 256 or not artifact_location or len(artifact_location) > 256:
            return None
        now = int(time.time() * 1000)
        with self._connect() as conn:
            try:
                cur = conn.execute(
                    "INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time,"
                    " last_update_time) VALUES (?, ?, 'active', ?, ?)",
                    (name, artifact_location, now, now),
                )
            except sqlite3.IntegrityError:
                row = conn.execute("SELECT experiment_id FROM experiments WHERE name = ?", (name,)).fetchone()
                return None if row is None else str(row[0])
        return str(cur.lastrowid)

    def experiment_name(self, experiment_id: str) -> str | None:
        with self._connect() as conn:
            row = conn.execute("SELECT name FROM experiments WHERE experiment_id = ?", (int(experiment_id),)).fetchone()
        return None if row is None else str(row[0])

    # ------------------------------------------------------------------ runs
    def create_run(
        self, experiment_id: str, run_name: str, tags: Mapping[str, str], params: Mapping[str, str] | None = None
    ) -> RunRecord | None:
        """Insert a run as MLflow's ``create_run`` + ``log_batch(params=...)`` would; None: let MLflow do it."""
        params = {k: str(v)[:MAX_PARAM_VALUE] for k, v in (params or {}).items()}
        tags = dict(tags)
        if RUN_NAME_TAG in tags and tags[RUN_NAME_TAG] != run_name:
            return None  # MLflow raises for this conflict: let it say so
        if not run_name or len(run_name) > 250:
            return None
        tags.setdefault(RUN_NAME_TAG, run_name)
        if not all(_safe_key(k) and len(str(v)) <= MAX_TAG_VALUE for k, v in tags.items()):
            return None
        if not all(_safe_key(k) for k in params):
            return None
        with self._connect() as conn:
            exp = conn.execute(
                "SELECT artifact_location, lifecycle_stage FROM experiments WHERE experiment_id = ?",
                (int(experiment_id),),
            ).fetchone()
            if exp is None or exp[1] != "active" or not exp[0] or any(c in exp[0] for c in "?#"):
                return None  # unknown or deleted experiment, odd location: MLflow's error or URI rules apply
            run_id = uuid.uuid4().hex
            artifact_uri = f"{str(exp[0]).rstrip('/')}/{run_id}/artifacts"
            start = int(time.time() * 1000)
            conn.execute("BEGIN IMMEDIATE")  # one transaction: the run appears with all its tags and params, or not
            try:
                conn.execute(
                    "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status,"
                    " start_time, end_time, source_version, lifecycle_stage, artifact_uri, experiment_id,"
                    " deleted_time) VALUES (?, ?, 'UNKNOWN', '', '', ?, 'RUNNING', ?, NULL, '', 'active', ?, ?, NULL)",
                    (run_id, run_name, tags.get(USER_TAG, "unknown"), start, artifact_uri, int(experiment_id)),
                )
                conn.executemany(
                    "INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)",
                    [(k, str(v), run_id) for k, v in tags.items()],
                )
                conn.executemany(
                    "INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)",
                    [(k, v, run_id) for k, v in params.items()],
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        from jupyter_amlrun.tracking.store import RunRecord

        return RunRecord(
            run_id=run_id,
            experiment_id=str(int(experiment_id)),
            run_name=run_name,
            mlflow_status="RUNNING",
            start_time=start,
            end_time=None,
            artifact_uri=artifact_uri,
            tags={k: str(v) for k, v in tags.items()},
            params=params,
            metrics={},
        )

    def get_run(self, run_id: str) -> RunRecord | None:
        """The run as MLflow's ``get_run`` gives it (latest metrics, tags, params); None when there is no such run."""
        with self._connect() as conn:
            return self._read_runs(conn, [run_id]).get(run_id)

    def _read_runs(self, conn: sqlite3.Connection, run_ids: Sequence[str]) -> dict[str, RunRecord]:
        from jupyter_amlrun.tracking.store import RunRecord

        if not run_ids:
            return {}
        marks = ",".join("?" * len(run_ids))
        out: dict[str, RunRecord] = {}
        for rid, name, status, start, end, uri, exp in conn.execute(
            "SELECT run_uuid, name, status, start_time, end_time, artifact_uri, experiment_id FROM runs"
            f" WHERE run_uuid IN ({marks})",
            list(run_ids),
        ):
            out[rid] = RunRecord(
                run_id=rid,
                experiment_id=str(exp),
                run_name=name or "",
                mlflow_status=status,
                start_time=start,
                end_time=end,
                artifact_uri=uri or "",
            )
        for key, value, rid in conn.execute(
            f"SELECT key, value, run_uuid FROM tags WHERE run_uuid IN ({marks})", run_ids
        ):
            out[rid].tags[key] = value
        for key, value, rid in conn.execute(
            f"SELECT key, value, run_uuid FROM params WHERE run_uuid IN ({marks})", run_ids
        ):
            out[rid].params[key] = value
        for key, value, is_nan, rid in conn.execute(
            f"SELECT key, value, is_nan, run_uuid FROM latest_metrics WHERE run_uuid IN ({marks})", run_ids
        ):
            out[rid].metrics[key] = math.nan if is_nan else float(value)
        return out

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> bool:
        """Set tags on an active run, in one transaction; False (nothing written): let MLflow do it."""
        if RUN_NAME_TAG in tags or not all(_safe_key(k) and len(str(v)) <= MAX_TAG_VALUE for k, v in tags.items()):
            return False  # MLflow renames the run for mlflow.runName: its rule, not copied here
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute("SELECT lifecycle_stage FROM runs WHERE run_uuid = ?", (run_id,)).fetchone()
                if row is None or row[0] != "active":
                    conn.execute("ROLLBACK")
                    return False  # no such run, or deleted: MLflow's error
                conn.executemany(
                    "INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)"
                    " ON CONFLICT (key, run_uuid) DO UPDATE SET value = excluded.value",
                    [(k, str(v), run_id) for k, v in tags.items()],
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return True

    def search_by_tag(
        self, experiment_ids: Sequence[str], filter_string: str, max_results: int
    ) -> list[RunRecord] | None:
        """Active runs with one tag equal to a value, newest first (MLflow's order for the store's queries).

        None when ``filter_string`` is anything but ``tags.`key` = 'value'``: MLflow parses those.
        """
        match = _TAG_FILTER.match(filter_string)
        if match is None or not experiment_ids:
            return None
        key, value = match.groups()
        marks = ",".join("?" * len(experiment_ids))
        with self._connect() as conn:
            ids = [
                r[0]
                for r in conn.execute(
                    "SELECT runs.run_uuid FROM runs JOIN tags ON tags.run_uuid = runs.run_uuid"
                    f" WHERE runs.experiment_id IN ({marks}) AND runs.lifecycle_stage = 'active'"
                    " AND tags.key = ? AND tags.value = ? ORDER BY runs.start_time DESC, runs.run_uuid LIMIT ?",
                    [*(int(e) for e in experiment_ids), key, value, max_results],
                )
            ]
            found = self._read_runs(conn, ids)
        return [found[i] for i in ids if i in found]
