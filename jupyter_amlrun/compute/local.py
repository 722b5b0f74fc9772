"""The local backend: each run gets a detached driver process on this machine; named pools limit concurrency."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

from jupyter_amlrun.compute._slots import SlotPool
from jupyter_amlrun.compute.base import ComputeBackend
from jupyter_amlrun.core._files import read_json
from jupyter_amlrun.core._lifecycle import live_status, request_cancel
from jupyter_amlrun.core._runstate import RunFolder
from jupyter_amlrun.core.errors import ComputeTargetException

if TYPE_CHECKING:
    from jupyter_amlrun.core.runconfig import RunConfiguration
    from jupyter_amlrun.core.workspace import Workspace

# Drivers we started; polled so that finished ones do not linger as zombies of the kernel.
_children: list[subprocess.Popen[bytes]] = []
_children_lock = threading.Lock()


def _reap() -> None:
    with _children_lock:
        _children[:] = [p for p in _children if p.poll() is None]


class LocalBackend(ComputeBackend):
    """Runs on this machine. ``local`` is unlimited; an AmlCompute pool runs at most ``max_nodes`` nodes at once."""

    kind = "local"

    def __init__(self, workspace: Workspace, name: str, config: dict[str, Any]) -> None:
        super().__init__(workspace, name, config)
        self.folder = workspace.path / "compute" / name
        size = config.get("max_nodes")
        self.pool = SlotPool(self.folder / "slots", int(size)) if size else None

    # ------------------------------------------------------------------ contract
    def validate(self, run_config: RunConfiguration) -> None:
        size = self.config.get("max_nodes")
        if size and run_config.node_count > int(size):
            raise ComputeTargetException(
                f"The run needs {run_config.node_count} nodes but compute target {self.name!r} has max_nodes={size}. "
                f"Lower node_count or update the target: ComputeTarget(ws, {self.name!r}).update(max_nodes=...)."
            )

    def launch(self, rf: RunFolder) -> dict[str, Any]:
        _reap()
        rf.driver_log.parent.mkdir(parents=True, exist_ok=True)
        with open(rf.driver_log, "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "jupyter_amlrun.compute.driver", str(self.workspace.path), rf.run_id],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own session: a kernel or server restart does not kill it
                close_fds=True,
                cwd=str(rf.root),
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        with _children_lock:
            _children.append(proc)
        # The launcher owns the run until the driver claims it, so a driver that dies at start-up is noticed.
        rf.claim(proc.pid)
        rf.update_state(driver=True)
        return {"pid": proc.pid, "target": self.name}

    def status(self, rf: RunFolder) -> str:
        _reap()
        return live_status(self.workspace.store, rf)

    def log_sources(self, rf: RunFolder) -> dict[str, Path]:
        return rf.log_files()

    def cancel(self, rf: RunFolder) -> None:
        request_cancel(self.workspace.store, rf)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": "local" if self.name == "local" else "AmlCompute",
            "max_nodes": self.config.get("max_nodes"),
            "busy_nodes": self.pool.busy() if self.pool else None,
            "queued_runs": self.queued_count(),
        }

    # ------------------------------------------------------------------ queue bookkeeping (used by the driver)
    @property
    def queue_dir(self) -> Path:
        return self.folder / "queue"

    def queued_count(self) -> int:
        return len(self._live_markers(self.queue_dir))

    def active_run_ids(self) -> list[str]:
        return sorted(self._live_markers(self.folder / "active"))

    @staticmethod
    def _live_markers(folder: Path) -> list[str]:
        if not folder.is_dir():
            return []
        live = []
        for marker in folder.iterdir():
            doc = read_json(marker, default={}) or {}
            if doc.get("pid") and psutil.pid_exists(int(doc["pid"])):
                live.append(marker.name)
            else:
                marker.unlink(missing_ok=True)
        return live
