"""The REST contract's answers (``docs/rest-api.md``) as TypedDicts: the Python side of ``labextension/src/api.ts``.

:mod:`jupyter_amlrun.server.service` builds these dicts; ``tests/server`` checks that every answer has exactly these
keys, so the contract, the handlers and the TypeScript types cannot drift apart silently.
"""

from __future__ import annotations

from typing import Any, TypedDict

from jupyter_amlrun.view.model import HeaderView, ImageView, LogsView, SweepView, TableView


class ErrorAnswer(TypedDict):
    """Every error: what was wrong and how to fix it, and the HTTP status again."""

    error: str
    status: int


class PageAnswer(TypedDict):
    """The envelope of every list: ``items`` of one page, ``total`` before paging."""

    items: list[Any]
    total: int
    offset: int
    limit: int


class WorkspaceAnswer(TypedDict):
    name: str
    location: str
    default_datastore: str
    tracking: str  # the tracking URI, credentials redacted


class DatastoreItem(TypedDict):
    name: str
    kind: str  # the datastore_type: "Folder", "AzureBlob", ... ("unavailable" when it cannot be opened)
    container: str  # blob container, or the folder's name
    is_default: bool


class FileItem(TypedDict):
    name: str
    path: str  # relative to the datastore root
    is_dir: bool
    size: int | None  # None for folders
    modified: str | None  # ISO 8601 (UTC, "Z"), None when the store does not say


class FolderAnswer(PageAnswer):
    datastore: str
    path: str
    snippet: str


class UploadAnswer(TypedDict):
    path: str
    size: int


class DatasetItem(TypedDict):
    name: str
    latest_version: int
    description: str
    tags: dict[str, str]
    sources: list[str]
    versions: list[int]
    snippet: str


class ModelVersionItem(TypedDict):
    version: int
    description: str
    tags: dict[str, str]
    run_id: str | None
    experiment: str | None
    created: str
    snippet: str


class ModelItem(TypedDict):
    name: str
    latest_version: int
    versions: list[ModelVersionItem]  # newest first


class DownloadAnswer(TypedDict):
    path: str  # relative to the Jupyter root


class ExperimentItem(TypedDict):
    name: str
    id: str
    run_count: int
    live_count: int


class RunItem(TypedDict):
    id: str
    experiment: str
    display_name: str
    status: str
    start: str | None
    end: str | None
    duration_seconds: float | None
    metrics: dict[str, float]  # last scalar value of each metric
    target: str
    parent_id: str | None


class RunsAnswer(PageAnswer):
    live_count: int


class RunDetailAnswer(RunItem):
    details: dict[str, Any]  # v1 get_details(), without local paths or secrets
    log_files: list[str]
    snippet: str


class LogAnswer(TypedDict):
    name: str
    text: str
    offset: int  # where the next call goes on
    complete: bool


class CancelAnswer(TypedDict):
    id: str
    status: str


class DiffAnswer(TypedDict):
    """GET runs/{a}/diff/{b} (core/diff.py ``diff_runs``): each ``[a, b]`` pair is the two runs' values."""

    runs: list[str]
    params: dict[str, list[Any]]  # name -> [a, b], differing names first; the script's arguments as "arguments"
    metrics: dict[str, list[float | None]]  # name -> [last a, last b]
    code: dict[str, Any]  # snapshots, missing, missing_reason, added, removed, changed [{path, size, diff}], unchanged
    environment: dict[str, Any]  # same, name, hash, python, docker_image, packages {added, removed, changed}, missing
    inputs: dict[str, Any]  # added, removed, changed (name -> dataset:version), same


class ResubmitAnswer(TypedDict):
    """POST runs/{id}/resubmit: the new run."""

    id: str
    status: str
    resubmit_of: str


class MetricsAnswer(TypedDict):
    runs: dict[str, dict[str, list[list[float | None]]]]  # run id -> metric -> [[step, value], ...] (null: NaN/inf)
    total: dict[str, dict[str, int]]  # run id -> metric -> points logged (``runs`` holds a sample of them)
    points: int  # the most points a series of ``runs`` holds in this answer
    cursor: str | None  # paging one series' full history: where the next page starts (null: the last page)


class ChartPart(TypedDict):
    """Points for one chart (view/model.py ``ChartUpdate``); the comm sends them as float64 buffers, REST as lists
    (a value JSON cannot hold, NaN or +-inf, is ``null``)."""

    name: str
    kind: str
    xs: list[float | None]
    ys: list[float | None]
    label: str
    replace: bool
    reindex: bool
    section: str  # "metrics", or "system" (system/... samples: the System section)


class LogChunkPart(TypedDict):
    """Bytes ``[start, end)`` of a log, decoded (view/watch.py ``LogChunk``; the comm's ``LogChunkMsg``)."""

    name: str
    text: str
    start: int
    end: int
    head: int
    reset: bool


class RunViewAnswer(TypedDict):
    """GET runs/{id}/view: what changed in the run's view since ``cursor`` (everything, ``reset``, without one),
    as the widget gets it over its comm: the same view model (view/model.py) and its TypedDicts."""

    cursor: str
    reset: bool
    terminal: bool
    status: str | None
    header: HeaderView | None
    duration: str | None
    logs: LogsView | None
    children: TableView | None
    sweep: SweepView | None
    charts: list[ChartPart]
    tables: list[TableView]
    images: list[ImageView]
    log_chunks: list[LogChunkPart]
    has_metrics: bool
