"""v1 dataset members beyond files and reading (metadata, lookups, time-series filters, sampling), as mixins the
dataset classes inherit, plus the refusals of what has no local meaning (profiles, snapshots, Spark, HDFS, ...).

Time-series filters work like v1's: ``with_timestamp_columns(timestamp=...)`` names the column, then
``time_before/time_after/time_between/time_recent`` keep the rows in range when the data is read
(``to_pandas_dataframe``); a filter on a dataset without a timestamp column raises ``DatasetTimestampMissingError``.
"""

from __future__ import annotations

import builtins
import copy
import datetime as _dt
from typing import TYPE_CHECKING, Any

from jupyter_amlrun._util.fileio import file_lock, read_json, write_json_atomic
from jupyter_amlrun.data.errors import DatasetException
from jupyter_amlrun.runtime.errors import DatasetTimestampMissingError, refuse_members

if TYPE_CHECKING:
    from jupyter_amlrun.core.workspace import Workspace

_PANDAS = "Read the data with ds.to_pandas_dataframe() and use pandas ({what})."
_PROFILE = _PANDAS.format(what="df.describe(), df.compare(other)")
_NO_LIFECYCLE = (
    "Dataset lifecycle states are not kept; versions are immutable and ds.unregister_all_versions() removes them."
)
_NO_SNAPSHOT = (
    "Registered versions are immutable snapshots already: register a new version with create_new_version=True."
)
_NEW_API = "Use Dataset.Tabular.{0}(...) or Dataset.File.from_files(...) (v1's current API)."
_NO_STREAMS = "Stream columns are not supported; keep files in a FileDataset and use its download()/mount()."
_NO_SPARK = "Spark is not provided; read with ds.to_pandas_dataframe() (or pyspark's spark.createDataFrame(df))."
_NO_DASK = "Use dask.dataframe.from_pandas(ds.to_pandas_dataframe(), npartitions=N)."
_NO_PARTITIONS = "Partitioned datasets are not supported; filter rows with pandas after to_pandas_dataframe()."
_NO_HDFS = "HDFS is not provided; use as_mount() or as_download()."
_NO_CACHE = "Datacache is not provided; use as_download() (files are cached per run folder)."
#: The key of a registered TabularDataset's reading recipe in its stored definition (beside the files' paths).
TABULAR_KEY = "tabular"
_FILTER = "Filter rows with pandas: ds.to_pandas_dataframe().query('col > 5')."


