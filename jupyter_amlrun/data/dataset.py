"""Dataset / FileDataset: named, immutably versioned lists of files in datastores (or at http(s) URLs).

A dataset is its *definition*: a list of paths (``{"datastore", "path"}`` with optional globs, or ``{"url"}``) plus
optional ``skip``/``take``. Registered versions are JSON documents ``<workspace>/datasets/<name>/<version>.json``;
registering the same definition again returns the existing version.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_amlrun._util.fileio import file_lock, read_json, write_json_atomic
from jupyter_amlrun.data.dataset_v1 import (
    ROW_OPS,
    TABULAR_KEY,
    DatasetV1Mixin,
    FileDatasetV1Mixin,
    TabularDatasetV1Mixin,
    tabular_from_doc,
)
from jupyter_amlrun.data.datastore import Datastore, FileEntry, normalize_path
from jupyter_amlrun.data.errors import DatasetException, DatasetValidationError, DatastoreException
from jupyter_amlrun.data.reference import DataPath, DataReference, check_input_name, check_path_on_compute
from jupyter_amlrun.runtime.errors import refused

if TYPE_CHECKING:
    from jupyter_amlrun.core.workspace import Workspace
    from jupyter_amlrun.data.consumption import MountContext

_GLOB_CHARS = re.compile(r"[*?\[]")
_NAME_RE = re.compile(r"^[A-Za-z0-9][\w.\- ]{0,254}$")
_TEMPLATE = "DatasetConsumptionConfig:{}"


# ====================================================================== definition helpers
def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """A path glob as a regex: ``*`` and ``?`` stay inside one folder level, ``**/`` spans any number of levels."""
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end]
                out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("^" + "".join(out) + "$")


def split_glob(path: str) -> tuple[str, str | None]:
    """(folder prefix without glob characters, the glob or ``None``)."""
    if not _GLOB_CHARS.search(path):
        return path, None
    parts = path.split("/")
    fixed = []
    for part in parts:
        if _GLOB_CHARS.search(part):
            break
        fixed.append(part)
    return "/".join(fixed), path


@dataclass(frozen=True)
class ResolvedFile:
    """One file of a dataset: where it lives and where it goes (``rel``) in a download or mount."""

    rel: str
    entry: FileEntry
    datastore: str | None = None
    url: str | None = None


def _item_from(workspace: Workspace | None, path: Any) -> dict[str, Any]:
    if isinstance(path, DataReference):  # v1: datastore.path("x/iris.csv") is accepted wherever a path is
        return {
            "datastore": path.datastore.name,
            "path": normalize_path(path.path_on_datastore, what="path"),
            "_ws": path.datastore.workspace,
        }
    if isinstance(path, DataPath):
        return {
            "datastore": path.datastore.name,
            "path": normalize_path(path.path_on_datastore, what="path"),
            "_ws": path.datastore.workspace,
        }
    if isinstance(path, tuple):
        if len(path) != 2 or not isinstance(path[0], Datastore) or not isinstance(path[1], str):
            raise DatasetException(f"A path tuple must be (datastore, 'relative/path-or-glob'), got {path!r}.")
        return {"datastore": path[0].name, "path": normalize_path(path[1], what="path"), "_ws": path[0].workspace}
    if isinstance(path, Datastore):
        return {"datastore": path.name, "path": "", "_ws": path.workspace}
    if isinstance(path, str):
        scheme = urllib.parse.urlparse(path).scheme.lower()
        if scheme in ("http", "https"):
            if _GLOB_CHARS.search(urllib.parse.urlparse(path).path):
                raise DatasetException(f"URL {path!r} has glob characters; list each http(s) file instead.")
            return {"url": path}
        if scheme in ("abfs", "abfss", "wasb", "wasbs", "azureml"):
            raise DatasetException(
                f"{path!r}: register the container as a datastore "
                "(Datastore.register_azure_blob_container) and pass (datastore, 'path') instead of a storage URL."
            )
        raise DatasetException(
            f"{path!r} is not a dataset path: pass (datastore, 'path/or/glob'), a DataPath, or an http(s) URL. "
            "For local files, upload them first: ws.get_default_datastore().upload('folder', 'target')."
        )
    raise DatasetException(f"Unsupported dataset path {path!r} ({type(path).__name__}).")


def _definition_hash(definition: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()


def _url_entry(url: str) -> FileEntry:
    """The URL's identity for caching: a HEAD request's ETag / Last-Modified / length (clear error when offline)."""
    import urllib.request

    req = urllib.request.Request(url, method="HEAD")
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            headers = resp.headers
    except Exception as exc:
        raise DatasetException(f"Cannot reach {url}: {exc}. Check the URL and the network.") from None
    size = int(headers.get("Content-Length") or -1)
    tag = headers.get("ETag") or headers.get("Last-Modified") or str(size)
    return FileEntry(url, size, f"{tag}".strip('"'))


# ====================================================================== the dataset
class Dataset(DatasetV1Mixin):
    """v1's entry point: ``Dataset.File.from_files(...)``, ``Dataset.get_by_name(ws, name)``."""

    File: Any = None  # set below to FileDatasetFactory (as v1's Dataset.File)
    Tabular: Any = None  # set below to TabularDatasetFactory (as v1's Dataset.Tabular)

    @staticmethod
    def _folder(workspace: Workspace, name: str) -> Path:
        return Path(workspace.path) / "datasets" / name

    @staticmethod
    def _versions(workspace: Workspace, name: str) -> list[int]:
        folder = Dataset._folder(workspace, name)
        if not folder.is_dir():
            return []
        return sorted(int(p.stem) for p in folder.glob("*.json") if p.stem.isdigit())

    @staticmethod
    def get_by_name(workspace: Workspace, name: str, version: int | str = "latest", **kwargs: Any) -> FileDataset:
        """A registered dataset version (``"latest"`` by default).

        Raises
        ------
        DatasetException
            Unknown name or version (the message lists what exists).
        """
        versions = Dataset._versions(workspace, name) if isinstance(name, str) and _NAME_RE.match(name) else []
        if not versions:
            known = sorted(Dataset.get_all(workspace))
            raise DatasetException(
                f"No dataset named {name!r} in workspace {workspace.name!r}. Registered datasets: {known}. "
                "Register one with dataset.register(workspace, name)."
            )
        if version == "latest" or version is None:
            chosen = versions[-1]
        else:
            try:
                chosen = int(version)
            except (TypeError, ValueError):
                raise DatasetException(f"version must be an integer or 'latest', got {version!r}.") from None
            if chosen not in versions:
                raise DatasetException(f"Dataset {name!r} has no version {version}; versions: {versions}.")
        doc = read_json(Dataset._folder(workspace, name) / f"{chosen}.json")
        return FileDataset._from_doc(workspace, doc)

    @staticmethod
    def get_by_id(workspace: Workspace, id: str, **kwargs: Any) -> Any:
        """A registered dataset version by its id (in a run: also a TabularDataset input, by the id its argument
        carries, as v1 scripts do with ``Dataset.get_by_id(ws, id=args.input_data)``)."""
        for doc in Dataset._all_docs(workspace):
            if doc.get("id") == id:
                return FileDataset._from_doc(workspace, doc)
        from jupyter_amlrun.data.consumption import run_input_objects

        for item in run_input_objects().values():
            if item.get("doc", {}).get("id") == id:
                return TabularDataset._from_input_doc(workspace, item["doc"])
        raise DatasetException(f"No dataset with id {id!r} in workspace {workspace.name!r}.")

    @staticmethod
    def _all_docs(workspace: Workspace) -> Iterator[dict[str, Any]]:
        root = Path(workspace.path) / "datasets"
        if root.is_dir():
            for path in sorted(root.glob("*/*.json")):
                doc = read_json(path)
                if isinstance(doc, dict):
                    yield doc

    @staticmethod
    def get_all(workspace: Workspace) -> dict[str, FileDataset]:
        """The latest version of every registered dataset, by name."""
        out: dict[str, FileDataset] = {}
        root = Path(workspace.path) / "datasets"
        if root.is_dir():
            for folder in sorted(p for p in root.iterdir() if p.is_dir()):
                if Dataset._versions(workspace, folder.name):
                    out[folder.name] = Dataset.get_by_name(workspace, folder.name)
        return out

    @staticmethod
    def list_versions(workspace: Workspace, name: str) -> list[FileDataset]:
        """Every version of ``name``, oldest first (for the sidebar)."""
        return [Dataset.get_by_name(workspace, name, v) for v in Dataset._versions(workspace, name)]


