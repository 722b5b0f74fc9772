"""The folder backend: a local (or network-mounted) folder through fsspec's local filesystem."""

from __future__ import annotations

import os
import posixpath
from pathlib import Path
from typing import Any

import fsspec

from jupyter_amlrun.data.datastore import PART_MARK, Datastore, FileEntry, _copy_local
from jupyter_amlrun.data.errors import DatastoreException


class FolderDatastore(Datastore):
    """A datastore that is a folder on this machine; the embedded ``workspaceblobstore`` is one.

    Mounts use the folder in place (no copy). Writes are atomic (temp file + rename).

    The v1 blob attributes that tutorials print read honestly here: ``datastore_type`` is ``"Folder"``,
    ``account_name`` is ``"local"`` (no storage account: this machine), ``container_name`` is the folder's name
    and ``path`` the folder itself.
    """

    datastore_type = "Folder"

    def _setup(self) -> None:
        self.root = Path(self._doc["path"])
        if self._doc.get("embedded"):
            self.root.mkdir(parents=True, exist_ok=True)
        self._fs = fsspec.filesystem("file")

    # -- v1 attributes (printed by tutorials: print(ds.datastore_type, ds.account_name, ds.container_name))
    @property
    def account_name(self) -> str:
        """``"local"``: a folder datastore has no storage account."""
        return "local"

    @property
    def container_name(self) -> str:
        """The folder's name (the blob container's counterpart)."""
        return self.root.name

    @property
    def path_on_disk(self) -> str:
        """The folder on this machine."""
        return str(self.root)

    # -- helpers
    def _abs(self, path: str) -> Path:
        target = (self.root / path) if path else self.root
        # normalize_path already refused '..'; this also catches symlinks inside the folder pointing out of it.
        resolved = target.resolve()
        if not resolved.is_relative_to(self.root.resolve()):
            # the link only: where it points is this machine's business, not the caller's
            raise DatastoreException(
                f"Path {path!r} resolves outside datastore {self.name!r} (a symbolic link out of its folder); use a "
                "path inside it."
            )
        return target

    def _entry(self, path: str, st: os.stat_result) -> FileEntry:
        return FileEntry(path, st.st_size, f"{st.st_size}-{st.st_mtime_ns}")

    # -- contract
    def list_files(self, prefix: str) -> list[FileEntry]:
        base = self._abs(prefix)
        if base.is_file():
            return [self._entry(prefix, base.stat())]
        if not base.is_dir():
            return []
        out = []
        root = self.root.resolve()
        for info in self._fs.find(str(base), detail=True, withdirs=False).values():
            name = str(info["name"])
            if PART_MARK in os.path.basename(name):
                continue
            # Every read path (datasets, mounts in place, downloads) lists through here: a symlink out of the folder
            # would hand out a file the datastore does not hold.
            if not Path(name).resolve().is_relative_to(root):
                rel_bad = Path(os.path.relpath(name, self.root)).as_posix()
                raise DatastoreException(
                    f"{rel_bad!r} in datastore {self.name!r} is a symlink to {Path(name).resolve()}, outside the "
                    "datastore; it is refused. Copy the file into the datastore folder, or remove the link."
                )
            rel = Path(os.path.relpath(name, base)).as_posix()
            out.append(self._entry(posixpath.join(prefix, rel) if prefix else rel, Path(name).stat()))
        return out

    def stat(self, path: str) -> FileEntry | None:
        p = self._abs(path)
        return self._entry(path, p.stat()) if p.is_file() else None

    def list_dir(self, path: str) -> tuple[list[str], list[FileEntry]]:
        base = self._abs(path)
        if not base.is_dir():
            raise DatastoreException(f"{path!r} is not a folder of datastore {self.name!r}.")
        dirs, files = [], []
        root = self.root.resolve()
        for child in base.iterdir():
            if PART_MARK in child.name or not child.resolve().is_relative_to(root):
                continue  # browsing hides links out of the datastore (reading them is refused)
            rel = f"{path}/{child.name}" if path else child.name
            if child.is_dir():
                dirs.append(child.name)
            elif child.is_file():
                files.append(self._entry(rel, child.stat()))
        return dirs, files

    def put_file(self, local: Path, path: str) -> None:
        _copy_local(local, self._abs(path))

    def get_file(self, path: str, local: Path) -> None:
        src = self._abs(path)
        if not src.is_file():
            raise DatastoreException(f"No file {path!r} in datastore {self.name!r}.")
        self._fs.get_file(str(src), str(local))

    def remove(self, path: str) -> None:
        self._abs(path).unlink(missing_ok=True)

    def check_access(self, create: bool = False) -> None:
        if create:
            self.root.mkdir(parents=True, exist_ok=True)
        if not self.root.is_dir():
            raise DatastoreException(
                f"Folder {str(self.root)!r} of datastore {self.name!r} does not exist. Create it, or pass "
                "create_if_not_exists=True."
            )

    def local_root(self) -> Path | None:
        return self.root

    def _public_fields(self) -> dict[str, Any]:
        return {"path": str(self.root)}

    @property
    def fs(self) -> Any:
        return self._fs

    @property
    def fs_root(self) -> str:
        return str(self.root)
