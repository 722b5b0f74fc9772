"""Making dataset and datastore inputs appear as local paths: in runs (the driver) and in the notebook.

- Folder datastores are used in place (a mount costs nothing), or through a folder of symlinks when the dataset is
  a glob or a subset.
- Blob data is mounted with FUSE (fusepy + fsspec, read-only) where the machine allows it; otherwise it is served
  from a content cache with a logged notice.
- Downloads go through the same cache: ``<workspace>/cache/datastores/<name>/`` keyed by the blob's etag (size +
  mtime for folders), so a second run with unchanged data transfers nothing.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import tempfile
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_amlrun._util.fileio import file_lock, read_json, write_json_atomic
from jupyter_amlrun.core.contracts import InputMaterializer, Log, MaterializedInputs
from jupyter_amlrun.data.datastore import Datastore, FileEntry, _copy_local, _temp_beside
from jupyter_amlrun.data.errors import DatasetException, DatasetValidationError

if TYPE_CHECKING:
    from jupyter_amlrun.core.workspace import Workspace
    from jupyter_amlrun.data.dataset import FileDataset, ResolvedFile


# Objects a run's inputs give the script (TabularDataset in direct mode): JSON {name: {"loader", "doc"}}; the
# loader ("module:Class.method") rebuilds the object in the script, read by Run.get_context().input_datasets.
INPUT_OBJECTS_ENV = "AMLRUN_INPUT_OBJECTS"
TABULAR_LOADER = "jupyter_amlrun.data.dataset:TabularDataset._from_input_doc"


def run_input_objects() -> dict[str, dict[str, Any]]:
    """The object inputs of the run this process belongs to (empty outside a run)."""
    try:
        value = json.loads(os.environ.get(INPUT_OBJECTS_ENV) or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _quiet(_message: str) -> None:
    pass


# ====================================================================== the content cache
class ContentCache:
    """Local copies of remote files, reused while their fingerprint (etag) is unchanged."""

    def __init__(self, workspace: Workspace) -> None:
        self.root = Path(workspace.path) / "cache"

    def _store_dir(self, name: str) -> Path:
        return self.root / "datastores" / name

    def ensure(
        self, store: Datastore, entries: list[FileEntry], show_progress: bool = False
    ) -> tuple[dict[str, Path], int]:
        """Local paths of ``entries`` (fetching what is missing or changed); returns (paths, files fetched)."""
        local_root = store.local_root()
        if local_root is not None:
            return {e.path: local_root / e.path for e in entries}, 0
        folder = self._store_dir(store.name)
        index_path = folder / "index.json"
        with file_lock(folder / ".lock"):
            index: dict[str, Any] = read_json(index_path, {}) or {}
            paths = {e.path: folder / "files" / e.path for e in entries}
            stale = [
                (e, paths[e.path])
                for e in entries
                if index.get(e.path) != e.fingerprint
                or not paths[e.path].is_file()
                or paths[e.path].stat().st_size != e.size
            ]
            try:
                store._fetch_entries(stale, show_progress, desc="Caching")
            finally:
                # Record what arrived even if a later file failed, so a re-run resumes.
                for e, p in stale:
                    if p.is_file() and p.stat().st_size == e.size:
                        index[e.path] = e.fingerprint
                write_json_atomic(index_path, index)
        return paths, len(stale)

    def ensure_url(self, url: str) -> tuple[Path, bool]:
        """A local copy of ``url`` (re-fetched when its ETag/Last-Modified changes); returns (path, fetched)."""
        from jupyter_amlrun.data.dataset import _url_entry

        entry = _url_entry(url)
        folder = self.root / "urls" / hashlib.sha256(url.encode()).hexdigest()[:20]
        name = os.path.basename(url.split("?", 1)[0]) or "index"
        local = folder / name
        with file_lock(folder / ".lock"):
            meta = read_json(folder / "meta.json", {}) or {}
            if meta.get("fingerprint") == entry.fingerprint and local.is_file():
                return local, False
            fetch_url(url, local)
            write_json_atomic(folder / "meta.json", {"url": url, "fingerprint": entry.fingerprint})
        return local, True


def fetch_url(url: str, local: Path, timeout: float = 60) -> None:
    """Download ``url`` to ``local`` atomically; a clear error when it cannot be reached."""
    local.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_beside(local)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, open(tmp, "wb") as fh:
            shutil.copyfileobj(resp, fh, 1024 * 1024)
        os.replace(tmp, local)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise DatasetException(f"Could not download {url}: {exc}. Check the URL and the network.") from None


def local_sources(
    workspace: Workspace, files: list[ResolvedFile], show_progress: bool = False, log: Log = _quiet
) -> dict[str, Path]:
    """``rel -> local file`` for every file: folder datastores in place, remote files through the cache."""
    cache = ContentCache(workspace)
    by_store: dict[str, list[ResolvedFile]] = {}
    out: dict[str, Path] = {}
    for f in files:
        if f.url is not None:
            out[f.rel], _ = cache.ensure_url(f.url)
        else:
            by_store.setdefault(str(f.datastore), []).append(f)
    for name, group in by_store.items():
        store = Datastore.get(workspace, name)
        paths, fetched = cache.ensure(store, [f.entry for f in group], show_progress)
        if store.local_root() is None:
            log(f"Datastore {name!r}: {len(group)} files, {fetched} fetched, {len(group) - fetched} from the cache.")
        for f in group:
            out[f.rel] = paths[f.entry.path]
    return out


def download_files(
    workspace: Workspace, files: list[ResolvedFile], target: Path, show_progress: bool = True, log: Log = _quiet
) -> None:
    """Copy the dataset's files to ``target/<rel>`` (remote ones via the cache)."""
    sources = local_sources(workspace, files, show_progress, log)
    target.mkdir(parents=True, exist_ok=True)
    for rel, src in sources.items():
        _copy_local(src, target / rel)