@refuse_members(
    methods={
        "archive": _NO_LIFECYCLE,
        "deprecate": _NO_LIFECYCLE,
        "reactivate": _NO_LIFECYCLE,
        "compare_profiles": _PROFILE,
        "diff": _PROFILE,
        "generate_profile": _PROFILE,
        "get_profile": _PROFILE,
        "create_snapshot": _NO_SNAPSHOT,
        "delete_snapshot": _NO_SNAPSHOT,
        "get_all_snapshots": _NO_SNAPSHOT,
        "get_snapshot": _NO_SNAPSHOT,
        "get_definition": _NO_SNAPSHOT,
        "get_definitions": _NO_SNAPSHOT,
        "update_definition": _NO_SNAPSHOT,
        "auto_read_files": _NEW_API.format("from_delimited_files"),
        "from_excel_files": "Excel files are not read by datasets; use pandas.read_excel on ds.download() paths.",
        "from_json_files": _NEW_API.format("from_json_lines_files"),
        "from_pandas_dataframe": "Use Dataset.Tabular.register_pandas_dataframe(df, (datastore, path), name).",
        "from_sql_query": "SQL datastores are not provided; query with your database client and use pandas.",
        "head": _PANDAS.format(what="df.head(n)"),
        "sample": _PANDAS.format(what="df.sample(frac=p)"),
        "to_pandas_dataframe": "A FileDataset holds files; use Dataset.Tabular.from_delimited_files(...) for rows.",
        "to_spark_dataframe": _NO_SPARK,
        "update": "Use ds.add_tags(...) / ds.update(description=...) on a registered FileDataset.",
        "add_tags": "Tag a registered FileDataset: Dataset.get_by_name(ws, name).add_tags({...}).",
        "remove_tags": "Untag a registered FileDataset: Dataset.get_by_name(ws, name).remove_tags([...]).",
        "unregister_all_versions": "Call it on a registered FileDataset: Dataset.get_by_name(ws, name).",
        "as_named_input": "Use a FileDataset: Dataset.File.from_files(...).as_named_input(name).",
        "get_partition_key_values": _NO_PARTITIONS,
    },
    owner="Dataset",
)
class DatasetV1Mixin:
    """v1's ``Dataset`` class members: lookups that delegate to the current API, metadata defaults, refusals."""

    # Class-level defaults of what a registered dataset sets per instance (v1 code reads them on any dataset).
    id: str | None = None
    name: str | None = None
    version: int | None = None
    description: str | None = None
    tags: Any = None
    definition: Any = None
    definition_version: str | None = None
    workspace: Any = None
    state = "active"  # no lifecycle states here (archive/deprecate are refused)
    is_visible = True
    data_changed_time: Any = None  # not tracked here
    partition_keys: builtins.list[str] = []

    @staticmethod
    def get(workspace: Workspace, name: str | None = None, id: str | None = None) -> Any:
        """v1's old lookup: by name (latest version) or by id."""
        from jupyter_amlrun.data.dataset import Dataset

        if (name is None) == (id is None):
            raise DatasetException("Dataset.get takes name= or id= (one of them).")
        return Dataset.get_by_name(workspace, name) if name is not None else Dataset.get_by_id(workspace, str(id))

    @staticmethod
    def list(workspace: Workspace) -> builtins.list[Any]:
        """The latest version of every registered dataset."""
        from jupyter_amlrun.data.dataset import Dataset

        return builtins.list(Dataset.get_all(workspace).values())

    @staticmethod
    def from_delimited_files(path: Any, *args: Any, **kwargs: Any) -> Any:
        """v1's old factory; same as ``Dataset.Tabular.from_delimited_files(path)`` (only ``path`` and the options
        of the current API are honoured)."""
        from jupyter_amlrun.data.dataset import TabularDatasetFactory

        keep = {k: v for k, v in kwargs.items() if k in ("separator", "header", "encoding", "include_path")}
        return TabularDatasetFactory.from_delimited_files(path, **keep)

    @staticmethod
    def from_parquet_files(path: Any, *args: Any, **kwargs: Any) -> Any:
        """v1's old factory; same as ``Dataset.Tabular.from_parquet_files(path)``."""
        from jupyter_amlrun.data.dataset import TabularDatasetFactory

        return TabularDatasetFactory.from_parquet_files(path)

    @staticmethod
    def from_binary_files(path: Any, *args: Any, **kwargs: Any) -> Any:
        """v1's old factory; same as ``Dataset.File.from_files(path)``."""
        from jupyter_amlrun.data.dataset import FileDatasetFactory

        return FileDatasetFactory.from_files(path)

    def register(self, *args: Any, **kwargs: Any) -> Any:
        raise DatasetException("Register a FileDataset: Dataset.File.from_files(...).register(ws, name).")


@refuse_members(
    methods={
        "as_cache": _NO_CACHE,
        "hydrate": _NO_CACHE,
        "as_hdfs": _NO_HDFS,
        "file_metadata": "File metadata expressions are not supported; filter ds.to_path() in Python.",
        "filter": "Filter the file list in Python: [p for p in ds.to_path() if ...], then Dataset.File.from_files.",
        "get_partition_key_values": _NO_PARTITIONS,
        "random_split": "Split the file list in Python: ds.to_path(), then two Dataset.File.from_files(...) calls.",
        "take_sample": "Sample the file list in Python: ds.to_path(), then Dataset.File.from_files(...).",
    },
    owner="FileDataset",
)
class FileDatasetV1Mixin:
    """v1 ``FileDataset`` members: tags and description of a registered version (stored in its document)."""

    partition_keys: builtins.list[str] = []
    data_changed_time: Any = None  # not tracked here

    def _update_doc(self: Any, change: Any) -> None:
        from jupyter_amlrun.data.dataset import Dataset

        if not self.name or self._workspace is None:
            raise DatasetException("This dataset is not registered; register it first: ds.register(ws, name).")
        folder = Dataset._folder(self._workspace, self.name)
        path = folder / f"{self.version}.json"
        with file_lock(folder / ".lock"):
            doc = read_json(path)
            if not isinstance(doc, dict):
                raise DatasetException(f"Dataset {self.name!r} version {self.version} is no longer registered.")
            change(doc)
            write_json_atomic(path, doc)
        self.tags = dict(doc.get("tags") or {})
        self.description = doc.get("description")

    def add_tags(self: Any, tags: dict[str, Any]) -> Any:
        """Add or replace tags of this registered version (stored); returns the dataset."""
        if not isinstance(tags, dict):
            raise DatasetException("tags must be a dict of str -> str.")
        self._update_doc(lambda doc: doc.setdefault("tags", {}).update({str(k): str(v) for k, v in tags.items()}))
        return self

    def remove_tags(self: Any, tags: builtins.list[str]) -> Any:
        """Remove tags by name from this registered version (stored); returns the dataset."""

        def drop(doc: dict[str, Any]) -> None:
            for key in tags:
                (doc.get("tags") or {}).pop(key, None)

        self._update_doc(drop)
        return self

    def update(self: Any, description: str | None = None, tags: dict[str, Any] | None = None) -> Any:
        """Replace the description and/or the tags of this registered version (stored); returns the dataset."""

        def change(doc: dict[str, Any]) -> None:
            if description is not None:
                doc["description"] = description
            if tags is not None:
                doc["tags"] = {str(k): str(v) for k, v in tags.items()}

        self._update_doc(change)
        return self


