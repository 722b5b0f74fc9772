"""What the sidebar browses, as plain JSON-ready dicts: workspace, datastores and their folders, datasets, models,
experiments, runs, run logs and metric series.

The server extension's handlers only parse a request, call one function here and write its answer (the shapes are
the REST contract of ``docs/rest-api.md``; ``jupyter_amlrun.server.models`` types them). Everything is unit-tested
without a server. Errors are core's :class:`UserErrorException` family; :class:`NotFoundException` (404) and
:class:`ConflictException` (409) say which answer the server gives.

Runs are read through :class:`~jupyter_amlrun.core.reader.RunReader`, as the widget and ``Run`` read them.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_amlrun.core import catalog
from jupyter_amlrun.core.model import Model
from jupyter_amlrun.core.reader import DEFAULT_SERIES_POINTS, RunReader
from jupyter_amlrun.core.reader import iso_time as _iso
from jupyter_amlrun.core.run import Run
from jupyter_amlrun.runtime import tags as T
from jupyter_amlrun.runtime.errors import (
    ExperimentExecutionException,
    ModelNotFoundException,
    RunNotFoundException,
    UserErrorException,
)
from jupyter_amlrun.runtime.status import FROM_MLFLOW_STATUS, TERMINAL_STATUSES, RunStatus, is_terminal, status_of
from jupyter_amlrun.runtime.tags import float_tag as _float
from jupyter_amlrun.tracking.metrics import SampledSeries, downsample
from jupyter_amlrun.view.compare import MAX_RUNS as MAX_COMPARED_RUNS
from jupyter_amlrun.view.compare import compare_view
from jupyter_amlrun.view.model import (
    RunView,
    chart_section,
    duration_seconds,
    format_duration,
    format_size,
    format_time,
    format_value,
    main_log,
    parse_iso,
    status_view,
)
from jupyter_amlrun.view.watch import RunWatcher

if TYPE_CHECKING:
    from jupyter_amlrun.core.contracts import DatastoreBackend
    from jupyter_amlrun.core.workspace import Workspace
    from jupyter_amlrun.tracking.store import RunRecord

DEFAULT_LIMIT = 200
MAX_LIMIT = 1000
MAX_LOG_BYTES = 256 * 1024
KEY_METRICS = 3  # the metrics a run's row in the list shows (metrics_text)
MAX_METRIC_RUNS = 20
MAX_NAME_BYTES = 255  # one path segment (NAME_MAX of Linux and macOS file systems)
MAX_ANSWER_BYTES = 1024 * 1024  # no metrics answer over 1 MB: the sidebar stays responsive, the server's memory bounded
POINT_BYTES = 48  # the most one [step, value] pair takes in JSON ("[123456789, -1.2345678901234567e-300], ")
MAX_SERIES_POINTS = 10_000  # points= at most, per series
MAX_PAGE_POINTS = 20_000  # one page of a full history (under 1 MB)
MAX_RUNS_SEARCHED = 50_000  # MLflow's own ceiling for one search
REDACTED = "***"
_SECRET_QUERY_KEYS = {"sig", "sas", "token", "key", "password", "secret", "accountkey", "access_token", "code"}


class NotFoundException(UserErrorException, LookupError):
    """The named datastore, dataset, model, run, file or folder does not exist (HTTP 404)."""


class ConflictException(UserErrorException):
    """The request does not fit the current state: cancel of an ended run, upload over an existing file (HTTP 409)."""


# ---------------------------------------------------------------------------------------------------- paging
@dataclass(frozen=True)
class PageQuery:
    """``offset``, ``limit`` and ``filter`` (a case-insensitive substring of the name) of a list request."""

    offset: int = 0
    limit: int = DEFAULT_LIMIT
    filter: str = ""

    @classmethod
    def parse(cls, offset: str | None = None, limit: str | None = None, filter: str | None = None) -> PageQuery:
        """Read the query-string values; a bad number raises a :class:`UserErrorException` that says the rule."""
        return cls(
            _int_arg("offset", offset, 0, 0, None),
            _int_arg("limit", limit, DEFAULT_LIMIT, 1, MAX_LIMIT),
            (filter or "").strip(),
        )

    def matches(self, name: str) -> bool:
        return not self.filter or self.filter.casefold() in name.casefold()


def _int_arg(name: str, value: str | None, default: int, low: int, high: int | None) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = low - 1
    if number < low or (high is not None and number > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise UserErrorException(f"{name}={value!r} is not valid: give a whole number {bound}.")
    return number


def page(items: Sequence[dict[str, Any]], query: PageQuery, key: str = "name") -> dict[str, Any]:
    """Filter ``items`` by ``item[key]`` and cut one page: ``{"items", "total", "offset", "limit"}``."""
    kept = [item for item in items if query.matches(str(item.get(key) or ""))]
    return {
        "items": kept[query.offset : query.offset + query.limit],
        "total": len(kept),
        "offset": query.offset,
        "limit": query.limit,
    }


# ---------------------------------------------------------------------------------------------------- secrets
def redact_url(url: str) -> str:
    """``url`` without credentials: the user-info part and secret-looking query values become ``***``."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return REDACTED
    out = url
    if "@" in parts.netloc:
        out = out.replace(parts.netloc, f"{REDACTED}@{parts.netloc.rsplit('@', 1)[1]}", 1)
    if parts.query:
        pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        if any(k.casefold() in _SECRET_QUERY_KEYS for k, _v in pairs):
            query = "&".join(
                f"{k}={REDACTED if k.casefold() in _SECRET_QUERY_KEYS else urllib.parse.quote(v, safe='')}"
                for k, v in pairs
            )
            out = out.replace(parts.query, query, 1)
    return out