def symlink_view(sources: dict[str, Path], target: Path) -> None:
    """A folder of symlinks: the files appear under their dataset paths without copying."""
    target.mkdir(parents=True, exist_ok=True)
    for rel, src in sources.items():
        link = target / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(src)


def _single_path(definition: dict[str, Any]) -> dict[str, Any] | None:
    """The one datastore path of a plain definition (no glob, no skip/take), else ``None``."""
    from jupyter_amlrun.data.dataset import split_glob

    paths = definition.get("paths", [])
    if len(paths) != 1 or "datastore" not in paths[0] or definition.get("skip") or definition.get("take") is not None:
        return None
    return paths[0] if split_glob(paths[0]["path"])[1] is None else None


def _is_single_file(files: list[ResolvedFile], definition: dict[str, Any]) -> bool:
    single = _single_path(definition)
    return bool(single and len(files) == 1 and files[0].entry.path == single["path"] and single["path"])


# ====================================================================== mounting
class _Mounted:
    """A mounted (or in-place / cached) view and how to undo it."""

    def __init__(self, path: Path, cleanup: Callable[[], None] | None = None) -> None:
        self.path = path
        self._cleanup = cleanup

    def close(self) -> None:
        if self._cleanup is not None:
            cleanup, self._cleanup = self._cleanup, None
            cleanup()


def _check_empty(mount_point: Path) -> None:
    if mount_point.exists() and (not mount_point.is_dir() or any(mount_point.iterdir())):
        raise DatasetException(f"The mount point {mount_point} must be an empty folder (or not exist yet).")


