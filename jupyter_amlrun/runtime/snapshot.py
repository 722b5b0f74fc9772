"""Content-addressed snapshots of a run's source directory.

Each file is stored once under ``<workspace>/snapshots/objects/<sha256>``; a snapshot is a manifest (path -> sha256,
size, mode) whose id is the sha256 of the manifest. Re-submitting an unchanged folder stores 0 new bytes. A stat cache
(size, mtime, inode -> sha256) spares re-reading unchanged files.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_amlrun._util.fileio import file_lock, read_json, write_json_atomic
from jupyter_amlrun.runtime.errors import SnapshotException

if TYPE_CHECKING:
    import pathspec

SNAPSHOT_MAX_FILES = 2000
SNAPSHOT_MAX_SIZE_BYTES = 300 * 1024 * 1024
# Never user content, and a .git folder alone can blow the file limit.
ALWAYS_EXCLUDED = frozenset({".git", ".ipynb_checkpoints", "__pycache__"})
_BANNER = "=" * 68


@dataclass
class Snapshot:
    """The result of taking a snapshot."""

    id: str
    files: dict[str, dict[str, Any]]
    bytes_added: int
    files_added: int

    @property
    def total_bytes(self) -> int:
        return sum(int(f["size"]) for f in self.files.values())


def load_ignore(source_dir: Path) -> pathspec.GitIgnoreSpec | None:
    """``.amlignore`` if present, else ``.gitignore``; None when neither exists (nothing excluded, like v1)."""
    for name in (".amlignore", ".gitignore"):
        path = source_dir / name
        if path.is_file():
            import pathspec  # only where an ignore file exists: a run's driver restores snapshots without it

            return pathspec.GitIgnoreSpec.from_lines(path.read_text(encoding="utf-8").splitlines())
    return None


def list_files(source_dir: Path) -> list[tuple[str, os.stat_result]]:
    """Every included file under ``source_dir`` as (posix relative path, stat)."""
    spec = load_ignore(source_dir)
    out: list[tuple[str, os.stat_result]] = []
    for root, dirs, files in os.walk(source_dir):
        rel_root = os.path.relpath(root, source_dir)
        rel_root = "" if rel_root == "." else rel_root.replace(os.sep, "/") + "/"
        keep = []
        for d in sorted(dirs):
            if d in ALWAYS_EXCLUDED or (spec is not None and spec.match_file(rel_root + d + "/")):
                continue  # excluded folders are not descended into
            keep.append(d)
        dirs[:] = keep
        for f in sorted(files):
            rel = rel_root + f
            if spec is not None and spec.match_file(rel):
                continue
            full = os.path.join(root, f)
            try:
                st = os.stat(full)
            except OSError:
                print(f"Cannot access file, so excluded from snapshot: {full}")
                continue
            if stat.S_ISREG(st.st_mode):
                out.append((rel, st))
    return out


def _limit_message(source_dir: Path, headline: str, files: list[tuple[str, os.stat_result]]) -> str:
    biggest = sorted(files, key=lambda f: f[1].st_size, reverse=True)[:5]
    lines = "\n".join(f"    {rel}  ({st.st_size / 1024 / 1024:.1f} MB)" for rel, st in biggest)
    folders: dict[str, int] = {}
    for rel, _ in files:
        top = rel.split("/", 1)[0] if "/" in rel else "."
        folders[top] = folders.get(top, 0) + 1
    crowded = sorted(folders.items(), key=lambda kv: kv[1], reverse=True)[:3]
    crowd = "\n".join(f"    {name}/  ({n} files)" for name, n in crowded)
    return (
        f"\n{_BANNER}\n\nWhile attempting to take snapshot of {source_dir}\n{headline}\n"
        f"Biggest files:\n{lines}\nFolders with most files:\n{crowd}\n"
        f"Exclude files or folders by listing them in {source_dir / '.amlignore'} (gitignore syntax, e.g. 'data/' or "
        "'*.ckpt'); keep data in a datastore and pass it as a dataset input instead.\n"
        f"\n{_BANNER}\n"
    )


def _hash_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class SnapshotStore:
    """The content-addressed object store and manifests of one workspace."""

    def __init__(self, workspace_dir: Path) -> None:
        self.root = workspace_dir / "snapshots"

    def object_path(self, sha: str) -> Path:
        return self.root / "objects" / sha[:2] / sha

    def manifest_path(self, snapshot_id: str) -> Path:
        return self.root / "manifests" / f"{snapshot_id}.json"

    def take(self, source_dir: str | os.PathLike[str]) -> Snapshot:
        """Snapshot ``source_dir``; raises :class:`SnapshotException` over the v1 limits."""
        src = Path(source_dir).resolve()
        if not src.is_dir():
            raise SnapshotException(f"source_directory {src} does not exist or is not a folder.")
        files = list_files(src)
        total = sum(st.st_size for _, st in files)
        if total > SNAPSHOT_MAX_SIZE_BYTES:
            raise SnapshotException(
                _limit_message(
                    src,
                    f"Your total snapshot size ({total / 1024 / 1024:.1f} MB) exceeds the limit of "
                    f"{SNAPSHOT_MAX_SIZE_BYTES / 1024 / 1024} MB.",
                    files,
                )
            )
        if len(files) > SNAPSHOT_MAX_FILES and not os.environ.get("AML_SNAPSHOT_NO_FILE_LIMIT"):
            raise SnapshotException(
                _limit_message(
                    src,
                    f"Your project ({len(files)} files) exceeds the file limit of {SNAPSHOT_MAX_FILES}.",
                    files,
                )
            )
        cache_file = self.root / "statcache" / (hashlib.sha256(str(src).encode()).hexdigest()[:24] + ".json")
        cache: dict[str, list[Any]] = read_json(cache_file, default={}) or {}
        new_cache: dict[str, list[Any]] = {}
        manifest: dict[str, dict[str, Any]] = {}
        bytes_added = files_added = 0
        for rel, st in files:
            key = [st.st_size, st.st_mtime_ns, st.st_ino]
            cached = cache.get(rel)
            sha = cached[3] if cached and cached[:3] == key else _hash_file(src / rel)
            new_cache[rel] = [*key, sha]
            obj = self.object_path(sha)
            if not obj.exists():
                obj.parent.mkdir(parents=True, exist_ok=True)
                tmp = obj.with_name(f".{sha}.{os.getpid()}.tmp")
                shutil.copyfile(src / rel, tmp)
                if _hash_file(tmp) != sha:  # the file changed while we copied it: take what we copied
                    sha = _hash_file(tmp)
                    obj = self.object_path(sha)
                    obj.parent.mkdir(parents=True, exist_ok=True)
                    new_cache.pop(rel)
                os.replace(tmp, obj)
                bytes_added += st.st_size
                files_added += 1
            manifest[rel] = {"sha256": sha, "size": st.st_size, "mode": stat.S_IMODE(st.st_mode)}
        body = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
        snapshot_id = hashlib.sha256(body).hexdigest()
        mpath = self.manifest_path(snapshot_id)
        if not mpath.exists():
            write_json_atomic(mpath, {"source_directory": str(src), "files": manifest})
        if new_cache != cache:
            with file_lock(cache_file.with_suffix(".lock")):
                write_json_atomic(cache_file, new_cache)
        return Snapshot(snapshot_id, manifest, bytes_added, files_added)

    def files(self, snapshot_id: str) -> dict[str, dict[str, Any]]:
        doc = read_json(self.manifest_path(snapshot_id))
        if doc is None:
            raise SnapshotException(f"Snapshot {snapshot_id} does not exist in this workspace.")
        return dict(doc["files"])

    def restore(self, snapshot_id: str, target: Path) -> int:
        """Write the snapshot's files under ``target`` (copies, so the script cannot alter the store)."""
        target.mkdir(parents=True, exist_ok=True)
        count = 0
        for rel, meta in self.files(snapshot_id).items():
            dst = target / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.object_path(meta["sha256"]), dst)
            os.chmod(dst, int(meta.get("mode", 0o644)) | 0o600)
            count += 1
        return count
