"""The detached process that owns one run folder (a run's driver, a sweep's controller): started, and its duties.

Both kinds are started the same way (:func:`start_supervisor`: own session, output to the run's driver log, the
run mark of a run this process belongs to left out) and take their run over the same way
(:meth:`Supervisor.take_over`: claim the folder, beat its heartbeat until the final status is written, SIGTERM asks
for a cancel, SIGUSR1 wakes the main loop).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from jupyter_amlrun.runtime.runfolder import HEARTBEAT_SECONDS, RUN_MARK_ENV, RunFolder, open_private_log
from jupyter_amlrun.runtime.watchdog import ENSURE_SECONDS, ensure_watchdog
from jupyter_amlrun.tracking.journal import ship_journal

__all__ = ["Owner", "Supervisor", "owner", "reap", "start_supervisor", "supervisor_env"]

# Supervisors this process started; polled so that finished ones do not linger as zombies of the kernel.
_children: list[subprocess.Popen[bytes]] = []
_children_lock = threading.Lock()


def reap() -> None:
    """Collect the exit status of the supervisors this process started that have ended."""
    with _children_lock:
        _children[:] = [p for p in _children if p.poll() is None]


def supervisor_env() -> dict[str, str]:
    """A supervisor's environment: this one, less the mark of a run this process may itself belong to (a run
    submitted from inside a script is not one of that script's processes, and must survive its end)."""
    env = {k: v for k, v in os.environ.items() if k != RUN_MARK_ENV}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_supervisor(module: str, workspace_dir: Path, rf: RunFolder) -> subprocess.Popen[bytes]:
    """Start ``python -m <module> <workspace_dir> <run id>`` detached, its output appended to the run's driver log."""
    reap()
    ensure_watchdog(workspace_dir, min_interval=2.0)  # up before the supervisor: one dying at start-up is found too
    with open_private_log(rf.driver_log) as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", module, str(workspace_dir), rf.run_id],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own session: a kernel or server restart does not end the run
            close_fds=True,
            cwd=str(rf.root),
            env=supervisor_env(),
        )
    with _children_lock:
        _children.append(proc)
    return proc


class Supervisor:
    """The base of a process that owns one run folder until the run's final status is written.

    Parameters
    ----------
    workspace_dir:
        The workspace folder.
    run_id:
        The run this process supervises.
    """

    role = "supervising process"  # named in the cancel reason SIGTERM leaves

    def __init__(self, workspace_dir: Path, run_id: str) -> None:
        self.ws_dir = Path(workspace_dir)
        self.rf = RunFolder(self.ws_dir, run_id)
        self.wake = threading.Event()
        self.stop_beat = threading.Event()  # set only once the final status is written

    def take_over(self) -> None:
        """Claim the run folder, install the signal handlers and start the heartbeat (from the main thread)."""
        self.rf.claim()
        self.rf.update_state(driver=True, driver_host=socket.gethostname())
        signal.signal(signal.SIGUSR1, lambda *_: self.wake.set())
        signal.signal(signal.SIGTERM, self._on_sigterm)
        ensure_watchdog(self.ws_dir, min_interval=ENSURE_SECONDS)
        threading.Thread(target=self._heartbeat, name="heartbeat", daemon=True).start()

    def _heartbeat(self) -> None:
        beats = 0
        while not self.stop_beat.wait(HEARTBEAT_SECONDS):
            with contextlib.suppress(OSError):
                self.rf.beat()
            beats += 1
            if beats * HEARTBEAT_SECONDS >= ENSURE_SECONDS:
                # The watchdog exits when idle and may be killed: while this run lives, one must run.
                beats = 0
                ensure_watchdog(self.ws_dir, min_interval=ENSURE_SECONDS)

    def _on_sigterm(self, *_: Any) -> None:
        self.rf.request_cancel(f"The {self.role} received SIGTERM")
        self.wake.set()


class Owner:
    """Beats the heartbeat and ships the journal of runs this process owns (interactive and child runs).

    It holds the runs' folders and stores, not their Run objects: a run stays owned, beaten and shipped, after its
    handle is garbage-collected (``for run in exp.get_runs():`` rebinding ``run``), until complete()/fail() or the
    end of this process. Liveness follows the process, not the Python object.
    """

    def __init__(self) -> None:
        self.runs: dict[str, tuple[RunFolder, Any]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, run_id: str, folder: RunFolder, store: Any) -> None:
        with self._lock:
            self.runs[run_id] = (folder, store)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="amlrun-owner", daemon=True)
                self._thread.start()

    def discard(self, run_id: str) -> None:
        with self._lock:
            self.runs.pop(run_id, None)

    def _owned(self) -> list[tuple[str, RunFolder, Any]]:
        with self._lock:
            return [(run_id, folder, store) for run_id, (folder, store) in self.runs.items()]

    def _loop(self) -> None:
        while True:
            time.sleep(HEARTBEAT_SECONDS / 2)
            for run_id, folder, store in self._owned():
                with contextlib.suppress(Exception):
                    folder.beat()
                    ship_journal(store, run_id, folder.root)

    def flush_all(self) -> None:
        for run_id, folder, store in self._owned():
            with contextlib.suppress(Exception):
                ship_journal(store, run_id, folder.root)


owner = Owner()
atexit.register(owner.flush_all)