def mount_files(
    workspace: Workspace,
    files: list[ResolvedFile],
    definition: dict[str, Any],
    mount_point: Path | None,
    log: Log = _quiet,
    label: str = "input",
    view_root: Path | None = None,
) -> _Mounted:
    """Make the files appear under a folder, the cheapest way this machine allows.

    ``mount_point`` ``None`` lets a folder datastore be used in place; ``view_root`` is where symlink views and FUSE
    mount points go when no mount point is given.
    """
    from jupyter_amlrun.data import _fuse

    single = _single_path(definition)
    store = Datastore.get(workspace, single["datastore"]) if single else None
    if store is not None and single is not None:
        local = store.local_root()
        if local is not None and mount_point is None:
            path = local / single["path"] if single["path"] else local
            log(f"Mounting {label} to {path} (folder datastore {store.name!r}, used in place)")
            return _Mounted(path)
        if local is None:
            reason = _fuse.unavailable_reason() if not _is_single_file(files, definition) else "a single file"
            if reason is None:
                point = mount_point or Path(tempfile.mkdtemp(prefix=f"amlrun_mount_{label}_"))
                _check_empty(point)
                log(f"Mounting {label} to {point} (FUSE, read-only, datastore {store.name!r})")
                handle = _fuse.start_mount(workspace, store.name, single["path"], point)

                def unmount() -> None:
                    handle.stop()
                    if mount_point is None:
                        shutil.rmtree(point, ignore_errors=True)  # unmounted: only the empty folder is left

                return _Mounted(point, unmount)
            log(
                f"Notice: FUSE is not available here ({reason}); {label} is served from a cached download "
                "instead of a mount."
            )
    if mount_point is None:
        base = view_root or Path(tempfile.mkdtemp(prefix="amlrun_view_"))
        point = base / label if view_root else base
    else:
        point = mount_point
    _check_empty(point)
    log(f"Mounting {label} to {point}")
    symlink_view(local_sources(workspace, files, log=log), point)
    return _Mounted(point, (lambda: shutil.rmtree(point, ignore_errors=True)) if mount_point is None else None)


class MountContext:
    """``with dataset.mount() as ctx:`` -- ``ctx.mount_point`` holds the files until the block ends (v1 API)."""

    def __init__(self, dataset: FileDataset, mount_point: str | os.PathLike[str] | None = None) -> None:
        self._dataset = dataset
        self._requested = Path(mount_point).expanduser() if mount_point is not None else None
        self._mounted: _Mounted | None = None

    @property
    def mount_point(self) -> str:
        if self._mounted is None:
            raise DatasetException("The dataset is not mounted: call start() or use `with dataset.mount() as ctx`.")
        return str(self._mounted.path)

    def start(self) -> None:
        """Mount (idempotent)."""
        if self._mounted is not None:
            return
        ds = self._dataset
        files = ds._resolve()
        self._mounted = mount_files(ds._need_ws(), files, ds.definition, self._requested, label=ds.name or "dataset")

    def stop(self) -> None:
        """Unmount (and remove a view this context created)."""
        if self._mounted is not None:
            self._mounted.close()
            self._mounted = None

    def __enter__(self) -> MountContext:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


# ====================================================================== the driver's entry point
def _place(path_on_compute: str | None, workdir: Path, default: Path) -> Path:
    if not path_on_compute:
        return default
    p = Path(os.path.expandvars(path_on_compute)).expanduser()
    return p if p.is_absolute() else workdir / p


