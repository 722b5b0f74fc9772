"""The REST contract's answers (``docs/rest-api.md``) as TypedDicts: the Python side of ``labextension/src/api.ts``.

:mod:`jupyter_amlrun.server.service` builds these dicts; ``tests/server`` checks that every answer has exactly these
keys, so the contract, the handlers and the TypeScript types cannot drift apart silently.
"""

from __future__ import annotations

from typing import Any, TypedDict

from jupyter_amlrun.view.compare import CompareRun
from jupyter_amlrun.view.model import HeaderView, ImageView, LogsView, StatusView, SweepView, TableView


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
    size_text: str  # "2.0 KB" (view/model.py format_size); "" for folders
    modified_text: str  # the server's local time (view/model.py format_time); "" when not known


class FolderAnswer(PageAnswer):
    datastore: str
    path: str
    snippet: str


class UploadAnswer(TypedDict):
    path: str
    size: int
    size_text: str


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
    created_text: str  # the server's local time (view/model.py format_time)
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
    counts_text: str  # "3 runs · 1 live"


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
    # What the runs list draws, by the widget's rules (view/model.py): the front end formats nothing.
    badge: StatusView
    duration_text: str  # "1h 2m 3s"; "" when not known
    metrics_text: str  # the first metrics as "name=value ..."


class RunsAnswer(PageAnswer):
    live_count: int


class RunDetailAnswer(RunItem):
    details: dict[str, Any]  # v1 get_details(), without local paths or secrets
    log_files: list[str]
    snippet: str


class LogAnswer(TypedDict):
    name: str
    text: str
    start: int  # the byte the text starts at (with before=: a line start; 0: nothing earlier is left)
    offset: int  # where the next call goes on (with before=: the byte the text ends at)
    complete: bool


class CancelAnswer(TypedDict):
    id: str
    status: str


class DiffAnswer(TypedDict):
    """GET runs/{a}/diff/{b} (runtime/diff.py ``diff_runs``): each ``[a, b]`` pair is the two runs' values."""

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


class CompareLinePart(TypedDict):
    """One run's line in a compare chart (view/compare.py ``CompareLine``; null for NaN or +-inf)."""

    run_id: str
    xs: list[float | None]
    ys: list[float | None]


class CompareChartPart(TypedDict):
    name: str
    lines: list[CompareLinePart]


class CompareAnswer(TypedDict):
    """GET compare?runs=a,b,...: view/compare.py ``CompareView`` over REST (what ``RunDetails([a, b])`` draws)."""

    runs: list[CompareRun]  # id, name, status and the colour of its line
    charts: list[CompareChartPart]  # one per metric name
    params: TableView  # "Parameter", then a column per run; differing rows first
    differing: int


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
    title: str  # the chart's title (view/model.py chart_title)
    axis: str  # its value axis's label (view/model.py chart_axis)


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
