"""Saying, once, what a store call waits for when another process holds the sqlite tracking store's lock.

MLflow's sqlite store waits out a lock itself (``PRAGMA busy_timeout`` of 20 s per statement) and
:func:`jupyter_amlrun.tracking.store._retry` tries again a few times, so a submit during another writer's long
transaction blocks for up to two minutes. Without a word that looks like a hang, and MLflow's own logger used to
print a traceback per attempt into the notebook. :class:`LockNotice` is started around each store call: if the call
is still running after :data:`NOTICE_AFTER_SECONDS` and another process holds a write lock on a store of this process,
it says so once on stderr, naming that process and how long the call waits at most.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import psutil

NOTICE_AFTER_SECONDS = 2.0  # a store call this slow may be waiting for a lock: look
SQLITE_BUSY_SECONDS = 20.0  # MLflow's ``PRAGMA busy_timeout`` on each sqlite connection

_said: set[str] = set()  # stores whose lock was said and not yet seen free again
_said_lock = threading.Lock()


def max_wait_seconds(attempts: int, first_delay: float) -> float:
    """The longest a call retried ``attempts`` times (backoff from ``first_delay``, doubling) waits for a lock."""
    return attempts * SQLITE_BUSY_SECONDS + first_delay * (2 ** max(attempts - 1, 0) - 1)


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` tracking URI, else None."""
    return Path(uri[len("sqlite:///") :]) if uri.startswith("sqlite:///") else None


def lock_holders(db: Path) -> list[int]:
    """The other processes that hold a write lock on ``db`` (sqlite's fcntl locks, read from ``/proc/locks``).

    Empty where ``/proc/locks`` is not there (not Linux) and when only this process writes (a long write of its own
    is not a lock to wait for).
    """
    try:
        st = os.stat(db)
        with open("/proc/locks", encoding="ascii", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return []
    where = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    pids: list[int] = []
    for line in lines:
        fields = line.split()
        # "16: POSIX  ADVISORY  WRITE 22060 fe:00:2695791 1073741824 1073742335"
        if len(fields) >= 6 and fields[3] == "WRITE" and fields[5] == where and fields[4].isdigit():
            pid = int(fields[4])
            if pid != os.getpid() and pid not in pids:
                pids.append(pid)
    return pids


def describe(pid: int) -> str:
    """``pid N (command line)`` for a message."""
    try:
        cmd = " ".join(" ".join(psutil.Process(pid).cmdline()).split())
    except psutil.Error:
        return f"pid {pid}"
    return f"pid {pid} ({cmd[:100]})" if cmd else f"pid {pid}"


class LockNotice:
    """One store call under watch (see the module docstring); :meth:`done` when the call returns or fails.

    One watcher thread serves every call of the process (a thread per call would cost more than most store calls).
    """

    def __init__(self, uris: Callable[[], Iterable[str]], wait_seconds: float) -> None:
        self._uris = uris
        self._wait = wait_seconds
        self._started = time.monotonic()
        with _calls_lock:
            _calls[id(self)] = self
            if not _watcher:
                thread = threading.Thread(target=_watch, name="amlrun-store-lock-notice", daemon=True)
                _watcher.append(thread)
                thread.start()

    def look(self) -> None:
        for uri in set(self._uris()):
            db = sqlite_path(uri)
            pids = lock_holders(db) if db is not None else []
            if not pids:
                continue
            with _said_lock:
                if uri in _said:
                    continue
                _said.add(uri)
            print(
                f"The tracking store {db} is locked by {'; '.join(describe(p) for p in pids)}; waiting up to "
                f"{self._wait:.0f} s for it to be free (the call goes on by itself once it is).",
                file=sys.stderr,
                flush=True,
            )

    def done(self) -> None:
        with _calls_lock:
            _calls.pop(id(self), None)
        if _said:
            with _said_lock:  # said again at the next lock only once the store was seen free
                for uri in list(_said):
                    db = sqlite_path(uri)
                    if db is None or not lock_holders(db):
                        _said.discard(uri)


_calls: dict[int, LockNotice] = {}
_calls_lock = threading.Lock()
_watcher: list[threading.Thread] = []


def _watch() -> None:
    """Look at the calls that have run for :data:`NOTICE_AFTER_SECONDS` (each once)."""
    looked: set[int] = set()
    while True:
        time.sleep(NOTICE_AFTER_SECONDS / 4)
        now = time.monotonic()
        with _calls_lock:
            slow = [c for key, c in _calls.items() if key not in looked and now - c._started >= NOTICE_AFTER_SECONDS]
            looked &= set(_calls)
        for call in slow:
            looked.add(id(call))
            with contextlib.suppress(Exception):  # a notice must never be what breaks a store call
                call.look()