class DatasetMaterializer(InputMaterializer):
    """Dataset and data-reference inputs of a run (the ``dataset`` and ``datareference`` kinds) as local paths.

    ``mount`` uses folder datastores in place and mounts blob data (FUSE, or the content cache); ``download`` copies
    through the content cache. The mounts last until :meth:`release` (the driver calls it; also at exit).
    """

    def __init__(self, workspace: Workspace) -> None:
        super().__init__(workspace)
        self._mounts: list[_Mounted] = []

    def materialize(self, inputs: list[dict[str, Any]], run_root: Path, log: Log) -> MaterializedInputs:
        """Resolve each input spec (stored in the run's spec.json by submit) to a local path.

        Raises
        ------
        DatasetValidationError
            A dataset path matches no file (the run fails at start with this message).
        """
        from jupyter_amlrun.data.dataset import resolve_definition
        from jupyter_amlrun.data.reference import DataReference

        workspace = self.workspace
        workdir = run_root / "wd"
        out = MaterializedInputs()
        dataset_vars: list[str] = []
        views = workdir / ".amlrun_inputs"
        objects: dict[str, dict[str, Any]] = {}
        for spec in inputs:
            name, mode = str(spec["name"]), str(spec.get("mode", "mount"))
            if spec.get("tabular") is not None:
                value = self._tabular(spec, log)
                objects[name] = {"loader": TABULAR_LOADER, "doc": spec["tabular"]}
                out.replacements[f"DatasetConsumptionConfig:{name}"] = value
                out.env[name] = value
                out.env[f"AZURE_ML_INPUT_{name}"] = value
                dataset_vars.append(f"{name}:direct")
                continue
            kind = spec.get("kind", "dataset")
            if kind == "datareference":
                ref = DataReference(
                    Datastore.get(workspace, spec["datastore"]),
                    name,
                    spec.get("path_on_datastore"),
                    mode,
                    spec.get("path_on_compute"),
                    bool(spec.get("overwrite")),
                )
                definition = {"paths": [{"datastore": ref.datastore.name, "path": ref.path_on_datastore or ""}]}
                label = f"data reference {name!r} ({ref.datastore.name}, {ref.path_on_datastore or '/'})"
                placeholder = str(ref)
            else:
                definition = spec["definition"]
                label = (
                    f"dataset {spec['dataset_name']!r} version {spec.get('dataset_version')}"
                    if spec.get("dataset_name")
                    else "an unregistered dataset"
                )
                placeholder = f"DatasetConsumptionConfig:{name}"
            log(f"Processing '{name}': {label}, mode {mode}")
            files = resolve_definition(workspace, definition, validate=True, label=f"input '{name}' ({label})")
            if not files:
                raise DatasetValidationError(f"Input '{name}' ({label}) has no files.")
            single_file = _is_single_file(files, definition)
            if mode == "download":
                target = _place(spec.get("path_on_compute"), workdir, views / name)
                log(f"Downloading {name} to {target}")
                download_files(workspace, files, target, show_progress=False, log=log)
                log(f"Downloaded {len(files)} files for {name}")
            elif mode == "mount":
                requested = (
                    _place(spec.get("path_on_compute"), workdir, views / name) if spec.get("path_on_compute") else None
                )
                mounted = mount_files(workspace, files, definition, requested, log=log, label=name, view_root=views)
                if not self._mounts:
                    atexit.register(self.release)  # FUSE mounts end with the driver at the latest
                self._mounts.append(mounted)
                target = mounted.path
            else:
                raise DatasetException(f"Input '{name}': mode {mode!r} cannot be materialised; use mount or download.")
            is_file_target = mode == "mount" and target.is_file()
            path = str(target / files[0].rel) if single_file and not is_file_target else str(target)
            out.replacements[placeholder] = path
            if kind == "datareference":
                out.env[f"AZUREML_DATAREFERENCE_{name}"] = path
            else:
                out.env[name] = path
                out.env[f"AZURE_ML_INPUT_{name}"] = path
                dataset_vars.append(f"{name}:{mode}")
        if dataset_vars:
            out.env["AZUREML_DATASET_ENVIRONMENT_VARS"] = ",".join(dataset_vars)
        if objects:
            out.env[INPUT_OBJECTS_ENV] = json.dumps(objects)
        return out

    def _tabular(self, spec: dict[str, Any], log: Log) -> str:
        """A TabularDataset input (direct mode): its files are checked now, read by the script; returns its id."""
        from jupyter_amlrun.data.dataset import resolve_definition

        doc = spec["tabular"]
        label = f"tabular dataset {doc.get('name')!r}" if doc.get("name") else "an unregistered tabular dataset"
        files = resolve_definition(
            self.workspace, doc["files"], validate=True, label=f"input '{spec['name']}' ({label})"
        )
        if not files:
            raise DatasetValidationError(f"Input '{spec['name']}' ({label}) has no files.")
        log(
            f"Processing '{spec['name']}': {label}, direct mode ({len(files)} files, read by the script with "
            f"Run.get_context().input_datasets['{spec['name']}'].to_pandas_dataframe()); argument value {doc['id']}"
        )
        return str(doc["id"])

    def release(self) -> None:
        """Unmount what :meth:`materialize` mounted (idempotent)."""
        while self._mounts:
            self._mounts.pop().close()