def _as_timestamp(value: Any, name: str) -> Any:
    import pandas as pd

    try:
        return pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise DatasetException(f"{name} must be a datetime or a date string, got {value!r}.") from exc


def _time_mask(series: Any, start: Any, end: Any, include_boundary: bool) -> Any:
    """Which values of a datetime series lie in [start, end] (open ends when None; strict without the boundary)."""
    import pandas as pd

    values = pd.to_datetime(series, errors="coerce")
    tz = getattr(values.dt, "tz", None)

    def align(ts: Any) -> Any:
        if ts is None:
            return None
        if tz is None and ts.tzinfo is not None:
            return ts.tz_convert("UTC").tz_localize(None)
        if tz is not None and ts.tzinfo is None:
            return ts.tz_localize(tz)
        return ts

    start, end = align(start), align(end)
    mask = values.notna()
    if start is not None:
        mask &= (values >= start) if include_boundary else (values > start)
    if end is not None:
        mask &= (values <= end) if include_boundary else (values < end)
    return mask


@refuse_members(
    methods={
        "download": _NO_STREAMS,
        "mount": _NO_STREAMS,
        "filter": _FILTER,
        "get_partition_key_values": _NO_PARTITIONS,
        "partition_by": _NO_PARTITIONS,
        "get_profile": _PROFILE,
        "get_profile_runs": _PROFILE,
        "submit_profile_run": _PROFILE,
        "to_dask_dataframe": _NO_DASK,
        "to_spark_dataframe": _NO_SPARK,
        "to_parquet_files": "Write it yourself: ds.to_pandas_dataframe().to_parquet(path), then upload the folder.",
    },
    owner="TabularDataset",
)
class TabularDatasetV1Mixin:
    """v1 ``TabularDataset`` members: lookups, metadata defaults, time-series filters and random sampling."""

    name: str | None = None
    version: int | None = None
    File: Any = None  # set in dataset.py to the factories (v1 reaches them through any dataset class)
    Tabular: Any = None
    id: str | None = None
    description: str | None = None
    tags: dict[str, str] = {}
    partition_keys: builtins.list[str] = []
    data_changed_time: Any = None

    # ----------------------------------------------------------------- lookups (v1: static on every dataset)
    @staticmethod
    def get_by_name(workspace: Workspace, name: str, version: int | str = "latest", **kwargs: Any) -> Any:
        """A registered dataset by name (same as ``Dataset.get_by_name``)."""
        from jupyter_amlrun.data.dataset import Dataset

        return Dataset.get_by_name(workspace, name, version)

    @staticmethod
    def get_by_id(workspace: Workspace, id: str, **kwargs: Any) -> Any:
        """A registered dataset by id (same as ``Dataset.get_by_id``)."""
        from jupyter_amlrun.data.dataset import Dataset

        return Dataset.get_by_id(workspace, id)

    @staticmethod
    def get_all(workspace: Workspace) -> dict[str, Any]:
        """Every registered dataset by name (same as ``Dataset.get_all``)."""
        from jupyter_amlrun.data.dataset import Dataset

        return Dataset.get_all(workspace)

    # ----------------------------------------------------------------- registration
    def register(
        self: Any,
        workspace: Workspace,
        name: str,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        create_new_version: bool = False,
    ) -> Any:
        """Register this table as ``name`` (immutable versions 1, 2, ...; the same definition returns its version):
        its files, how they are read and every operation (filters, columns, samples). ``Dataset.get_by_name(ws,
        name)`` then returns a TabularDataset."""
        import json

        from jupyter_amlrun.data.dataset import FileDataset

        recipe = {"reader": self._reader, "options": self._options, "ops": [[op, arg] for op, arg in self._ops]}
        try:
            recipe = json.loads(json.dumps(recipe))
        except (TypeError, ValueError) as exc:
            raise DatasetException(f"This TabularDataset cannot be stored (its options are not JSON: {exc}).") from None
        definition = {**self._files.definition, TABULAR_KEY: recipe}
        return FileDataset(definition, workspace).register(workspace, name, description, tags, create_new_version)

    def _registered_handle(self: Any) -> Any:
        from jupyter_amlrun.data.dataset import FileDataset

        if not self.name or self.version is None:
            raise DatasetException("This TabularDataset is not registered; register it first: ds.register(ws, name).")
        handle = FileDataset(self._files.definition, self._files.workspace)
        handle.name, handle.version = self.name, self.version
        return handle

    def _after(self: Any, handle: Any) -> Any:
        self.tags, self.description = dict(handle.tags), handle.description
        return self

    def add_tags(self: Any, tags: dict[str, Any]) -> Any:
        """Add or replace tags of this registered version (stored); returns the dataset."""
        return self._after(self._registered_handle().add_tags(tags))

    def remove_tags(self: Any, tags: builtins.list[str]) -> Any:
        """Remove tags by name from this registered version (stored); returns the dataset."""
        return self._after(self._registered_handle().remove_tags(tags))

    def update(self: Any, description: str | None = None, tags: dict[str, Any] | None = None) -> Any:
        """Replace the description and/or tags of this registered version (stored); returns the dataset."""
        return self._after(self._registered_handle().update(description=description, tags=tags))

    def unregister_all_versions(self: Any) -> None:
        """Remove every version of this registered dataset (the files stay in their datastores)."""
        self._registered_handle().unregister_all_versions()

    # ----------------------------------------------------------------- time series
    @property
    def timestamp_columns(self: Any) -> tuple[str | None, str | None]:
        """``(timestamp, partition_timestamp)`` set by :meth:`with_timestamp_columns` (``(None, None)`` if not)."""
        return self._options.get("timestamp"), self._options.get("partition_timestamp")

    def with_timestamp_columns(
        self: Any,
        timestamp: str | None = None,
        partition_timestamp: str | None = None,
        validate: bool = False,
        **kwargs: Any,
    ) -> Any:
        """A copy whose time filters use the column ``timestamp`` (and ``partition_timestamp``, v1's coarse column);
        ``None`` for both clears them. ``validate=True`` reads the data and checks the columns exist."""
        timestamp = timestamp if timestamp is not None else kwargs.get("fine_grain_timestamp")
        partition_timestamp = (
            partition_timestamp if partition_timestamp is not None else kwargs.get("coarse_grain_timestamp")
        )
        if timestamp is None and partition_timestamp is not None:
            raise DatasetException("partition_timestamp needs timestamp too (v1's rule).")
        if timestamp is not None and timestamp == partition_timestamp:
            raise DatasetException("timestamp and partition_timestamp must be different columns.")
        out = copy.copy(self)
        out._options = {**self._options, "timestamp": timestamp, "partition_timestamp": partition_timestamp}
        out._ops = list(self._ops)
        if validate:
            columns = list(out.take(1).to_pandas_dataframe().columns)
            missing = [c for c in (timestamp, partition_timestamp) if c is not None and c not in columns]
            if missing:
                raise DatasetException(f"Timestamp column(s) {missing} not in the dataset's columns {columns}.")
        return out

    def _time_filter(self: Any, start: Any, end: Any, include_boundary: bool, validate: bool) -> Any:
        fine, coarse = self.timestamp_columns
        if fine is None:
            raise DatasetTimestampMissingError(
                "This TabularDataset has no timestamp column; set one first: "
                "ds.with_timestamp_columns(timestamp='<column>')."
            )
        # JSON-safe arguments: a dataset passed to a run is rebuilt there from its operations
        arg = {
            "columns": [c for c in (fine, coarse) if c is not None],
            "start": None if start is None else start.isoformat(),
            "end": None if end is None else end.isoformat(),
            "include_boundary": bool(include_boundary),
        }
        out = self._with("time", arg)
        if validate:
            out.take(1).to_pandas_dataframe()
        return out

    def time_before(self: Any, end_time: Any, include_boundary: bool = True, validate: bool = True) -> Any:
        """Rows whose timestamp is before ``end_time`` (or at it, with ``include_boundary``)."""
        return self._time_filter(None, _as_timestamp(end_time, "end_time"), include_boundary, validate)

    def time_after(self: Any, start_time: Any, include_boundary: bool = True, validate: bool = True) -> Any:
        """Rows whose timestamp is after ``start_time`` (or at it, with ``include_boundary``)."""
        return self._time_filter(_as_timestamp(start_time, "start_time"), None, include_boundary, validate)

    def time_between(
        self: Any, start_time: Any, end_time: Any, include_boundary: bool = True, validate: bool = True
    ) -> Any:
        """Rows whose timestamp is between ``start_time`` and ``end_time``."""
        start, end = _as_timestamp(start_time, "start_time"), _as_timestamp(end_time, "end_time")
        if start > end:
            raise DatasetException(f"start_time {start} is after end_time {end}.")
        return self._time_filter(start, end, include_boundary, validate)

    def time_recent(self: Any, time_delta: _dt.timedelta, include_boundary: bool = True, validate: bool = True) -> Any:
        """Rows from the last ``time_delta`` (until now, UTC). The cut-off is taken now, as in v1."""
        if not isinstance(time_delta, _dt.timedelta):
            raise DatasetException(f"time_delta must be a datetime.timedelta, got {type(time_delta).__name__}.")
        import pandas as pd

        start = pd.Timestamp(_dt.datetime.now(tz=_dt.timezone.utc) - time_delta)
        return self._time_filter(start, None, include_boundary, validate)

    # ----------------------------------------------------------------- sampling
    def random_split(self: Any, percentage: float, seed: int | None = None) -> tuple[Any, Any]:
        """Two datasets: about ``percentage`` of the rows, and the rest (disjoint; the same ``seed`` splits the
        same way every time)."""
        if not 0.0 < float(percentage) < 1.0:
            raise DatasetException(f"percentage must be between 0 and 1 (exclusive), got {percentage!r}.")
        arg = {"fraction": float(percentage), "seed": _seed(seed)}
        return self._with("sample", {**arg, "keep": True}), self._with("sample", {**arg, "keep": False})

    def take_sample(self: Any, probability: float, seed: int | None = None) -> Any:
        """Each row kept with ``probability`` (the same ``seed`` keeps the same rows)."""
        if not 0.0 <= float(probability) <= 1.0:
            raise DatasetException(f"probability must be between 0 and 1, got {probability!r}.")
        return self._with("sample", {"fraction": float(probability), "seed": _seed(seed), "keep": True})


