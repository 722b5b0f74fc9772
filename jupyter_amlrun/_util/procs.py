"""Process control: ending a whole process tree, and telling whether a process still lives."""

from __future__ import annotations

import contextlib
import os
import signal
import time

import psutil


def process_alive(pid: int, started: float | None = None) -> bool:
    """Whether ``pid`` runs (not a zombie); with ``started`` (its create time) a reused pid reads as dead."""
    try:
        proc = psutil.Process(int(pid))
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return started is None or abs(proc.create_time() - float(started)) <= 1.0
    except psutil.NoSuchProcess:
        return False


def process_start_time(pid: int) -> float:
    """The create time of ``pid`` (what :func:`process_alive` compares to spot a reused pid)."""
    return float(psutil.Process(int(pid)).create_time())


def kill_tree(pgid: int | None, pids: list[int] | None = None, grace: float = 2.0) -> None:
    """End a process group and every descendant of ``pids``: SIGTERM, then SIGKILL after ``grace`` seconds."""
    procs: list[psutil.Process] = []
    for pid in pids or []:
        with contextlib.suppress(psutil.NoSuchProcess):
            p = psutil.Process(pid)
            procs.extend(p.children(recursive=True))
            procs.append(p)
    if pgid:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGTERM)
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.terminate()
    alive = _wait_dead(procs, grace)
    if pgid:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
    for p in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    _wait_dead(alive, grace)


def _wait_dead(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait until every process has exited; a zombie counts as exited (its parent, not us, must reap it)."""
    deadline = time.monotonic() + timeout
    while True:
        alive = []
        for p in procs:
            try:
                if p.status() != psutil.STATUS_ZOMBIE:
                    alive.append(p)
                else:
                    with contextlib.suppress(psutil.Error, ChildProcessError):
                        p.wait(timeout=0)  # reap it if it is ours
            except psutil.NoSuchProcess:
                pass
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.02)