# ---------------------------------------------------------------------------------------------------- workspace
def workspace_info(ws: Workspace) -> dict[str, Any]:
    """``{"name", "location", "default_datastore", "tracking"}`` (the tracking URI without credentials)."""
    return {
        "name": ws.name,
        "location": ws.location,
        "default_datastore": catalog.default_name(ws),
        "tracking": redact_url(ws.get_mlflow_tracking_uri()),
    }


# ---------------------------------------------------------------------------------------------------- datastores
def check_rel_path(path: str | None, what: str = "path") -> str:
    """A datastore-relative POSIX path (``""`` = the root).

    Raises
    ------
    UserErrorException
        The path is absolute, holds a NUL byte or a ``..`` segment: it could leave the datastore's root.
    """
    if path is None:
        return ""
    if not isinstance(path, str) or "\x00" in path:
        raise UserErrorException(f"{what} {path!r} is not a valid path: remove the NUL character.")
    text = path.replace("\\", "/").strip()
    if text.startswith("/") or re.match(r"^[A-Za-z]:", text):
        raise UserErrorException(
            f"{what} {path!r} is absolute; give a path relative to the root, such as 'data/train' ('' is the root)."
        )
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UserErrorException(f"{what} {path!r} contains '..'; give a path inside the root, without '..'.")
    for part in parts:
        # file systems (and blob names' segments as folders) take 255 bytes a name; longer fails deep in os.stat
        if len(part.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
            raise UserErrorException(
                f"{what} has a name of {len(part.encode('utf-8', 'surrogatepass'))} bytes ({part[:40]!r}...); "
                f"each file or folder name may be at most {MAX_NAME_BYTES} bytes: shorten it."
            )
    return "/".join(parts)


def open_store(ws: Workspace, name: str) -> DatastoreBackend:
    """The datastore registered as ``name``; :class:`NotFoundException` with the known names when there is none."""
    known = catalog.names(ws)
    if name not in known:
        raise NotFoundException(
            f"No datastore named {name!r} in workspace {ws.name!r}. Datastores: {known}. Register one with "
            "Datastore.register_folder(...) or Datastore.register_azure_blob_container(...)."
        )
    return catalog.open_datastore(ws, name)


def _container(store: DatastoreBackend) -> str:
    value = getattr(store, "container_name", None)
    if value is None:
        value = store.describe().get("container_name")
    return str(value) if value is not None else ""


def datastores(ws: Workspace, query: PageQuery) -> dict[str, Any]:
    """A page of ``{"name", "kind", "container", "is_default"}``; a datastore that cannot be opened shows kind
    ``"unavailable"`` rather than vanishing."""
    default = catalog.default_name(ws)
    items = []
    for name in catalog.names(ws):
        try:
            store = catalog.open_datastore(ws, name)
            kind, container = store.datastore_type, _container(store)
        except UserErrorException:
            kind, container = "unavailable", ""
        items.append({"name": name, "kind": kind, "container": container, "is_default": name == default})
    return page(items, query)


def file_snippet(datastore: str, path: str) -> str:
    """The code that makes a FileDataset of ``path`` in ``datastore``."""
    return f"Dataset.File.from_files((Datastore.get(ws, {datastore!r}), {path!r}))"


def list_folder(ws: Workspace, name: str, path: str | None, query: PageQuery) -> dict[str, Any]:
    """One folder level of a datastore, folders first, each ``{"name", "path", "is_dir", "size", "modified"}``."""
    rel = check_rel_path(path)
    store = open_store(ws, name)
    try:
        dirs, files = store.list_dir(rel)
    except UserErrorException:
        if rel and store.stat(rel) is None:
            raise NotFoundException(f"No folder {rel!r} in datastore {name!r}; list its root with path=''.") from None
        raise
    if rel and not dirs and not files:
        if store.stat(rel) is not None:
            raise UserErrorException(f"{rel!r} is a file of datastore {name!r}, not a folder; list its folder instead.")
        if store.local_root() is None:  # a blob store has no empty folders: nothing under the prefix, no folder
            raise NotFoundException(f"No folder {rel!r} in datastore {name!r}; list its root with path=''.")
    root = store.local_root()
    items: list[dict[str, Any]] = [
        {
            "name": d,
            "path": f"{rel}/{d}" if rel else d,
            "is_dir": True,
            "size": None,
            "modified": None,
            "size_text": "",
            "modified_text": "",
        }
        for d in sorted(dirs)
    ]
    for entry in sorted(files, key=lambda f: f.path):
        modified = None
        if root is not None:
            try:
                modified = _iso((root / entry.path).stat().st_mtime)
            except OSError:
                pass
        items.append(
            {
                "name": entry.path.rsplit("/", 1)[-1],
                "path": entry.path,
                "is_dir": False,
                "size": entry.size,
                "modified": modified,
                "size_text": format_size(entry.size),
                "modified_text": format_time(parse_iso(modified)),
            }
        )
    return {"datastore": name, "path": rel, **page(items, query), "snippet": file_snippet(name, rel)}


def upload_file(ws: Workspace, name: str, path: str | None, body: bytes, overwrite: bool) -> dict[str, Any]:
    """Store ``body`` as the file ``path`` of datastore ``name``: ``{"path", "size"}``.

    Raises
    ------
    ConflictException
        A file is there already and ``overwrite`` is false, or the path is a folder.
    """
    rel = check_rel_path(path)
    if not rel:
        raise UserErrorException("path is empty: give the file's path in the datastore, such as 'data/train.csv'.")
    store = open_store(ws, name)
    root = store.local_root()
    if root is not None and (root / rel).is_dir():
        raise ConflictException(f"{rel!r} is a folder of datastore {name!r}; upload into it as '{rel}/<file name>'.")
    if not overwrite and store.stat(rel) is not None:
        raise ConflictException(
            f"{rel!r} already exists in datastore {name!r}; pass overwrite=1 to replace it, or choose another name."
        )
    fd, tmp = tempfile.mkstemp(prefix="amlrun-upload-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
        store.put_file(Path(tmp), rel)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return {"path": rel, "size": len(body), "size_text": format_size(len(body))}


# ---------------------------------------------------------------------------------------------------- datasets
def _source_text(item: Mapping[str, Any]) -> str:
    if "datastore" in item:
        return f"('{item['datastore']}', '{item.get('path', '')}')"
    return redact_url(str(item.get("url", "")))


def datasets(ws: Workspace, query: PageQuery) -> dict[str, Any]:
    """A page of the workspace's registered datasets (see :func:`dataset_page`)."""
    from jupyter_amlrun.data.dataset import Dataset

    def versions_of(name: str) -> list[int]:
        return [int(d.version) for d in Dataset.list_versions(ws, name) if d.version is not None]

    return dataset_page(Dataset.get_all(ws), versions_of, query)


def dataset_page(
    latest: Mapping[str, Any], versions_of: Callable[[str], list[int]], query: PageQuery
) -> dict[str, Any]:
    """A page of ``{"name", "latest_version", "description", "tags", "sources", "versions", "snippet"}``.

    Parameters
    ----------
    latest:
        The latest version of each registered dataset by name (``Dataset.get_all(ws)``).
    versions_of:
        Every version number of a dataset, oldest first.
    """
    items = []
    for name in sorted(latest):
        if not query.matches(name):
            continue  # versions_of reads files: only for the names kept
        ds = latest[name]
        definition = ds.definition
        items.append(
            {
                "name": name,
                "latest_version": ds.version,
                "description": ds.description or "",
                "tags": dict(ds.tags or {}),
                "sources": [_source_text(p) for p in definition.get("paths", [])],
                "versions": list(versions_of(name)),
                "snippet": f"Dataset.get_by_name(ws, {name!r}, version={ds.version})",
            }
        )
    return page(items, query)


# ---------------------------------------------------------------------------------------------------- models
def models(ws: Workspace, query: PageQuery) -> dict[str, Any]:
    """A page of ``{"name", "latest_version", "versions": [...]}``, versions newest first."""
    by_name: dict[str, list[dict[str, Any]]] = {}
    for m in Model.list(ws):  # sorted by name, newest version first
        if not query.matches(m.name):
            continue
        by_name.setdefault(m.name, []).append(
            {
                "version": m.version,
                "description": m.description or "",
                "tags": dict(m.tags),
                "run_id": m.run_id,
                "experiment": m.experiment_name,
                "created": m.created_time.isoformat().replace("+00:00", "Z"),
                "created_text": format_time(m.created_time.timestamp()),
                "snippet": f"Model(ws, {m.name!r}, version={m.version})",
            }
        )
    items = [{"name": n, "latest_version": v[0]["version"], "versions": v} for n, v in by_name.items()]
    return page(items, query)


def download_model(ws: Workspace, name: str, version: str | int, target: str | None, root_dir: Path) -> dict[str, Any]:
    """Download a model version into ``target`` (a folder relative to ``root_dir``): ``{"path"}`` relative too.

    Raises
    ------
    UserErrorException
        ``target`` leaves ``root_dir`` (``..``, absolute, or through a symlink), or ``version`` is not a number.
    NotFoundException
        No such model version.
    ConflictException
        The model's file or folder already exists in ``target``.
    """
    rel = check_rel_path(target or "", what="target")
    root = Path(root_dir).resolve()
    dest = (root / rel).resolve()
    if not dest.is_relative_to(root):
        raise UserErrorException(
            f"target {target!r} resolves outside the Jupyter root (through a symbolic link); pick a folder in it."
        )
    try:
        number = int(version)
    except (TypeError, ValueError):
        raise UserErrorException(f"Model version {version!r} is not a number; versions are 1, 2, ...") from None
    try:
        model = Model(ws, name, version=number)
    except ModelNotFoundException as exc:
        raise NotFoundException(str(exc)) from None
    final = dest / model.url.rstrip("/").rsplit("/", 1)[-1]
    if final.exists() or final.is_symlink():
        raise ConflictException(
            f"{final.relative_to(root)} already exists; delete or rename it, or download into another folder."
        )
    landed = Path(model.download(str(dest)))
    return {"path": landed.relative_to(root).as_posix()}


# ---------------------------------------------------------------------------------------------------- runs
def _all_records(ws: Workspace) -> tuple[dict[str, str], list[RunRecord]]:
    """Every run's record, newest first, and the experiment names by id."""
    names = dict(ws.store.list_experiments())
    records = ws.store.search_runs(list(names), max_results=MAX_RUNS_SEARCHED)
    return names, records


def _live_status(ws: Workspace, rec: RunRecord, experiment: str) -> str:
    """The stored status; for a run not ended, the live one (a dead supervisor is found and the run ends here)."""
    status = status_of(rec)
    if is_terminal(status):
        return status
    return RunReader(ws, rec.run_id, record=rec).status()


def metrics_text(metrics: Mapping[str, Any], limit: int = KEY_METRICS) -> str:
    """The first ``limit`` metrics the script logged as ``name=value`` (values by view/model.py's one number rule),
    space-separated; the driver's ``system/...`` samples are no key metric of the run's."""
    logged = [(n, v) for n, v in metrics.items() if chart_section(n) != "system"]
    return " ".join(f"{name}={format_value(value)}" for name, value in logged[:limit])


def counts_text(run_count: int, live_count: int) -> str:
    """An experiment's ``3 runs · 1 live`` (no live part when none is live)."""
    runs = f"{run_count} run" + ("" if run_count == 1 else "s")
    return f"{runs} · {live_count} live" if live_count else runs


def run_summary(rec: RunRecord, experiment: str, status: str, now: float | None = None) -> dict[str, Any]:
    """``{"id", "experiment", "display_name", "status", "start", "end", "duration_seconds", "metrics", "target",
    "parent_id"}`` of one run, and what the list draws of it, formatted by view/model.py's rules (the widget's):
    ``badge`` (its status badge), ``duration_text`` and ``metrics_text``."""
    start = _float(rec.tags.get(T.START_TIME)) or (rec.start_time / 1000 if rec.start_time else None)
    end = _float(rec.tags.get(T.END_TIME)) or (rec.end_time / 1000 if rec.end_time else None)
    if not is_terminal(status):
        end = None
    # the view's duration rule: end - start once ended, now - start while live, unknown for an end without a time
    times = {"startTimeUtc": _iso(start), "endTimeUtc": _iso(end), "status": status}
    duration = duration_seconds(times, now)
    if duration is not None:
        duration = max(0.0, duration)
    metrics = dict(rec.metrics)
    return {
        "id": rec.run_id,
        "experiment": experiment,
        "display_name": rec.run_name,
        "status": status,
        "start": _iso(start),
        "end": _iso(end),
        "duration_seconds": duration,
        "metrics": metrics,
        "target": rec.tags.get(T.TARGET, "local"),
        "parent_id": rec.tags.get(T.PARENT_RUN_ID),
        "badge": status_view(status),
        "duration_text": format_duration(duration),
        "metrics_text": metrics_text(metrics),
    }


def experiments(ws: Workspace, query: PageQuery) -> dict[str, Any]:
    """A page of ``{"name", "id", "run_count", "live_count"}``.

    From the store's index (:mod:`jupyter_amlrun.tracking.runindex`: counts, not every run's record) when the store
    is sqlite; the runs not ended by their records are each asked their live status, as in :func:`runs`.
    """
    from jupyter_amlrun.tracking.runindex import experiment_index

    index = experiment_index(ws.store.tracking_uri, T.STATUS, TERMINAL_STATUSES)
    if index is None:
        return _experiments_searched(ws, query)
    items = []
    for exp in index:
        live = sum(1 for run_id in exp.open_runs if not is_terminal(RunReader(ws, run_id).status()))
        items.append(
            {
                "name": exp.name,
                "id": exp.experiment_id,
                "run_count": exp.run_count,
                "live_count": live,
                "counts_text": counts_text(exp.run_count, live),
            }
        )
    return page(items, query)


def _experiments_searched(ws: Workspace, query: PageQuery) -> dict[str, Any]:
    """:func:`experiments` from MLflow's search of every run (a store that is not sqlite: a team server)."""
    names, records = _all_records(ws)
    counts: dict[str, list[int]] = {eid: [0, 0] for eid in names}
    for rec in records:
        count = counts.setdefault(rec.experiment_id, [0, 0])
        count[0] += 1
        # a run not ended by its tags is asked live: a dead supervisor ends it here instead of counting as live
        if not is_terminal(_live_status(ws, rec, names.get(rec.experiment_id, ""))):
            count[1] += 1
    items = [
        {
            "name": name,
            "id": eid,
            "run_count": counts[eid][0],
            "live_count": counts[eid][1],
            "counts_text": counts_text(*counts[eid]),
        }
        for eid, name in sorted(names.items(), key=lambda kv: kv[1])
    ]
    return page(items, query)


def runs(ws: Workspace, query: PageQuery, experiment: str | None = None, status: str | None = None) -> dict[str, Any]:
    """A page of runs (newest first) as :func:`run_summary`; ``live_count`` counts runs not ended among those kept.

    ``filter`` matches the id, the display name or the experiment's name.
    """
    if status:
        try:
            status = RunStatus.parse(status).value
        except ValueError:
            raise UserErrorException(f"status={status!r} is not a run status; use one of {RunStatus.list()}.") from None
    from jupyter_amlrun.tracking.runindex import RunRow, run_rows

    names = dict(ws.store.list_experiments())
    if experiment and experiment not in names.values():
        raise NotFoundException(f"No experiment named {experiment!r}; experiments: {sorted(names.values())}.")
    eid = next((k for k, v in names.items() if v == experiment), None) if experiment else None
    rows = run_rows(ws.store.tracking_uri, T.STATUS, MAX_RUNS_SEARCHED, eid)
    if rows is None:
        return _runs_searched(ws, query, experiment, status)
    # Filtered and cut from the index; only the page's runs are read whole (one search by id).
    kept: list[tuple[RunRow, str, str]] = []
    for row in rows:
        exp = names.get(row.experiment_id)
        if exp is None:
            continue
        if query.filter and not any(query.matches(s) for s in (row.run_id, row.name, exp)):
            continue
        known = row.status_tag or FROM_MLFLOW_STATUS.get(row.mlflow_status, RunStatus.RUNNING).value
        live = known if is_terminal(known) else RunReader(ws, row.run_id).status()
        if status and live != status:
            continue
        kept.append((row, exp, live))
    cut = kept[query.offset : query.offset + query.limit]
    records: dict[str, RunRecord] = {}
    if cut:
        ids = ", ".join(f"'{row.run_id}'" for row, _, _ in cut)
        found = ws.store.search_runs(list(names), f"attributes.run_id IN ({ids})", max_results=len(cut))
        records = {rec.run_id: rec for rec in found}
    items = [run_summary(records[row.run_id], exp, live) for row, exp, live in cut if row.run_id in records]
    return {
        "items": items,
        "total": len(kept),
        "offset": query.offset,
        "limit": query.limit,
        "live_count": sum(1 for _, _, live in kept if not is_terminal(live)),
    }


def _runs_searched(
    ws: Workspace, query: PageQuery, experiment: str | None = None, status: str | None = None
) -> dict[str, Any]:
    """:func:`runs` from MLflow's search of every run (a store that is not sqlite: a team server)."""
    names, records = _all_records(ws)
    if experiment:
        if experiment not in names.values():
            raise NotFoundException(f"No experiment named {experiment!r}; experiments: {sorted(names.values())}.")
        records = [r for r in records if names.get(r.experiment_id) == experiment]
    items = []
    for rec in records:
        exp = names.get(rec.experiment_id, "")
        if query.filter and not any(query.matches(s) for s in (rec.run_id, rec.run_name, exp)):
            continue
        summary = run_summary(rec, exp, _live_status(ws, rec, exp))
        if status and summary["status"] != status:
            continue
        items.append(summary)
    out = page(items, PageQuery(query.offset, query.limit))
    out["live_count"] = sum(1 for item in items if not is_terminal(item["status"]))
    return out


def get_run(ws: Workspace, run_id: str) -> Run:
    """The run ``run_id``; :class:`NotFoundException` when the workspace has none."""

    try:
        return Run.get(ws, run_id)
    except RunNotFoundException as exc:
        raise NotFoundException(str(exc)) from None


def open_reader(ws: Workspace, run_id: str) -> RunReader:
    """A reader of run ``run_id``; :class:`NotFoundException` when the workspace has none."""
    try:
        return RunReader(ws, run_id)
    except RunNotFoundException as exc:
        raise NotFoundException(str(exc)) from None


def run_detail(ws: Workspace, run_id: str) -> dict[str, Any]:
    """:func:`run_summary` plus ``"details"`` (v1 ``get_details()``), ``"log_files"`` and ``"snippet"``."""
    reader = open_reader(ws, run_id)
    details = reader.details().to_v1()
    details.pop("logFiles", None)  # local paths of this machine; log_files lists the names
    out = run_summary(reader.record, reader.experiment_name(), str(details["status"]))
    out["details"] = details
    out["log_files"] = reader.log_names()
    out["snippet"] = f"RunDetails(Run.get(ws, {run_id!r})).show()"
    return out


def run_diff(ws: Workspace, run_a: str, run_b: str) -> dict[str, Any]:
    """``Run.get(ws, a).diff(Run.get(ws, b))`` (runtime/diff.py) as JSON: metric values that are not finite become
    None; :class:`NotFoundException` when either run is not in the workspace."""
    diff = get_run(ws, run_a).diff(get_run(ws, run_b))
    diff["metrics"] = {
        name: [None if v is None else _finite(float(v)) for v in pair] for name, pair in diff["metrics"].items()
    }
    return diff


def run_diff_view(ws: Workspace, run_a: str, run_b: str) -> dict[str, Any]:
    """The sidebar's diff of two runs (view/diff.py ``diff_view``): :func:`run_diff` as tables of formatted cells and
    file changes, the columns titled with the runs' names."""
    from jupyter_amlrun.view.diff import diff_view

    a, b = get_run(ws, run_a), get_run(ws, run_b)
    labels = [a.reader.refresh().run_name or run_a, b.reader.refresh().run_name or run_b]
    if labels[0] == labels[1]:
        labels = [f"{labels[0]} ({run_a[:8]})", f"{labels[1]} ({run_b[:8]})"]
    return dict(diff_view(a.diff(b), labels))


def run_notice(ws: Workspace, run_id: str) -> dict[str, Any]:
    """Whether run ``run_id`` ended and the notice to show then (view/notice.py ``end_notice``)."""
    from jupyter_amlrun.view.notice import end_notice

    reader = get_run(ws, run_id).reader
    status = reader.status()  # refreshes the record (and reconciles a run whose process died)
    return dict(end_notice(run_id, reader.record.run_name, reader.experiment_name(), status))


def resubmit_run(ws: Workspace, run_id: str, body: bytes) -> dict[str, Any]:
    """Re-run ``run_id`` from its snapshot (``Run.resubmit``) with the JSON body's changes: ``{"arguments": [...],
    "compute_target": "name", "environment": "registered name"}`` (each optional); answers ``{"id", "status",
    "resubmit_of"}`` of the new run."""
    import json

    from jupyter_amlrun.core.environment import Environment

    try:
        changes = json.loads(body or b"{}")
    except ValueError as exc:
        raise UserErrorException(f'The body must be JSON like {{"arguments": ["--lr", "0.1"]}}: {exc}') from None
    if not isinstance(changes, dict) or set(changes) - {"arguments", "compute_target", "environment"}:
        raise UserErrorException(
            "The body must be a JSON object with only 'arguments' (a list), 'compute_target' (a name) and "
            "'environment' (a registered environment's name)."
        )
    env_name = changes.get("environment")
    environment = Environment.get(ws, str(env_name)) if env_name else None
    new = get_run(ws, run_id).resubmit(
        arguments=changes.get("arguments"), environment=environment, compute_target=changes.get("compute_target")
    )
    return {"id": new.id, "status": new.get_status(), "resubmit_of": run_id}


def read_log(
    ws: Workspace, run_id: str, name: str | None, offset: str | int | None, before: str | int | None = None
) -> dict[str, Any]:
    """At most 256 KiB of a run's log: ``{"name", "text", "start", "offset", "complete"}``.

    Going forward (no ``before``) the text starts at byte ``offset``, and ``offset`` in the answer is where the next
    call goes on; ``complete`` is true once the run ended and the whole file was read. A cut inside a UTF-8 character
    waits for the next call. Going backwards (``before``, "load earlier output"), the text is the part that ends at
    byte ``before`` and starts at a line start (``start``; 0: nothing is left before it), and ``offset`` is
    ``before``.
    """
    reader = open_reader(ws, run_id)
    try:
        status = reader.status()
        paths = reader.log_paths()
        names = reader.log_names()
        chosen = name or main_log(names)
        if before is not None:
            return _read_log_before(reader, run_id, chosen, names, paths, before)
        start = _int_arg("offset", None if offset is None else str(offset), 0, 0, None)
        got = reader.read_log(chosen, start, MAX_LOG_BYTES, paths) if chosen in names and chosen is not None else None
        if got is None:
            if not is_terminal(status):  # a live run's logs appear as it goes: nothing yet, not an error
                return {"name": chosen or "", "text": "", "start": start, "offset": start, "complete": False}
            raise NotFoundException(f"Run {run_id} has no log file {name!r}; its log files: {names}.")
        return {
            "name": chosen,
            "text": got.text,
            "start": got.start,
            "offset": got.end,
            "complete": is_terminal(status) and got.end >= got.size,
        }
    finally:
        reader.close()


def _read_log_before(
    reader: RunReader,
    run_id: str,
    name: str | None,
    names: list[str],
    paths: Mapping[str, Path],
    before: str | int,
) -> dict[str, Any]:
    end = _int_arg("before", str(before), 0, 0, None)
    if name is None or name not in names:
        raise NotFoundException(f"Run {run_id} has no log file {name!r}; its log files: {names}.")
    start = reader.log_line_start(name, end, MAX_LOG_BYTES, paths)
    got = reader.read_log(name, start, end - start, paths) if end > start else None
    return {"name": name, "text": got.text if got is not None else "", "start": start, "offset": end, "complete": False}


def cancel_run(ws: Workspace, run_id: str) -> dict[str, Any]:
    """Cancel a live run: ``{"id", "status"}``; :class:`ConflictException` when it already ended."""
    run = get_run(ws, run_id)
    status = run.get_status()
    if is_terminal(status):
        raise ConflictException(f"Run {run.id} already ended ({status}); only a live run can be canceled.")
    try:
        run.cancel()
    except ExperimentExecutionException as exc:
        raise ConflictException(str(exc)) from None
    status = run.get_status()
    # the backend's cancel is asynchronous: until the run reads Canceled, what stands is the request
    return {"id": run.id, "status": status if is_terminal(status) else RunStatus.CANCEL_REQUESTED.value}


def metric_series(
    ws: Workspace,
    run_ids: Sequence[str],
    name: str | None = None,
    points: str | int | None = None,
    cursor: str | None = None,
    limit: str | int | None = None,
) -> dict[str, Any]:
    """Scalar series by run: ``{"runs": {id: {metric: [[step, value], ...]}}, "total": {id: {metric: n}},
    "points": budget, "cursor": null}`` (at most 20 runs).

    Without ``cursor`` each series is cut for display (:func:`~jupyter_amlrun.tracking.metrics.downsample`: at most
    ``points`` points, default 1000, fewer when many series would make the answer pass :data:`MAX_ANSWER_BYTES`;
    first, last and each bucket's min and max kept); ``total`` says how many points each series has. With ``cursor``
    (``""`` or ``"0"`` to start) the answer is one page of the full history of one run's metric ``name``: at most
    ``limit`` points (default and most :data:`MAX_PAGE_POINTS`), and ``cursor`` is where the next page starts
    (``null`` after the last). Read through :class:`RunReader` (the journal while the run folder holds one, the store
    after).
    """
    ids = [i for i in dict.fromkeys(run_ids) if i]
    if not ids:
        raise UserErrorException("runs is empty: give run ids separated by commas, e.g. runs=<id1>,<id2>.")
    if len(ids) > MAX_METRIC_RUNS:
        raise UserErrorException(f"{len(ids)} runs asked for; compare at most {MAX_METRIC_RUNS} at a time.")
    budget = _int_arg("points", None if points is None else str(points), DEFAULT_SERIES_POINTS, 4, MAX_SERIES_POINTS)
    if cursor is not None:
        if len(ids) != 1 or not name:
            raise UserErrorException("A cursor pages one series: give one run id in runs= and the metric in name=.")
        start = _int_arg("cursor", cursor or "0", 0, 0, None)
        size = _int_arg("limit", None if limit is None else str(limit), MAX_PAGE_POINTS, 1, MAX_PAGE_POINTS)
        got = open_reader(ws, ids[0]).series_page(name, start, size)
        return {
            "runs": {ids[0]: {name: [_point(s, v) for s, v in got]}},
            "total": {},
            "points": size,
            "cursor": str(start + len(got)) if len(got) == size else None,
        }
    sampled = {run_id: _sampled(ws, run_id, name, budget) for run_id in ids}
    count = sum(len(by_name) for by_name in sampled.values())
    # every series gets an equal share of the answer's bytes (a point is at most ~48 bytes of JSON)
    share = max(4, min(budget, MAX_ANSWER_BYTES // POINT_BYTES // max(count, 1)))
    return {
        "runs": {
            run_id: {k: [_point(s, v) for s, v in downsample(sr.points, share)] for k, sr in by_name.items()}
            for run_id, by_name in sampled.items()
        },
        "total": {run_id: {k: sr.total for k, sr in by_name.items()} for run_id, by_name in sampled.items()},
        "points": share,
        "cursor": None,
    }


_ended_series: OrderedDict[tuple[str, str, str | None, int], dict[str, SampledSeries]] = OrderedDict()
_ended_lock = threading.Lock()
ENDED_SERIES_KEPT = 64  # sampled series of ended runs kept (they no longer change): a sidebar's re-reads cost nothing


def _sampled(ws: Workspace, run_id: str, name: str | None, budget: int) -> dict[str, SampledSeries]:
    reader = open_reader(ws, run_id)
    if not is_terminal(status_of(reader.record)):
        return reader.sampled_series(name, budget)
    key = (str(ws.path), run_id, name, budget)
    with _ended_lock:
        got = _ended_series.get(key)
        if got is not None:
            _ended_series.move_to_end(key)
            return got
    got = reader.sampled_series(name, budget)
    with _ended_lock:
        _ended_series[key] = got
        while len(_ended_series) > ENDED_SERIES_KEPT:
            _ended_series.popitem(last=False)
    return got


def _point(step: float, value: float) -> list[float | int | None]:
    """``[step, value]`` for JSON: a whole step as an int (shorter), a non-finite value as null (JSON has no inf)."""
    return [int(step) if step.is_integer() else step, value if math.isfinite(value) else None]


# ---------------------------------------------------------------------------------------------------- compare
def compare(ws: Workspace, run_ids: Sequence[str]) -> dict[str, Any]:
    """The compare view of 2 to 20 runs (view/compare.py, what ``RunDetails([a, b])`` draws) as JSON: a chart per
    metric with a line per run (its colour, name and points, cut for display like :func:`metric_series`; null for a
    value JSON cannot hold) and the parameters table, differing rows first.

    Raises
    ------
    UserErrorException
        Fewer than two runs, or more than 20.
    NotFoundException
        A run is not in the workspace.
    """
    ids = [i for i in dict.fromkeys(run_ids) if i]
    if not 2 <= len(ids) <= MAX_COMPARED_RUNS:
        raise UserErrorException(
            f"{len(ids)} runs given; compare 2 to {MAX_COMPARED_RUNS} runs: runs=<id1>,<id2>,... (comma-separated)."
        )
    readers = [open_reader(ws, run_id) for run_id in ids]
    view = compare_view(readers)
    return {
        "runs": view["runs"],
        "charts": [
            {
                "name": chart["name"],
                "lines": [
                    {
                        "run_id": line["run_id"],
                        "xs": [_finite(x) for x, _y in points],
                        "ys": [_finite(y) for _x, y in points],
                    }
                    for line in chart["lines"]
                    for points in [downsample(list(zip(line["xs"], line["ys"], strict=True)), DEFAULT_SERIES_POINTS)]
                ],
            }
            for chart in view["charts"]
        ],
        "params": view["params"],
        "differing": view["differing"],
    }


# ---------------------------------------------------------------------------------------------------- run view
VIEW_SESSIONS = 32  # followed views kept at once (the oldest goes first)
VIEW_SESSION_SECONDS = 600.0  # a view not asked for this long is forgotten (its next call gets a snapshot)


@dataclass
class _ViewSession:
    """One follower of a run's view: the watcher's read positions and the view model's state between calls."""

    run_id: str
    watcher: RunWatcher
    view: RunView
    seq: int = 0
    used: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


_sessions: OrderedDict[str, _ViewSession] = OrderedDict()
_sessions_lock = threading.Lock()


def _take_session(run_id: str, cursor: str | None) -> _ViewSession | None:
    sid, _, seq = (cursor or "").partition(".")
    now = time.monotonic()
    with _sessions_lock:
        for key in [k for k, s in _sessions.items() if now - s.used > VIEW_SESSION_SECONDS]:
            _sessions.pop(key).watcher.close()
        session = _sessions.get(sid)
        if session is None or session.run_id != run_id or str(session.seq) != seq:
            return None  # unknown, expired, another run's, or a repeated call: start over with a snapshot
        _sessions.move_to_end(sid)
        session.used = now
        session.seq += 1  # claimed: a second call with the same cursor gets a snapshot, not a share of this delta
        return session


def _new_session(session: _ViewSession) -> str:
    with _sessions_lock:
        sid = uuid.uuid4().hex
        _sessions[sid] = session
        while len(_sessions) > VIEW_SESSIONS:
            _sessions.popitem(last=False)[1].watcher.close()
        session.seq, session.used = 1, time.monotonic()
        return sid


def run_view(ws: Workspace, run_id: str, cursor: str | None = None, root_dir: Path | None = None) -> dict[str, Any]:
    """What changed in run ``run_id``'s view since ``cursor``: the widget's view model (view/model.py) over REST.

    Without a cursor (or with one that expired) the answer is a ``reset`` snapshot; the answer's ``cursor`` asks for
    what is new after it, as the widget's comm sends deltas after its snapshot. :class:`NotFoundException` when the
    workspace has no such run. ``root_dir`` (the server's root) makes the run's notebook a path JupyterLab opens.
    """
    session = _take_session(run_id, cursor)
    if session is None:
        reader = open_reader(ws, run_id)
        session = _ViewSession(
            run_id,
            RunWatcher(reader),
            RunView(run_id, load_image=reader.read_file, root_dir=str(Path(root_dir).resolve()) if root_dir else None),
        )
        sid = _new_session(session)
        with session.lock:
            upd = session.view.apply(session.watcher.snapshot())
    else:
        sid = cursor.partition(".")[0] if cursor else ""
        with session.lock:
            upd = session.view.apply(session.watcher.tick())
    return {
        "cursor": f"{sid}.{session.seq}",
        "reset": upd.reset,
        "terminal": session.watcher.terminal,
        "status": upd.status,
        "header": upd.header,
        "duration": upd.duration,
        "logs": upd.logs,
        "children": upd.children,
        "sweep": upd.sweep,
        "charts": [
            {
                "name": c.name,
                "kind": c.kind,
                "xs": [_finite(x) for x, _y in _view_points(c.kind, c.xs, c.ys)],
                "ys": [_finite(y) for _x, y in _view_points(c.kind, c.xs, c.ys)],
                "label": c.label,
                "replace": c.replace,
                "reindex": c.reindex,
                "section": c.section,
                "title": c.title or c.name,
                "axis": c.axis or c.title or c.name,
            }
            for c in upd.charts
        ],
        "tables": upd.tables,
        "images": upd.images,
        "log_chunks": [
            {"name": c.name, "text": c.text, "start": c.start, "end": c.end, "head": c.head, "reset": c.reset}
            for c in upd.log_chunks
        ],
        "has_metrics": upd.has_metrics,
    }


def _view_points(kind: str, xs: Sequence[float], ys: Sequence[float]) -> list[tuple[float, float]]:
    """A scalar chart's points, cut for display like :func:`metric_series` (a snapshot of a 100k-point run was a
    3 MB answer); the first and last are kept, so the next delta's points follow on. A list chart stays whole."""
    points = list(zip(xs, ys, strict=False))
    return downsample(points, DEFAULT_SERIES_POINTS) if kind == "scalar" else points


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
