"""The run folder: the live state of one run on this machine.

``<workspace>/runs/<run_id>/`` holds ``spec.json`` (what to run), ``state.json`` (status, pids, times, error: written
only by the run's owner, the driver), ``heartbeat`` (touched every couple of seconds by the owner), ``journal.jsonl``
(metrics), ``cancel`` (a cancel request), ``logs/`` and ``wd/`` (the materialised snapshot the script runs in).
MLflow mirrors the status; for a live local run this folder is the fresher source.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from pathlib import Path
from typing import Any

import psutil

from jupyter_amlrun.core._files import file_lock, read_json, write_json_atomic
from jupyter_amlrun.core.status import is_terminal

HEARTBEAT_SECONDS = 2.0
# A non-terminal run whose owner has not beaten for this long is dead (the owner beats every 2 s).
HEARTBEAT_STALE_SECONDS = 15.0

DRIVER_LOG = "logs/azureml/driver_log.txt"
USER_LOG = "logs/user_logs/std_log.txt"


def _now() -> float:
    return time.time()


class RunFolder:
    """Paths and state of one run's folder."""

    def __init__(self, workspace_dir: Path, run_id: str) -> None:
        self.run_id = run_id
        self.root = workspace_dir / "runs" / run_id

    # paths
    @property
    def spec_path(self) -> Path:
        return self.root / "spec.json"

    @property
    def state_path(self) -> Path:
        return self.root / "state.json"

    @property
    def heartbeat_path(self) -> Path:
        return self.root / "heartbeat"

    @property
    def journal_path(self) -> Path:
        return self.root / "journal.jsonl"

    @property
    def cancel_path(self) -> Path:
        return self.root / "cancel"

    @property
    def workdir(self) -> Path:
        return self.root / "wd"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def driver_log(self) -> Path:
        return self.root / DRIVER_LOG

    @property
    def user_log(self) -> Path:
        return self.root / USER_LOG

    def exists(self) -> bool:
        return self.state_path.exists()

    def log_files(self) -> dict[str, Path]:
        """The run's log files on this machine, by run file name (``logs/...``)."""
        return log_files_under(self.logs_dir)

    # state
    def read_state(self) -> dict[str, Any]:
        return read_json(self.state_path, default={}) or {}

    def write_state(self, state: dict[str, Any]) -> None:
        write_json_atomic(self.state_path, state)

    def update_state(self, **changes: Any) -> dict[str, Any]:
        with file_lock(self.root / "state.lock"):
            state = self.read_state()
            state.update(changes)
            self.write_state(state)
            return state

    def set_status(self, status: str, **extra: Any) -> dict[str, Any]:
        """Record a status transition (with its time) unless the run already ended or is already there."""
        with file_lock(self.root / "state.lock"):
            state = self.read_state()
            if is_terminal(state.get("status", "")) or (state.get("status") == status and not extra):
                return state
            now = _now()
            state["status"] = status
            state.setdefault("history", []).append([status, now])
            state.update(extra)
            if status == "Running" and "start_time" not in state:
                state["start_time"] = now
            if is_terminal(status):
                state["end_time"] = now
            self.write_state(state)
            return state

    def beat(self) -> None:
        self.heartbeat_path.touch()

    def claim(self, pid: int | None = None) -> None:
        """Make process ``pid`` (default: this one) the owner whose liveness the run depends on."""
        proc = psutil.Process(pid or os.getpid())
        self.update_state(owner_pid=proc.pid, owner_started=proc.create_time(), host=socket.gethostname())
        self.beat()

    def owner_alive(self, state: dict[str, Any] | None = None) -> bool:
        """Whether the run's owner still lives: by pid when on this host, else by heartbeat age."""
        state = state if state is not None else self.read_state()
        try:
            age = _now() - self.heartbeat_path.stat().st_mtime
        except FileNotFoundError:
            age = _now() - float(state.get("created", _now()))
        pid = state.get("owner_pid")
        if pid and state.get("host") == socket.gethostname():
            try:
                proc = psutil.Process(int(pid))
                if proc.status() == psutil.STATUS_ZOMBIE:
                    return False
                if abs(proc.create_time() - float(state.get("owner_started", 0))) > 1.0:
                    return False  # the pid was reused by another process
            except psutil.NoSuchProcess:
                return False
            # A live process that stopped beating is hung (or SIGSTOPped): still dead to us.
            return age < HEARTBEAT_STALE_SECONDS * 4
        return age < HEARTBEAT_STALE_SECONDS

    def request_cancel(self, reason: str = "") -> None:
        self.cancel_path.write_text(reason or "Canceled by user")

    def cancel_requested(self) -> str | None:
        try:
            return self.cancel_path.read_text() or "Canceled by user"
        except FileNotFoundError:
            return None


def log_files_under(logs_dir: Path) -> dict[str, Path]:
    """Files under a ``logs/`` folder, keyed by their run file name (``logs/<relative path>``), sorted."""
    if not logs_dir.is_dir():
        return {}
    return {"logs/" + p.relative_to(logs_dir).as_posix(): p for p in sorted(logs_dir.rglob("*")) if p.is_file()}


def kill_tree(pgid: int | None, pids: list[int] | None = None, grace: float = 2.0) -> None:
    """End a process group and every descendant of ``pids``: SIGTERM, then SIGKILL after ``grace`` seconds."""
    import signal

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
