"""Small, crash-safe file helpers: atomic JSON documents and advisory locks."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def write_json_atomic(path: str | os.PathLike[str], data: Any, *, mode: int | None = None) -> None:
    """Write ``data`` as JSON to ``path`` via a temp file and rename, so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # a workspace's files are its owner's only
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, sort_keys=True, default=str)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def read_json(path: str | os.PathLike[str], default: Any = None) -> Any:
    """Read a JSON document, returning ``default`` when it does not exist."""
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        return default


@contextlib.contextmanager
def file_lock(path: str | os.PathLike[str], *, shared: bool = False) -> Iterator[None]:
    """Hold an ``flock`` on ``path`` (created if needed) for the duration of the block.

    flock locks die with their process, so a crashed holder never wedges the others.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


@contextlib.contextmanager
def try_file_lock(path: str | os.PathLike[str]) -> Iterator[bool]:
    """Like :func:`file_lock` (exclusive) but never waits: yields whether the lock was taken."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
        else:
            yield True
    finally:
        os.close(fd)


def copy_to_named_file(src: Path, name: str) -> tuple[Path, Path]:
    """Copy ``src`` into a temp folder under ``name`` (MLflow names artifacts after the local file)."""
    tmp = Path(tempfile.mkdtemp(prefix="amlrun-upload-"))
    dst = tmp / name
    shutil.copyfile(src, dst)
    return tmp, dst


def whole_chars(data: bytes) -> bytes:
    """``data`` without a UTF-8 character cut at its end (the next read starts at that character)."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:
            return data  # ASCII: nothing cut
        if byte >= 0xC0:  # a lead byte: is its sequence whole?
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return data if back >= need else data[:-back]
    return data


def read_range(path: Path, start: int, max_bytes: int | None) -> tuple[bytes, int, int] | None:
    """``(data, start, size)``: bytes of ``path`` from ``start`` (clamped to the file), at most ``max_bytes``; then
    cut after the last whole UTF-8 character (the caller goes on from ``start + len(data)``). ``None``: no file."""
    try:
        with open(path, "rb") as fh:
            size = fh.seek(0, 2)
            begin = min(max(0, start), size)
            fh.seek(begin)
            data = fh.read() if max_bytes is None else fh.read(max_bytes)
    except FileNotFoundError:
        return None
    return (whole_chars(data) if max_bytes is not None else data), begin, size