def _seed(seed: int | None) -> int:
    """The seed a sample keeps (drawn now when none is given, so the same rows come back on every read)."""
    import secrets

    return secrets.randbits(32) if seed is None else int(seed)


def _apply_time(df: Any, arg: dict[str, Any]) -> Any:
    import pandas as pd

    for column in arg["columns"]:
        if column not in df.columns:
            raise DatasetException(f"Timestamp column {column!r} is not in the data ({list(df.columns)}).")
    start = None if arg.get("start") is None else pd.Timestamp(arg["start"])
    end = None if arg.get("end") is None else pd.Timestamp(arg["end"])
    return df[_time_mask(df[arg["columns"][0]], start, end, bool(arg.get("include_boundary", True)))]


def _apply_sample(df: Any, arg: dict[str, Any]) -> Any:
    import numpy as np

    chosen = np.random.default_rng(int(arg["seed"])).random(len(df)) < float(arg["fraction"])
    return df[chosen if arg.get("keep", True) else ~chosen]


#: Row operations of dataset_v1 that ``TabularDataset.to_pandas_dataframe`` applies: op name -> function(frame, arg).
#: Their arguments are JSON (a dataset given to a run is rebuilt from its operations there).
ROW_OPS: dict[str, Any] = {"time": _apply_time, "sample": _apply_sample}


def tabular_from_doc(workspace: Workspace, doc: dict[str, Any]) -> Any:
    """The TabularDataset a registered document holds (its files, reader, options and operations)."""
    from jupyter_amlrun.data.dataset import FileDataset, TabularDataset

    definition = dict(doc["definition"])
    recipe = definition.pop(TABULAR_KEY)
    ds = TabularDataset(FileDataset(definition, workspace), str(recipe["reader"]), dict(recipe.get("options") or {}))
    ds._ops = [(str(op), arg) for op, arg in recipe.get("ops") or []]
    ds.id = doc.get("id")
    ds.name = doc.get("name")
    ds.version = doc.get("version")
    ds.description = doc.get("description")
    ds.tags = dict(doc.get("tags") or {})
    return ds
