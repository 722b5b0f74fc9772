"""Starting the workspace's watchdog (its loop is :mod:`jupyter_amlrun.compute.watchdog`, which says what it does).

Kept below core so that every supervisor (driver, sweep controller) and a status read that finds a dead owner can
start it without knowing the backends the loop uses.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from jupyter_amlrun.runtime.runfolder import RUN_MARK_ENV, open_private_log

if TYPE_CHECKING:
    pass

__all__ = ["ensure_watchdog", "lock_path", "watchdog_running"]

MODULE = "jupyter_amlrun.compute.watchdog"  # the loop (it cancels through backends)
ENSURE_SECONDS = 10.0  # how often a supervisor checks that the watchdog lives (and starts one if not)

_last_start: dict[str, float] = {}
_start_lock = threading.Lock()


def lock_path(workspace_dir: Path) -> Path:
    """The file the live watchdog of ``workspace_dir`` holds locked."""
    return Path(workspace_dir) / "watchdog.lock"


def log_path(workspace_dir: Path) -> Path:
    return Path(workspace_dir) / "logs" / "watchdog.log"


def watchdog_running(workspace_dir: Path) -> bool:
    """Whether a watchdog holds the workspace's lock (never waits)."""
    path = lock_path(workspace_dir)
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def ensure_watchdog(workspace_dir: Path, *, min_interval: float = 0.0) -> bool:
    """Start the workspace's watchdog unless one runs; returns whether one was started.

    ``min_interval``: start at most once per that many seconds from this process (a watchdog that cannot start must
    not turn every heartbeat into a new process). Errors are swallowed: the watchdog is a safety net, never the
    reason a run fails.
    """
    ws = Path(workspace_dir)
    key = str(ws.resolve())
    try:
        if watchdog_running(ws):
            return False
        with _start_lock:
            now = time.monotonic()
            if min_interval and now - _last_start.get(key, -1e9) < min_interval:
                return False
            _last_start[key] = now
        with open_private_log(log_path(ws)) as out:
            subprocess.Popen(
                [sys.executable, "-m", MODULE, str(ws)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # what ends the starter (a driver's group, a kernel) does not end it
                close_fds=True,
                cwd=str(ws),
                # not one of any run's processes: a run's end must not sweep the watchdog away
                env={**{k: v for k, v in os.environ.items() if k != RUN_MARK_ENV}, "PYTHONUNBUFFERED": "1"},
            )
        return True
    except OSError:
        return False
