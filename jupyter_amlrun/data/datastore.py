"""Datastore: the v1 API and the one abstract contract every storage backend implements.

A backend implements a handful of primitives over paths relative to the datastore root (list, stat, put, get, remove);
everything users call (``upload``, ``upload_files``, ``download``, ``path``, ``as_mount``, listing for the sidebar,
registration) is written once here on top of them, with parallel transfers and tqdm progress bars.

Registrations are small JSON documents ``<workspace>/datastores/<name>/datastore.json``; secrets never go in them (see
:mod:`jupyter_amlrun.data._secrets`). The embedded default ``workspaceblobstore`` is the folder
``<workspace>/datastores/workspaceblobstore/data`` and exists without registration.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import os
import posixpath
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from jupyter_amlrun._util.fileio import file_lock, read_json, write_json_atomic
from jupyter_amlrun.core import catalog
from jupyter_amlrun.core.contracts import DatastoreBackend, FileEntry
from jupyter_amlrun.runtime.errors import (
    DatastoreAuthenticationError,
    DatastoreConnectionError,
    DatastoreException,
    not_supported,
)

if TYPE_CHECKING:
    from jupyter_amlrun.core.workspace import Workspace
    from jupyter_amlrun.data.reference import DataReference

EMBEDDED_NAME = catalog.EMBEDDED_NAME
DOC_NAME = catalog.DOC_NAME
DEFAULT_DOC = catalog.DEFAULT_DOC
PART_MARK = ".amlrun-part-"  # temp files of an unfinished transfer; never listed
_NAME_RE = catalog.NAME_RE
_SKIP_LIST_MAX = 20  # "Target already exists" lines printed before summarising
List = list  # the class defines a static `list` (v1 API); annotations inside it use this alias


def transfer_workers() -> int:
    """Parallel transfers: ``AMLRUN_TRANSFER_WORKERS`` or 16 (I/O bound; measured best on Azurite, see benchmarks)."""
    try:
        return max(1, int(os.environ.get("AMLRUN_TRANSFER_WORKERS", "16")))
    except ValueError:
        return 16


def normalize_path(path: str | os.PathLike[str] | None, *, what: str = "target_path") -> str:
    """A datastore-relative POSIX path; ``""`` is the root. Paths that escape the datastore are refused."""
    if path is None:
        return ""
    text = os.fspath(path).replace("\\", "/").strip()
    text = text.lstrip("/")
    if not text:
        return ""
    norm = posixpath.normpath(text)
    if norm == ".":
        return ""
    if norm == ".." or norm.startswith("../"):
        raise DatastoreException(
            f"{what} {os.fspath(path)!r} escapes the datastore (it resolves to {norm!r}). Use a path inside the "
            "datastore, such as 'datasets/cifar10'."
        )
    return norm


def check_datastore_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise DatastoreException(
            f"Invalid datastore name {name!r}: use 1-255 letters, digits or underscores (e.g. 'training_data')."
        )
    return name


def _say(message: str) -> None:
    print(message, flush=True)


def _progress(total: int, desc: str, show: bool) -> Any:
    """A tqdm bar (the widget form in a notebook) or a no-op."""
    if not show:
        return contextlib.nullcontext(None)
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, leave=True)


def _temp_beside(path: Path) -> Path:
    return path.parent / f".{path.name}{PART_MARK}{uuid.uuid4().hex[:8]}"


class Datastore(DatastoreBackend):
    """A named storage location of a workspace: a folder, or an Azure Blob container.

    ``Datastore(workspace, name)`` returns the typed datastore (as v1); with no name, the default datastore.
    Register new ones with :meth:`register_azure_blob_container` or :meth:`register_folder`.

    Parameters
    ----------
    workspace:
        The workspace.
    name:
        Datastore name; ``None`` for the workspace's default datastore.
    """

    datastore_type: ClassVar[str] = "Abstract"
    workspace: Workspace = None  # type: ignore[assignment]  # class-level defaults; from_doc sets both
    name: str = ""
    _doc: dict[str, Any]

    @property
    def is_sas(self) -> bool:
        """Whether the datastore authenticates with a SAS token (v1); folders and key-based stores: False."""
        return bool(getattr(self, "sas_token", None))

    def __new__(cls, workspace: Workspace | None = None, name: str | None = None) -> Datastore:
        if cls is Datastore:
            if workspace is None:
                raise DatastoreException("Datastore(workspace, name) needs a workspace.")
            return Datastore.get_default(workspace) if name is None else Datastore.get(workspace, name)
        return super().__new__(cls)

    def __init__(self, workspace: Workspace | None = None, name: str | None = None) -> None:
        # Instances are built by from_doc; this only exists so Datastore(ws, name) type-checks.
        pass

    @classmethod
    def from_doc(cls, workspace: Workspace, doc: dict[str, Any]) -> Datastore:
        self = object.__new__(cls)
        self.workspace = workspace
        self.name = str(doc["name"])
        self._doc = dict(doc)
        self._setup()
        return self

    # ================================================================== the backend contract (core.contracts), plus
    def _setup(self) -> None:
        """Prepare clients from ``self._doc`` (and secrets); must not do network I/O."""

    def _secret_values(self) -> List[str | None]:
        """Secrets this datastore holds, scrubbed from any message."""
        return []

    def _public_fields(self) -> dict[str, Any]:
        """Fields safe to show (no secrets)."""
        return {}

    @property
    def fs(self) -> Any:
        """An fsspec filesystem over this datastore (see :attr:`fs_root` for the datastore's root in it)."""
        raise NotImplementedError

    @property
    def fs_root(self) -> str:
        """The root of this datastore inside :attr:`fs`."""
        raise NotImplementedError

    # ================================================================== registry (v1 static API, over core's catalog)
    @staticmethod
    def _folder(workspace: Workspace) -> Path:
        return catalog.folder(workspace)

    @staticmethod
    def _build(workspace: Workspace, doc: dict[str, Any]) -> Datastore:
        store = catalog.build(workspace, doc)
        if not isinstance(store, Datastore):
            raise DatastoreException(
                f"Datastore kind {doc.get('datastore_type')!r} ({type(store).__name__}) does not subclass "
                "jupyter_amlrun.data.Datastore, which gives every kind the v1 API; fix the package that provides it."
            )
        return store

    @staticmethod
    def get(workspace: Workspace, datastore_name: str) -> Datastore:
        """The datastore registered as ``datastore_name``.

        Raises
        ------
        DatastoreException
            No datastore has that name (the message lists the registered ones).
        """
        return Datastore._build(workspace, catalog.read_doc(workspace, datastore_name))

    @staticmethod
    def list(workspace: Workspace) -> dict[str, Datastore]:
        """Every datastore of the workspace by name (the embedded ``workspaceblobstore`` included)."""
        return {k: v for k, v in workspace.datastores.items() if isinstance(v, Datastore)}

    @staticmethod
    def get_default(workspace: Workspace) -> Datastore:
        """The workspace's default datastore (``workspaceblobstore`` unless changed with :meth:`set_as_default`)."""
        store = workspace.get_default_datastore()
        return store if isinstance(store, Datastore) else Datastore.get(workspace, EMBEDDED_NAME)

    def set_as_default(self) -> None:
        """Make this the workspace's default datastore."""
        catalog.set_default(self.workspace, self.name)

    def unregister(self) -> None:
        """Remove this registration and its secrets (the data stays where it is)."""
        if self._doc.get("embedded"):
            raise DatastoreException(
                f"{EMBEDDED_NAME!r} is the workspace's embedded datastore and cannot be unregistered."
            )
        from jupyter_amlrun.data._secrets import SecretStore

        folder = Datastore._folder(self.workspace)
        with file_lock(folder / ".registry.lock"):
            (folder / self.name / DOC_NAME).unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                (folder / self.name).rmdir()
            SecretStore(self.workspace.path).delete(self.name)
            default = read_json(folder / DEFAULT_DOC) or {}
            if default.get("name") == self.name:
                (folder / DEFAULT_DOC).unlink(missing_ok=True)

    @staticmethod
    def _register(
        workspace: Workspace,
        doc: dict[str, Any],
        secrets: dict[str, str | None],
        overwrite: bool,
        validate: bool,
        create: bool = False,
    ) -> Datastore:
        from jupyter_amlrun.data._secrets import SecretStore

        name = check_datastore_name(doc["name"])
        if name == EMBEDDED_NAME:
            raise DatastoreException(
                f"{EMBEDDED_NAME!r} is the workspace's embedded datastore; register yours under another name."
            )
        folder = Datastore._folder(workspace)
        path = folder / name / DOC_NAME
        if path.exists() and not overwrite:
            raise DatastoreException(
                f"A datastore named {name!r} is already registered in workspace {workspace.name!r}. Pass "
                "overwrite=True to replace it, or choose another name."
            )
        # Build and validate with the secrets in memory first, so a failed registration leaves nothing behind.
        store = Datastore._build(workspace, doc)
        store._inject_secrets({k: v for k, v in secrets.items() if v})
        if validate or create:
            store.check_access(create=create)
        with file_lock(folder / ".registry.lock"):
            SecretStore(workspace.path).put(name, secrets)
            write_json_atomic(path, {**doc, "created": time.time()})
        return Datastore.get(workspace, name)

    def _inject_secrets(self, secrets: dict[str, str]) -> None:
        """Use ``secrets`` instead of the stored ones (registration validates before anything is written)."""

    @staticmethod
    def register_folder(
        workspace: Workspace,
        datastore_name: str,
        path: str | os.PathLike[str],
        overwrite: bool = False,
        create_if_not_exists: bool = False,
    ) -> Datastore:
        """Register a local (or network-mounted) folder as a datastore.

        Parameters
        ----------
        workspace:
            The workspace.
        datastore_name:
            Letters, digits and underscores.
        path:
            The folder; it must exist unless ``create_if_not_exists``.
        overwrite:
            Replace an existing registration of the same name.
        create_if_not_exists:
            Create the folder when it is missing.
        """
        folder = Path(path).expanduser().resolve()
        doc = {"name": datastore_name, "datastore_type": "Folder", "path": str(folder)}
        return Datastore._register(workspace, doc, {}, overwrite, validate=True, create=create_if_not_exists)

    @staticmethod
    def register_azure_blob_container(
        workspace: Workspace,
        datastore_name: str,
        container_name: str,
        account_name: str | None = None,
        sas_token: str | None = None,
        account_key: str | None = None,
        protocol: str | None = None,
        endpoint: str | None = None,
        overwrite: bool = False,
        create_if_not_exists: bool = False,
        skip_validation: bool = False,
        blob_cache_timeout: int | None = None,
        grant_workspace_access: bool = False,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        connection_string: str | None = None,
    ) -> Datastore:
        """Register an Azure Blob container (Azurite included) as a datastore.

        Parameters
        ----------
        workspace:
            The workspace.
        datastore_name:
            Letters, digits and underscores.
        container_name:
            The container (3-63 lowercase letters, digits and dashes).
        account_name:
            The storage account (``devstoreaccount1`` for Azurite).
        sas_token, account_key, connection_string:
            One credential (none for a public container). Kept in the 0600 workspace secrets file or overridden by
            ``AMLRUN_DATASTORE_<NAME>_<FIELD>`` environment variables; never in the registration document.
        protocol:
            ``https`` (default) or ``http``.
        endpoint:
            The storage suffix (default ``core.windows.net``) or a full account URL such as
            ``http://127.0.0.1:10000/devstoreaccount1`` (Azurite).
        overwrite:
            Replace an existing registration of the same name.
        create_if_not_exists:
            Create the container when it is missing.
        skip_validation:
            Do not contact the service while registering.
        blob_cache_timeout, grant_workspace_access, subscription_id, resource_group:
            Accepted for v1 compatibility; ignored.

        Returns
        -------
        AzureBlobDatastore
        """
        given = [
            k
            for k, v in (
                ("sas_token", sas_token),
                ("account_key", account_key),
                ("connection_string", connection_string),
            )
            if v
        ]
        if len(given) > 1:
            raise DatastoreException(
                f"Give one credential for datastore {datastore_name!r}, not {len(given)} ({', '.join(given)})."
            )
        from jupyter_amlrun.data._blob import check_container_name, parse_connection_string

        check_container_name(container_name)
        if connection_string and not account_name:
            account_name = parse_connection_string(connection_string).get("AccountName")
        if not account_name and not connection_string:
            raise DatastoreException("register_azure_blob_container needs account_name (or connection_string).")
        doc = {
            "name": datastore_name,
            "datastore_type": "AzureBlob",
            "container_name": container_name,
            "account_name": account_name,
            "protocol": protocol or "https",
            "endpoint": endpoint or "core.windows.net",
            "credential_type": given[0] if given else "anonymous",
        }
        secrets = {"sas_token": sas_token, "account_key": account_key, "connection_string": connection_string}
        return Datastore._register(
            workspace, doc, secrets, overwrite, validate=not skip_validation, create=create_if_not_exists
        )

    # ================================================================== transfers (written once, on the contract)
    def _raise_clean(self, exc: BaseException) -> None:
        """Re-raise a backend error as a datastore error with secrets scrubbed (no SDK stack)."""
        if isinstance(exc, DatastoreException):
            raise exc
        raise DatastoreException(f"Datastore {self.name!r}: {type(exc).__name__}: {exc}") from None

    def _run_parallel(
        self,
        jobs: Sequence[tuple[int, Callable[[], None]]],
        desc: str,
        show_progress: bool,
    ) -> None:
        """Run (size, job) pairs on a thread pool, the largest first; the first error stops the rest."""
        if not jobs:
            return
        ordered = sorted(jobs, key=lambda j: -j[0])
        total = sum(size for size, _ in ordered)
        lock = threading.Lock()
        with _progress(total, desc, show_progress) as bar:
            workers = min(transfer_workers(), len(ordered))
            if workers == 1:
                for size, job in ordered:
                    job()
                    if bar is not None:
                        bar.update(size)
                return
            with cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="amlrun-transfer") as pool:
                futures = {pool.submit(job): size for size, job in ordered}
                try:
                    for fut in cf.as_completed(futures):
                        fut.result()
                        if bar is not None:
                            with lock:
                                bar.update(futures[fut])
                except BaseException:
                    for f in futures:
                        f.cancel()
                    raise

    def _upload_pairs(self, pairs: List[tuple[Path, str]], target: str, overwrite: bool, show_progress: bool) -> int:
        _say(f"Uploading an estimated of {len(pairs)} files")
        todo = pairs
        if not overwrite and pairs:
            try:
                existing = {e.path for e in self.list_files(target)}
            except Exception as exc:
                self._raise_clean(exc)
            todo = [(src, dst) for src, dst in pairs if dst not in existing]
            skipped = [dst for _src, dst in pairs if dst in existing]
            for dst in skipped[:_SKIP_LIST_MAX]:
                _say(f"Target already exists. Skipping upload for {dst}")
            if len(skipped) > _SKIP_LIST_MAX:
                _say(
                    f"... and {len(skipped) - _SKIP_LIST_MAX} more targets already exist (pass overwrite=True "
                    "to replace them)."
                )

        def job(src: Path, dst: str) -> Callable[[], None]:
            def run() -> None:
                try:
                    self.put_file(src, dst)
                except Exception as exc:
                    self._raise_clean(exc)

            return run

        self._run_parallel([(src.stat().st_size, job(src, dst)) for src, dst in todo], "Uploading", show_progress)
        _say(f"Uploaded {len(todo)} files")
        return len(todo)

    def upload(
        self,
        src_dir: str | os.PathLike[str],
        target_path: str | None = None,
        overwrite: bool = False,
        show_progress: bool = True,
    ) -> DataReference:
        """Upload the files of ``src_dir`` (recursively) under ``target_path``.

        Parameters
        ----------
        src_dir:
            Local folder to upload.
        target_path:
            Folder in the datastore (default: the root).
        overwrite:
            Replace files that exist; otherwise they are skipped and each skip is reported.
        show_progress:
            Show a progress bar and v1's console messages.

        Returns
        -------
        DataReference
            A reference to ``target_path`` (use ``.as_mount()`` / ``.as_download()`` in run arguments).

        Notes
        -----
        Each file is written atomically, so an interrupted upload can simply be run again (``overwrite=False`` skips
        what already arrived).
        """
        src = Path(src_dir).expanduser()
        if not src.is_dir():
            raise DatastoreException(
                f"src_dir {os.fspath(src_dir)!r} is not a folder (resolved: {src.resolve()}). Pass an existing "
                "folder, or use upload_files() for single files."
            )
        target = normalize_path(target_path)
        pairs: List[tuple[Path, str]] = []
        for root, dirs, files in os.walk(src):
            dirs.sort()
            for fname in sorted(files):
                local = Path(root) / fname
                if not local.is_file() or PART_MARK in fname:
                    continue
                rel = local.relative_to(src).as_posix()
                pairs.append((local, posixpath.join(target, rel) if target else rel))
        self._upload_pairs(pairs, target, overwrite, show_progress)
        return self.path(target or None)

    def upload_files(
        self,
        files: Iterable[str | os.PathLike[str]],
        relative_root: str | os.PathLike[str] | None = None,
        target_path: str | None = None,
        overwrite: bool = False,
        show_progress: bool = True,
    ) -> DataReference:
        """Upload individual files; their paths relative to ``relative_root`` are kept under ``target_path``.

        Parameters
        ----------
        files:
            Local file paths.
        relative_root:
            The folder the kept paths are relative to (default: the files' common folder).
        target_path:
            Folder in the datastore (default: the root).
        overwrite:
            Replace files that exist; otherwise they are skipped and reported.
        show_progress:
            Show a progress bar and v1's console messages.
        """
        paths = [Path(f).expanduser().resolve() for f in files]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise DatastoreException(f"upload_files: these are not files: {missing[:10]}. Fix the paths.")
        if not paths:
            raise DatastoreException("upload_files needs at least one file.")
        if relative_root is None:
            root = Path(os.path.commonpath([str(p.parent) for p in paths]))
        else:
            root = Path(relative_root).expanduser().resolve()
        outside = [str(p) for p in paths if not p.is_relative_to(root)]
        if outside:
            raise DatastoreException(
                f"upload_files: {outside[:5]} are not under relative_root {str(root)!r}. Pass a relative_root that "
                "contains every file."
            )
        target = normalize_path(target_path)
        pairs = [
            (p, posixpath.join(target, p.relative_to(root).as_posix()) if target else p.relative_to(root).as_posix())
            for p in paths
        ]
        self._upload_pairs(pairs, target, overwrite, show_progress)
        return self.path(target or None)

    def _fetch_entries(
        self, entries: Sequence[tuple[FileEntry, Path]], show_progress: bool, desc: str = "Downloading"
    ) -> None:
        """Download each entry to its local path (temp file + rename, so a reader never sees a part)."""

        def job(entry: FileEntry, local: Path) -> Callable[[], None]:
            def run() -> None:
                local.parent.mkdir(parents=True, exist_ok=True)
                tmp = _temp_beside(local)
                try:
                    self.get_file(entry.path, tmp)
                    os.replace(tmp, local)
                except Exception as exc:
                    tmp.unlink(missing_ok=True)
                    self._raise_clean(exc)

            return run

        self._run_parallel([(e.size, job(e, p)) for e, p in entries], desc, show_progress)

    def download(
        self,
        target_path: str | os.PathLike[str],
        prefix: str | None = None,
        overwrite: bool = False,
        show_progress: bool = True,
    ) -> int:
        """Download the files under ``prefix`` to ``target_path``, keeping their datastore paths.

        Parameters
        ----------
        target_path:
            Local folder.
        prefix:
            Folder (or file) in the datastore; default: everything.
        overwrite:
            Replace local files that exist; otherwise they are skipped.
        show_progress:
            Show a progress bar.

        Returns
        -------
        int
            The number of files downloaded.
        """
        base = Path(target_path).expanduser()
        pre = normalize_path(prefix, what="prefix")
        try:
            entries = self.list_files(pre)
        except Exception as exc:
            self._raise_clean(exc)
        todo: List[tuple[FileEntry, Path]] = []
        skipped = 0
        for entry in entries:
            local = base / entry.path
            if local.exists() and not overwrite:
                skipped += 1
                continue
            todo.append((entry, local))
        self._fetch_entries(todo, show_progress)
        if show_progress:
            extra = f"; {skipped} existed already (pass overwrite=True to replace them)" if skipped else ""
            _say(f"Downloaded {len(todo)} files to {base}{extra}")
        return len(todo)

    # ================================================================== listing and references
    def ls(self, path: str | None = None) -> List[dict[str, Any]]:
        """One folder level, for browsing: ``[{"name", "path", "type": "directory"|"file", "size"}]``."""
        rel = normalize_path(path, what="path")
        try:
            dirs, files = self.list_dir(rel)
        except Exception as exc:
            self._raise_clean(exc)
        out: List[dict[str, Any]] = [
            {"name": d, "path": posixpath.join(rel, d) if rel else d, "type": "directory", "size": None}
            for d in sorted(dirs)
        ]
        out += [
            {"name": posixpath.basename(f.path), "path": f.path, "type": "file", "size": f.size}
            for f in sorted(files, key=lambda f: f.path)
        ]
        return out

    def path(self, path: str | None = None, data_reference_name: str | None = None) -> DataReference:
        """A :class:`DataReference` to ``path`` in this datastore (``.as_mount()``/``.as_download()`` in runs)."""
        from jupyter_amlrun.data.reference import DataReference

        return DataReference(self, data_reference_name=data_reference_name, path_on_datastore=path)

    def as_mount(self) -> DataReference:
        """The whole datastore, mounted on the target."""
        return self.path().as_mount()

    def as_download(self, path_on_compute: str | None = None) -> DataReference:
        """The whole datastore, downloaded on the target."""
        return self.path().as_download(path_on_compute=path_on_compute)

    def as_upload(self, path_on_compute: str | None = None) -> DataReference:
        raise DatastoreException(
            "as_upload is not supported: write to ./outputs in the script (uploaded as run artifacts), then "
            "datastore.upload(...) from the notebook."
        )

    # ================================================================== v1 kinds a local product does not have
    @staticmethod
    def register_azure_file_share(*args: Any, **kwargs: Any) -> Datastore:
        raise not_supported(
            "Datastore.register_azure_file_share",
            "Mount the share on this machine and use Datastore.register_folder(ws, name, '/path/to/mount'), or use "
            "a blob container: Datastore.register_azure_blob_container(...).",
        )

    @staticmethod
    def register_azure_data_lake(*args: Any, **kwargs: Any) -> Datastore:
        raise not_supported(
            "Datastore.register_azure_data_lake (Gen1)",
            "Use Datastore.register_azure_blob_container(...) for the storage account, or register_folder.",
        )

    @staticmethod
    def register_azure_data_lake_gen2(*args: Any, **kwargs: Any) -> Datastore:
        raise not_supported(
            "Datastore.register_azure_data_lake_gen2",
            "A Gen2 account also serves the blob API: use Datastore.register_azure_blob_container(...) with its "
            "account name and filesystem as container_name.",
        )

    @staticmethod
    def register_azure_sql_database(*args: Any, **kwargs: Any) -> Datastore:
        raise not_supported(
            "Datastore.register_azure_sql_database",
            "Export the table to files and register a folder or blob datastore.",
        )

    @staticmethod
    def register_azure_postgre_sql(*args: Any, **kwargs: Any) -> Datastore:
        raise not_supported(
            "Datastore.register_azure_postgre_sql", "Export the table to files and register a folder or blob datastore."
        )

    @staticmethod
    def register_azure_my_sql(*args: Any, **kwargs: Any) -> Datastore:
        raise not_supported(
            "Datastore.register_azure_my_sql", "Export the table to files and register a folder or blob datastore."
        )

    @staticmethod
    def register_dbfs(*args: Any, **kwargs: Any) -> Datastore:
        raise not_supported("Datastore.register_dbfs (Databricks)", "Register a folder or blob datastore instead.")

    @staticmethod
    def register_hdfs(*args: Any, **kwargs: Any) -> Datastore:
        raise not_supported("Datastore.register_hdfs", "Register a folder or blob datastore instead.")

    def describe(self) -> dict[str, Any]:
        """Public fields (secrets redacted): what the sidebar and REST API show."""
        return {"name": self.name, "datastore_type": self.datastore_type, **self._public_fields()}

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.describe().items())
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Datastore) and other.workspace == self.workspace and other.name == self.name

    def __hash__(self) -> int:
        return hash((self.workspace, self.name))


def _copy_local(src: Path, dst: Path) -> None:
    """Copy one file atomically (used by the folder backend and the content cache)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_beside(dst)
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


__all__ = [
    "Datastore",
    "DatastoreAuthenticationError",
    "DatastoreConnectionError",
    "DatastoreException",
    "FileEntry",
]
