"""An out-of-tree datastore kind, as another distribution would ship it.

Its files live in a dict per workspace and name, in one process.

tests/core/test_registry.py puts this folder (with its .dist-info) on sys.path in a subprocess, so the kind is found
only through the ``jupyter_amlrun.datastore_backends`` entry point.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jupyter_amlrun.core.contracts import FileEntry
from jupyter_amlrun.data import Datastore, DatastoreException

_FILES: dict[str, dict[str, bytes]] = {}


class MemoryDatastore(Datastore):
    datastore_type = "Memory"

    def _setup(self) -> None:
        self.files = _FILES.setdefault(f"{self.workspace.path}:{self.name}", {})

    def _entry(self, path: str) -> FileEntry:
        data = self.files[path]
        return FileEntry(path, len(data), f"{len(data)}-{hash(data)}")

    def list_files(self, prefix: str) -> list[FileEntry]:
        if prefix in self.files:
            return [self._entry(prefix)]
        base = prefix.rstrip("/") + "/" if prefix else ""
        return [self._entry(p) for p in sorted(self.files) if p.startswith(base)]

    def stat(self, path: str) -> FileEntry | None:
        return self._entry(path) if path in self.files else None

    def list_dir(self, path: str) -> tuple[list[str], list[FileEntry]]:
        base = path.rstrip("/") + "/" if path else ""
        dirs: set[str] = set()
        files = []
        for p in sorted(self.files):
            if not p.startswith(base):
                continue
            head, sep, _ = p[len(base) :].partition("/")
            if sep:
                dirs.add(head)
            else:
                files.append(self._entry(p))
        if not dirs and not files and path:
            raise DatastoreException(f"{path!r} is not a folder of datastore {self.name!r}.")
        return sorted(dirs), files

    def put_file(self, local: Path, path: str) -> None:
        self.files[path] = local.read_bytes()

    def get_file(self, path: str, local: Path) -> None:
        if path not in self.files:
            raise DatastoreException(f"No file {path!r} in datastore {self.name!r}.")
        local.write_bytes(self.files[path])

    def remove(self, path: str) -> None:
        self.files.pop(path, None)

    def check_access(self, create: bool = False) -> None:
        pass

    def _public_fields(self) -> dict[str, Any]:
        return {"files": len(self.files)}
