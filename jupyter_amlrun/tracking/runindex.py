"""Experiments and their run counts read from a sqlite tracking store's own tables, without reading every run.

The sidebar's experiment list needs, per experiment, how many runs it has and which are not ended. MLflow's
``search_runs`` loads every run's tags, params and latest metrics to answer that (1.5 s for the list on a workspace
of a few hundred runs, more under load); the store's ``runs`` table answers it with one grouped count, and the runs
not ended (a handful) with one indexed join on the status tag. Only a ``sqlite:///`` store is read this way; any other
store (a team server) returns None and the caller falls back to MLflow's search.

The tables read are MLflow's (``experiments``, ``runs``, ``tags``; their columns used here have been stable across
MLflow 1.x-3.x). A store that does not have them, is at another schema revision than the one checked for
(``sqlite_direct.SCHEMA_REVISION``), or is locked past the timeout, also returns None.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_amlrun.tracking.sqlite_direct import known_schema

__all__ = ["ExperimentIndex", "RunRow", "experiment_index", "run_rows"]

READ_TIMEOUT_SECONDS = 5.0  # a writer's lock is waited out this long (a write transaction is short)
DEFAULT_EXPERIMENT = "Default"  # MLflow's own, hidden like TrackingStore.list_experiments hides it
MLFLOW_ENDED = ("FINISHED", "FAILED", "KILLED")


@dataclass
class ExperimentIndex:
    """One experiment: its id, name, how many (not deleted) runs it has, and the ids of those its records do not
    say ended (``open_runs``: the caller asks each for its live status)."""

    experiment_id: str
    name: str
    run_count: int = 0
    open_runs: list[str] = field(default_factory=list)


def sqlite_path(tracking_uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI, else None."""
    return Path(tracking_uri[len("sqlite:///") :]) if tracking_uri.startswith("sqlite:///") else None


@contextlib.contextmanager
def _read_only(db: Path) -> Iterator[sqlite3.Connection]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=READ_TIMEOUT_SECONDS)
    try:
        if not known_schema(con):  # another MLflow's schema: its search decides (the same rule as sqlite_direct)
            raise sqlite3.DatabaseError("not the MLflow schema revision these queries were written for")
        yield con
    finally:
        con.close()


def experiment_index(
    tracking_uri: str, status_tag: str, ended_statuses: Collection[str]
) -> list[ExperimentIndex] | None:
    """Every active experiment (but MLflow's ``Default``) with its run count and its runs not ended.

    Parameters
    ----------
    tracking_uri
        The workspace's tracking URI; only ``sqlite:///`` is read here.
    status_tag
        The tag that holds a run's status (``amlrun.status``); without it, MLflow's own status column decides.
    ended_statuses
        The tag values that mean ended (Completed, Failed, Canceled).

    Returns
    -------
    list[ExperimentIndex] | None
        Sorted by name; None when the store is not a readable sqlite store (the caller searches instead).
    """
    db = sqlite_path(tracking_uri)
    if db is None or not db.is_file():
        return None
    ended = list(ended_statuses)
    tag_ended = ", ".join("?" for _ in ended) or "''"
    mlflow_ended = ", ".join("?" for _ in MLFLOW_ENDED)
    try:
        with _read_only(db) as con:
            exps = con.execute(
                "SELECT experiment_id, name FROM experiments WHERE lifecycle_stage = 'active' AND name != ?",
                (DEFAULT_EXPERIMENT,),
            ).fetchall()
            counts = dict(
                con.execute(
                    "SELECT experiment_id, COUNT(*) FROM runs WHERE lifecycle_stage = 'active' GROUP BY experiment_id"
                ).fetchall()
            )
            # a run is open when its status tag says so, or, without the tag, when MLflow's status does
            open_rows = con.execute(
                "SELECT r.experiment_id, r.run_uuid FROM runs r LEFT JOIN tags t "
                "ON t.run_uuid = r.run_uuid AND t.key = ? "
                "WHERE r.lifecycle_stage = 'active' AND ("
                f"(t.value IS NULL AND r.status NOT IN ({mlflow_ended})) OR "
                f"(t.value IS NOT NULL AND t.value NOT IN ({tag_ended})))"
                " ORDER BY r.start_time DESC",
                (status_tag, *MLFLOW_ENDED, *ended),
            ).fetchall()
    except sqlite3.Error:
        return None
    index = {str(eid): ExperimentIndex(str(eid), str(name), int(counts.get(eid, 0))) for eid, name in exps}
    for eid, run_id in open_rows:
        item = index.get(str(eid))
        if item is not None:
            item.open_runs.append(str(run_id))
    return sorted(index.values(), key=lambda item: item.name)


@dataclass
class RunRow:
    """What a run list needs of a run before its page is cut: no tags (but the status), params or metrics."""

    run_id: str
    experiment_id: str
    name: str
    mlflow_status: str
    status_tag: str | None


def run_rows(tracking_uri: str, status_tag: str, limit: int, experiment_id: str | None = None) -> list[RunRow] | None:
    """The (not deleted) runs, newest first as MLflow's search orders them (start time, then id), at most ``limit``.

    None when the store is not a readable sqlite store (the caller searches instead).
    """
    db = sqlite_path(tracking_uri)
    if db is None or not db.is_file():
        return None
    where = "r.lifecycle_stage = 'active'" + (" AND r.experiment_id = ?" if experiment_id is not None else "")
    args: tuple[object, ...] = (status_tag,) + ((int(experiment_id),) if experiment_id is not None else ())
    try:
        with _read_only(db) as con:
            rows = con.execute(
                "SELECT r.run_uuid, r.experiment_id, r.name, r.status, t.value FROM runs r LEFT JOIN tags t "
                f"ON t.run_uuid = r.run_uuid AND t.key = ? WHERE {where} "
                "ORDER BY r.start_time DESC, r.run_uuid ASC LIMIT ?",
                (*args, int(limit)),
            ).fetchall()
    except (sqlite3.Error, ValueError):
        return None
    return [RunRow(str(rid), str(eid), str(name or ""), str(st), tag) for rid, eid, name, st, tag in rows]
