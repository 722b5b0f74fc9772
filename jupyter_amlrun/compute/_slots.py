"""A pool of node slots shared by every process on this machine through flock'd files.

A slot is held by keeping its lock file open; the kernel frees it when the holder exits, however it exits.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path


class SlotPool:
    """``size`` slots under ``folder`` (``slot-<i>.lock``)."""

    def __init__(self, folder: Path, size: int) -> None:
        self.folder = folder
        self.size = size

    def _path(self, i: int) -> Path:
        return self.folder / f"slot-{i}.lock"

    def try_acquire(self, count: int) -> list[int] | None:
        """Take ``count`` free slots at once (all or none); returns the open fds to keep, or None."""
        held = self.try_acquire_slots(count)
        return None if held is None else list(held.values())

    def try_acquire_slots(self, count: int) -> dict[int, int] | None:
        """Like :meth:`try_acquire`, returning {slot index: open fd} (lowest index first)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        held: dict[int, int] = {}
        for i in range(self.size):
            fd = os.open(self._path(i), os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
            held[i] = fd
            if len(held) == count:
                return held
        self.release(list(held.values()))
        return None

    @staticmethod
    def release(fds: list[int]) -> None:
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)

    def busy(self) -> int:
        """How many slots are held right now."""
        busy = 0
        for i in range(self.size):
            path = self._path(i)
            if not path.exists():
                continue
            fd = os.open(path, os.O_RDWR)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                busy += 1
            finally:
                os.close(fd)
        return busy