class FileDataset(FileDatasetV1Mixin, Dataset):
    """A list of files. Build with ``Dataset.File.from_files``; consume with ``as_named_input(name).as_mount()``."""

    def __init__(self, definition: dict[str, Any], workspace: Workspace | None = None) -> None:
        self._definition = definition
        self._workspace = workspace
        self.id: str | None = None
        self.name: str | None = None
        self.version: int | None = None
        self.description: str | None = None
        self.tags: dict[str, str] = {}
        self.created_time: float | None = None

    @classmethod
    def _from_doc(cls, workspace: Workspace, doc: dict[str, Any]) -> Any:
        if TABULAR_KEY in doc["definition"]:  # a registered TabularDataset (dataset_v1): the table, not its files
            return tabular_from_doc(workspace, doc)
        ds = cls(doc["definition"], workspace)
        ds.id = doc.get("id")
        ds.name = doc.get("name")
        ds.version = doc.get("version")
        ds.description = doc.get("description")
        ds.tags = dict(doc.get("tags") or {})
        ds.created_time = doc.get("created")
        return ds

    @property
    def workspace(self) -> Workspace | None:
        return self._workspace

    @property
    def definition(self) -> dict[str, Any]:
        """The dataset's definition (paths, skip/take); JSON-serialisable."""
        return json.loads(json.dumps(self._definition))

    # -- resolution
    def _need_ws(self) -> Workspace:
        if self._workspace is None:
            raise DatasetException("This dataset has no workspace (it was built from URLs only); register it first.")
        return self._workspace

    def _resolve(self, *, validate: bool = True) -> list[ResolvedFile]:
        """The files of this dataset, sorted by ``rel``; a path that matches nothing raises when ``validate``."""
        return resolve_definition(self._workspace, self._definition, validate=validate, label=self._label())

    def _label(self) -> str:
        return f"dataset {self.name!r} version {self.version}" if self.name else "the dataset"

    def to_path(self) -> list[str]:
        """The dataset's file paths, as they appear under a download or mount folder (``/sub/file.png``)."""
        return ["/" + f.rel for f in self._resolve()]

    def skip(self, count: int) -> FileDataset:
        """A new (unregistered) dataset without the first ``count`` files."""
        return self._with(skip=int(self._definition.get("skip", 0)) + int(count))

    def take(self, count: int) -> FileDataset:
        """A new (unregistered) dataset of the first ``count`` files."""
        current = self._definition.get("take")
        return self._with(take=int(count) if current is None else min(int(current), int(count)))

    def _with(self, **changes: Any) -> FileDataset:
        return FileDataset({**self.definition, **changes}, self._workspace)

    # -- registration
    def register(
        self,
        workspace: Workspace,
        name: str,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        create_new_version: bool = False,
    ) -> FileDataset:
        """Register this definition as ``name`` (immutable versions 1, 2, ...).

        Parameters
        ----------
        workspace:
            The workspace.
        name:
            Dataset name.
        description, tags:
            Metadata of the new version.
        create_new_version:
            Allow a new version under a name that is taken. The same definition always returns the existing version.

        Returns
        -------
        FileDataset
            The registered version.
        """
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise DatasetException(
                f"Invalid dataset name {name!r}: start with a letter or digit, then letters, digits, '_', '-', '.' "
                "or spaces (at most 255)."
            )
        if tags is not None and not isinstance(tags, dict):
            raise DatasetException("tags must be a dict of str -> str.")
        for item in self._definition.get("paths", []):
            if "datastore" in item:
                Datastore.get(workspace, item["datastore"])  # unknown datastore -> clear error now
        digest = _definition_hash(self._definition)
        folder = Dataset._folder(workspace, name)
        with file_lock(folder / ".lock"):
            versions = Dataset._versions(workspace, name)
            for v in reversed(versions):
                doc = read_json(folder / f"{v}.json") or {}
                if doc.get("definition_hash") == digest:
                    return FileDataset._from_doc(workspace, doc)
            if versions and not create_new_version:
                raise DatasetException(
                    f'There is already a dataset registered under name "{name}". Specify `create_new_version=True` '
                    "to register the dataset as a new version."
                )
            version = (versions[-1] + 1) if versions else 1
            doc = {
                "id": str(uuid.uuid4()),
                "name": name,
                "version": version,
                "description": description,
                "tags": {str(k): str(v) for k, v in (tags or {}).items()},
                "definition": self._definition,
                "definition_hash": digest,
                "created": time.time(),
            }
            write_json_atomic(folder / f"{version}.json", doc)
        return FileDataset._from_doc(workspace, doc)

    def unregister_all_versions(self) -> None:
        """Remove every version of this registered dataset (the files stay in their datastores)."""
        if not self.name or self._workspace is None:
            raise DatasetException("This dataset is not registered.")
        import shutil

        shutil.rmtree(Dataset._folder(self._workspace, self.name), ignore_errors=True)

    # -- consumption in the notebook
    def download(
        self,
        target_path: str | os.PathLike[str] | None = None,
        overwrite: bool = False,
        ignore_not_found: bool = False,
        show_progress: bool = True,
    ) -> list[str]:
        """Download the dataset's files under ``target_path`` (default: a new temp folder).

        Parameters
        ----------
        target_path:
            Local folder.
        overwrite:
            Replace existing files; otherwise an existing file is an error (as v1).
        ignore_not_found:
            Skip paths that match nothing instead of raising.
        show_progress:
            Show a progress bar.

        Returns
        -------
        list[str]
            The local paths of the files.
        """
        from jupyter_amlrun.data.consumption import download_files

        files = resolve_definition(
            self._workspace, self._definition, validate=not ignore_not_found, label=self._label()
        )
        target = (Path(target_path).expanduser() if target_path is not None else Path(tempfile.mkdtemp())).resolve()
        if not overwrite:
            existing = [str(target / f.rel) for f in files if (target / f.rel).exists()]
            if existing:
                raise DatasetException(
                    f"{len(existing)} file(s) already exist under {target}, e.g. {existing[0]}. Pass overwrite=True "
                    "to replace them, or download to an empty folder."
                )
        download_files(self._need_ws(), files, target, show_progress=show_progress)
        return [str(target / f.rel) for f in files]

    def mount(self, mount_point: str | os.PathLike[str] | None = None, **kwargs: Any) -> MountContext:
        """A context manager that makes the files appear under a folder (``with ds.mount() as ctx: ctx.mount_point``).

        A folder datastore is used in place; blob data is mounted with FUSE where available, else served from a
        cached download.
        """
        from jupyter_amlrun.data.consumption import MountContext

        return MountContext(self, mount_point)

    # -- consumption in runs
    def as_named_input(self, name: str) -> DatasetConsumptionConfig:
        """Name this dataset as a run input (its env var and ``Run.get_context().input_datasets`` key)."""
        return DatasetConsumptionConfig(name, self)

    def as_mount(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        """``as_named_input(<auto name>).as_mount(path_on_compute)``."""
        return DatasetConsumptionConfig(None, self).as_mount(path_on_compute)

    def as_download(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        """``as_named_input(<auto name>).as_download(path_on_compute)``."""
        return DatasetConsumptionConfig(None, self).as_download(path_on_compute)

    def _sources(self) -> list[str]:
        out = []
        for item in self._definition.get("paths", []):
            out.append(f"('{item['datastore']}', '{item['path']}')" if "datastore" in item else item["url"])
        return out

    def __repr__(self) -> str:
        body: dict[str, Any] = {"source": self._sources(), "definition": ["GetFiles"]}
        for key in ("skip", "take"):
            if key in self._definition:
                body["definition"].append(f"{key.capitalize()}({self._definition[key]})")
        if self.name:
            body["registration"] = {
                "id": self.id,
                "name": self.name,
                "version": self.version,
                "description": self.description,
                "tags": self.tags,
                "workspace": repr(self._workspace),
            }
        return "FileDataset\n" + json.dumps(body, indent=2)


class FileDatasetFactory:
    """``Dataset.File``: builds FileDatasets."""

    @staticmethod
    def from_files(
        path: Any, validate: bool = True, partition_format: str | None = None, is_file: bool = False
    ) -> FileDataset:
        """A dataset of files.

        Parameters
        ----------
        path:
            ``(datastore, 'path/or/glob')`` tuples (globs like ``images/**/*.png``), DataPaths, DataReferences
            (``datastore.path('x/iris.csv')``), http(s) URLs, or a list of them.
        validate:
            Check now that every path matches at least one file.
        partition_format, is_file:
            Accepted for v1 compatibility; ignored.

        Raises
        ------
        DatasetValidationError
            With ``validate``, a path that matches no file.
        """
        items = path if isinstance(path, list) else [path]
        if not items:
            raise DatasetException("from_files needs at least one path.")
        workspace = None
        paths = []
        for raw in items:
            item = _item_from(None, raw)
            ws = item.pop("_ws", None)
            if ws is not None:
                if workspace is not None and ws != workspace:
                    raise DatasetException("All datastores of a dataset must belong to one workspace.")
                workspace = ws
            paths.append(item)
        ds = FileDataset({"paths": paths}, workspace)
        if validate:
            ds._resolve(validate=True)
        return ds

    @staticmethod
    def upload_directory(
        src_dir: str | os.PathLike[str],
        target: Any,
        pattern: str | None = None,
        overwrite: bool = False,
        show_progress: bool = True,
    ) -> FileDataset:
        """Upload a folder to ``target`` (``(datastore, 'path')`` or a DataPath) and return a dataset of it."""
        item = _item_from(None, target)
        store = Datastore.get(item["_ws"], item["datastore"])
        src = Path(src_dir).expanduser()
        if pattern:
            files = [p for p in src.rglob(pattern) if p.is_file()] if src.is_dir() else []
            if not files:
                raise DatasetException(f"No file under {src} matches pattern {pattern!r}.")
            store.upload_files(
                files, relative_root=src, target_path=item["path"], overwrite=overwrite, show_progress=show_progress
            )
        else:
            store.upload(src, item["path"], overwrite=overwrite, show_progress=show_progress)
        return FileDatasetFactory.from_files((store, item["path"]))


Dataset.File = FileDatasetFactory


# ====================================================================== tabular datasets (read in the notebook)
_TABULAR_READERS = ("delimited", "parquet", "json_lines")


class TabularDataset(TabularDatasetV1Mixin):
    """Rows read from delimited, Parquet or JSON-lines files (v1 ``TabularDataset``), built by ``Dataset.Tabular``.

    The files are a :class:`FileDataset`; :meth:`to_pandas_dataframe` downloads them (folder datastores are read in
    place) and parses them with pandas (``pip install pandas``; Parquet also needs pyarrow).
    """

    def __init__(self, files: FileDataset, reader: str, options: dict[str, Any]) -> None:
        self._files = files
        self._reader = reader
        self._options = dict(options)
        self._ops: list[tuple[str, Any]] = []
        self.name: str | None = None
        self.version: int | None = None

    def _with(self, op: str, arg: Any) -> TabularDataset:
        out = TabularDataset(self._files, self._reader, self._options)
        out._ops = [*self._ops, (op, arg)]
        return out

    def to_pandas_dataframe(self, on_error: str = "null", out_of_range_datetime: str = "null") -> Any:
        """All rows as one ``pandas.DataFrame`` (files in dataset order, one after another)."""
        try:
            import pandas as pd
        except ImportError:
            raise DatasetException("to_pandas_dataframe needs pandas: pip install pandas.") from None
        from jupyter_amlrun.data.consumption import local_sources

        files = self._files._resolve(validate=True)
        sources = local_sources(self._files._need_ws(), files) if files else {}
        frames = []
        for f in files:
            src = sources[f.rel]
            if self._reader == "delimited":
                frame = pd.read_csv(
                    src,
                    sep=self._options.get("separator", ","),
                    header=0 if self._options.get("header", True) else None,
                    encoding=self._options.get("encoding") or "utf-8",
                )
            elif self._reader == "parquet":
                frame = pd.read_parquet(src)
            else:
                frame = pd.read_json(src, lines=True)
            if self._options.get("include_path"):
                frame.insert(0, "Path", "/" + f.rel)
            frames.append(frame)
        df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        types = self._options.get("set_column_types") or {}
        for column, kind in types.items():
            df[column] = df[column].astype(kind)
        for op, arg in self._ops:
            if op == "skip":
                df = df.iloc[arg:]
            elif op == "take":
                df = df.iloc[:arg]
            elif op == "keep":
                df = df[arg]
            elif op == "drop":
                df = df.drop(columns=arg)
            elif op in ROW_OPS:  # row filters of dataset_v1 (time ranges, samples), JSON arguments
                df = ROW_OPS[op](df, arg)
        return df.reset_index(drop=True)

    def take(self, count: int) -> TabularDataset:
        """The first ``count`` rows."""
        return self._with("take", int(count))

    def skip(self, count: int) -> TabularDataset:
        """Without the first ``count`` rows."""
        return self._with("skip", int(count))

    def keep_columns(self, columns: str | list[str], validate: bool = False) -> TabularDataset:
        """Only these columns."""
        return self._with("keep", [columns] if isinstance(columns, str) else list(columns))

    def drop_columns(self, columns: str | list[str]) -> TabularDataset:
        """Without these columns."""
        return self._with("drop", [columns] if isinstance(columns, str) else list(columns))

    def to_csv_files(self, separator: str = ",") -> FileDataset:
        """The underlying files (when they are delimited files already)."""
        if self._reader != "delimited" or self._ops:
            raise DatasetException(
                "to_csv_files only returns the source files of an unmodified delimited dataset; write "
                "ds.to_pandas_dataframe().to_csv(...) and upload it for anything else."
            )
        return self._files

    def as_named_input(self, name: str) -> DatasetConsumptionConfig:
        """This table as a run input (v1 direct mode): the script gets a TabularDataset from
        ``Run.get_context().input_datasets[name]``; in the run's arguments it is the dataset's id."""
        return DatasetConsumptionConfig(name, self, "direct")

    def _input_doc(self) -> dict[str, Any]:
        """What a run needs to rebuild this table in the script (JSON)."""
        doc = {
            "files": self._files.definition,
            "reader": self._reader,
            "options": self._options,
            "ops": [[op, arg] for op, arg in self._ops],
            "name": self.name,
            "version": self.version,
        }
        given = getattr(self, "id", None)
        digest = hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()
        doc["id"] = given or f"tabular-{digest[:32]}"
        return json.loads(json.dumps(doc, default=str))

    @classmethod
    def _from_input_doc(cls, workspace: Workspace, doc: dict[str, Any]) -> TabularDataset:
        ds = cls(FileDataset(doc["files"], workspace), str(doc["reader"]), dict(doc.get("options") or {}))
        ds._ops = [(str(op), arg) for op, arg in doc.get("ops") or []]
        ds.name = doc.get("name")
        ds.version = doc.get("version")
        ds.id = doc.get("id")
        return ds

    def __repr__(self) -> str:
        body = {"source": self._files._sources(), "definition": [f"Read{self._reader.title()}"]}
        body["definition"] += [f"{op.capitalize()}({arg})" for op, arg in self._ops]
        return "TabularDataset\n" + json.dumps(body, indent=2)


class TabularDatasetFactory:
    """``Dataset.Tabular``: builds TabularDatasets from files in datastores (or http(s) URLs)."""

    register_dask_dataframe = staticmethod(
        refused("TabularDatasetFactory.register_dask_dataframe", "Use register_pandas_dataframe(ddf.compute(), ...).")
    )
    register_spark_dataframe = staticmethod(
        refused(
            "TabularDatasetFactory.register_spark_dataframe",
            "Spark is not provided; use register_pandas_dataframe(sdf.toPandas(), ...).",
        )
    )

    @staticmethod
    def from_delimited_files(
        path: Any,
        validate: bool = True,
        include_path: bool = False,
        infer_column_types: bool = True,
        set_column_types: dict[str, Any] | None = None,
        separator: str = ",",
        header: Any = True,
        partition_format: str | None = None,
        support_multi_line: bool = False,
        empty_as_string: bool = False,
        encoding: str = "utf8",
    ) -> TabularDataset:
        """A table from CSV/TSV files.

        Parameters
        ----------
        path:
            What ``Dataset.File.from_files`` takes: ``(datastore, 'path/or/glob')``, DataPaths, DataReferences,
            http(s) URLs, or a list of them.
        validate:
            Check now that every path matches a file.
        include_path:
            Add a ``Path`` column with each row's file.
        set_column_types:
            ``{column: dtype}`` applied after parsing.
        separator, header, encoding:
            How to parse (``header=False`` when the files have no header row).
        infer_column_types, partition_format, support_multi_line, empty_as_string:
            Accepted for v1 compatibility (pandas infers the types).
        """
        files = FileDatasetFactory.from_files(path, validate=validate)
        options = {
            "separator": separator,
            "header": header not in (False, "NO_HEADERS", "no_headers"),
            "include_path": include_path,
            "set_column_types": set_column_types,
            "encoding": "utf-8" if encoding in ("utf8", "utf-8") else encoding,
        }
        return TabularDataset(files, "delimited", options)

    @staticmethod
    def from_parquet_files(
        path: Any,
        validate: bool = True,
        include_path: bool = False,
        set_column_types: dict[str, Any] | None = None,
        partition_format: str | None = None,
    ) -> TabularDataset:
        """A table from Parquet files (pandas with pyarrow reads them)."""
        files = FileDatasetFactory.from_files(path, validate=validate)
        return TabularDataset(files, "parquet", {"include_path": include_path, "set_column_types": set_column_types})

    @staticmethod
    def from_json_lines_files(
        path: Any,
        validate: bool = True,
        include_path: bool = False,
        set_column_types: dict[str, Any] | None = None,
        partition_format: str | None = None,
        invalid_lines: str = "error",
        encoding: str = "utf8",
    ) -> TabularDataset:
        """A table from JSON-lines files (one object a line)."""
        files = FileDatasetFactory.from_files(path, validate=validate)
        return TabularDataset(files, "json_lines", {"include_path": include_path, "set_column_types": set_column_types})

    @staticmethod
    def from_sql_query(*args: Any, **kwargs: Any) -> TabularDataset:
        raise DatasetException(
            "Dataset.Tabular.from_sql_query needs an Azure SQL datastore, which jupyter_amlrun does not provide. "
            "Export the query result to CSV or Parquet, upload it to a datastore and use from_delimited_files or "
            "from_parquet_files."
        )

    @staticmethod
    def register_pandas_dataframe(dataframe: Any, target: Any, name: str, **kwargs: Any) -> FileDataset:
        """Write ``dataframe`` as CSV to ``target`` (``(datastore, 'folder')`` or a DataPath) and register the file
        as the FileDataset ``name``; read it back with ``Dataset.Tabular.from_delimited_files``."""
        item = _item_from(None, target)
        store = Datastore.get(item["_ws"], item["datastore"])
        with tempfile.TemporaryDirectory(prefix="amlrun_df_") as tmp:
            local = Path(tmp) / f"{name}.csv"
            dataframe.to_csv(local, index=False)
            store.upload_files(
                [local], relative_root=tmp, target_path=item["path"], overwrite=True, show_progress=False
            )
        rel = posixpath.join(item["path"], f"{name}.csv") if item["path"] else f"{name}.csv"
        return FileDatasetFactory.from_files((store, rel)).register(item["_ws"], name, create_new_version=True)


Dataset.Tabular = TabularDatasetFactory
TabularDataset.File = FileDatasetFactory
TabularDataset.Tabular = TabularDatasetFactory


def resolve_definition(
    workspace: Workspace | None, definition: dict[str, Any], *, validate: bool = True, label: str = "the dataset"
) -> list[ResolvedFile]:
    """List the files of a dataset definition (the driver calls this at run start).

    Each file's ``rel`` is its path below the common folder of the dataset's paths. Raises
    :class:`DatasetValidationError` for a path that matches nothing when ``validate``.
    """
    found: list[tuple[str, str, ResolvedFile]] = []  # (key, base_key, file)
    stores: dict[str, Datastore] = {}
    for item in definition.get("paths", []):
        if "url" in item:
            url = item["url"]
            parsed = urllib.parse.urlparse(url)
            key = f"{parsed.netloc}{parsed.path}"
            found.append((key, posixpath.dirname(key), ResolvedFile(key, FileEntry(url, -1, ""), url=url)))
            continue
        if workspace is None:
            raise DatasetException("A dataset with datastore paths needs its workspace.")
        name = item["datastore"]
        if name not in stores:
            stores[name] = Datastore.get(workspace, name)
        store = stores[name]
        prefix, pattern = split_glob(item["path"])
        try:
            entries = store.list_files(prefix)
        except Exception as exc:
            store._raise_clean(exc)
        if pattern is not None:
            rx = glob_to_regex(pattern)
            entries = [e for e in entries if rx.match(e.path)]
            base = prefix
        elif len(entries) == 1 and entries[0].path == prefix:
            base = posixpath.dirname(prefix)  # a single file
        else:
            base = prefix
        if not entries and validate:
            shown = item["path"] or "/"
            raise DatasetValidationError(
                f"Path ({name!r}, {shown!r}) of {label} matches no files. Check the path (datastore.ls("
                f"{posixpath.dirname(prefix)!r}) lists that folder) or upload the data first; pass validate=False to "
                "create the dataset anyway."
            )
        base_key = posixpath.join(name, base) if base else name
        for e in entries:
            found.append((f"{name}/{e.path}", base_key, ResolvedFile("", e, datastore=name)))
    if not found:
        return []
    common = posixpath.commonpath([b for _k, b, _f in found]) if len(found) > 1 else found[0][1]
    seen: set[str] = set()
    out: list[ResolvedFile] = []
    for key, _base, f in found:
        rel = posixpath.relpath(key, common) if common else key
        if rel in seen:
            continue
        seen.add(rel)
        out.append(ResolvedFile(rel, f.entry, f.datastore, f.url))
    out.sort(key=lambda f: f.rel)
    skip = int(definition.get("skip", 0) or 0)
    take = definition.get("take")
    out = out[skip:] if take is None else out[skip : skip + int(take)]
    return out


class DatasetConsumptionConfig:
    """A dataset as a named run input: ``dataset.as_named_input("input").as_mount()`` in ScriptRunConfig arguments.

    The argument becomes ``DatasetConsumptionConfig:<name>``, replaced on the target by the local path; the path is
    also in the env var ``<name>`` and in ``Run.get_context().input_datasets[<name>]``.

    Parameters
    ----------
    name:
        Input name (letters, digits, underscores); ``None`` for an automatic ``input__<id>`` name.
    dataset:
        The FileDataset.
    mode:
        ``"direct"`` (not consumable as a path here), ``"mount"`` or ``"download"``.
    path_on_compute:
        Where the data appears on the target (default: a folder of the run).
    """

    name: str = ""  # class-level default; set per instance
    as_hdfs = refused("DatasetConsumptionConfig.as_hdfs", "HDFS is not provided; use as_mount() or as_download().")

    def __init__(
        self,
        name: str | None,
        dataset: FileDataset | TabularDataset,
        mode: str = "direct",
        path_on_compute: str | None = None,
    ) -> None:
        if not isinstance(dataset, FileDataset | TabularDataset):
            raise DatasetException(
                f"DatasetConsumptionConfig needs a FileDataset or TabularDataset, got {type(dataset).__name__}."
            )
        if isinstance(dataset, TabularDataset) and mode != "direct":
            raise DatasetException(
                "A TabularDataset is a run input in direct mode only (as in v1): pass "
                f"tabular_ds.as_named_input({name!r}) and read Run.get_context().input_datasets[{name!r}]"
                ".to_pandas_dataframe() in the script; to mount or download its files, use a FileDataset."
            )
        if name is None:
            given = getattr(dataset, "id", None)
            name = "input__" + (given.replace("-", "")[:8] if given else uuid.uuid4().hex[:8])
        self.name = check_input_name(name)
        self.dataset = dataset
        if mode not in ("direct", "mount", "download"):
            raise DatasetException(f"mode must be 'direct', 'mount' or 'download', got {mode!r}.")
        self.mode = mode
        self.path_on_compute = check_path_on_compute(path_on_compute)

    def as_mount(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        """Mount the dataset on the target (a folder datastore in place; blob via FUSE or a cached download)."""
        return DatasetConsumptionConfig(self.name, self.dataset, "mount", path_on_compute)

    def as_download(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        """Download the dataset on the target before the script starts (cached across runs)."""
        return DatasetConsumptionConfig(self.name, self.dataset, "download", path_on_compute)

    @property
    def arg_val(self) -> str:
        return _TEMPLATE.format(self.name)

    def __amlrun_input__(self) -> tuple[str, dict[str, Any]]:
        if isinstance(self.dataset, TabularDataset):
            doc = self.dataset._input_doc()
            tabular = {
                "kind": "dataset",
                "name": self.name,
                "mode": "direct",
                "tabular": doc,
                "dataset_id": doc["id"],
                "dataset_name": self.dataset.name,
                "dataset_version": self.dataset.version,
            }
            return self.arg_val, tabular
        if self.mode == "direct":
            raise DatasetException(
                f"Input {self.name!r} is in direct mode, which a script cannot read as a path: use "
                f"as_named_input({self.name!r}).as_mount() or .as_download()."
            )
        ds = self.dataset
        spec = {
            "kind": "dataset",
            "name": self.name,
            "mode": self.mode,
            "path_on_compute": self.path_on_compute,
            "definition": ds.definition,
            "dataset_id": ds.id,
            "dataset_name": ds.name,
            "dataset_version": ds.version,
        }
        return self.arg_val, spec

    def __str__(self) -> str:
        return self.arg_val

    def __repr__(self) -> str:
        ds = self.dataset
        label = ds._label() if isinstance(ds, FileDataset) else f"tabular dataset {ds.name!r}"
        return f"DatasetConsumptionConfig(name={self.name!r}, mode={self.mode!r}, dataset={label})"


__all__ = [
    "Dataset",
    "DatasetConsumptionConfig",
    "DatastoreException",
    "FileDataset",
    "FileDatasetFactory",
    "resolve_definition",
]
