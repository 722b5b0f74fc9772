"""Process control: ending a whole process tree (and every process marked as a run's), and telling whether a process
still lives."""

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


def process_stopped(pid: int) -> bool:
    """Whether ``pid`` is stopped (SIGSTOP, SIGTSTP) rather than running or sleeping."""
    try:
        return psutil.Process(int(pid)).status() == psutil.STATUS_STOPPED
    except psutil.Error:
        return False


def process_start_time(pid: int) -> float:
    """The create time of ``pid`` (what :func:`process_alive` compares to spot a reused pid)."""
    return float(psutil.Process(int(pid)).create_time())


def marked_processes(var: str, value: str) -> list[psutil.Process]:
    """Every process of this user (but this one) whose environment has ``var=value``.

    A run's processes carry its mark (``AMLRUN_RUN_ID``) in their environment, which they inherit even when they leave
    the process group or session (``setsid``, double fork); a sweep of /proc finds them all.
    """
    me = os.getpid()
    found = []
    for proc in psutil.process_iter():
        if proc.pid == me:
            continue
        with contextlib.suppress(psutil.Error, OSError):
            if proc.environ().get(var) == value and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
    return found


def kill_tree(
    pgid: int | None, pids: list[int] | None = None, grace: float = 2.0, mark: tuple[str, str] | None = None
) -> None:
    """End a process group, every descendant of ``pids`` and every process marked ``mark`` (an environment variable
    and its value): SIGTERM, then SIGKILL after ``grace`` seconds. Returns once they are gone (or after 2 x grace)."""
    procs: list[psutil.Process] = []
    if mark is not None:
        procs.extend(marked_processes(*mark))
    for pid in pids or []:
        with contextlib.suppress(psutil.NoSuchProcess):
            p = psutil.Process(pid)
            procs.extend(p.children(recursive=True))
            procs.append(p)
    # Each process gets one SIGTERM: a script's handler must run once (a process found twice, or one that is in
    # the group the killpg reached, is not sent another).
    unique = list({p.pid: p for p in procs}.values())
    procs = unique
    if pgid:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGTERM)
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess, ProcessLookupError, PermissionError):
            if pgid and os.getpgid(p.pid) == pgid:
                continue
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
