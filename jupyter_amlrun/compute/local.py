"""The local backend: each run gets a detached driver process on this machine; named pools limit concurrency."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_amlrun._util.fileio import file_lock, read_json, write_json_atomic
from jupyter_amlrun._util.procs import process_alive
from jupyter_amlrun.compute._gpus import pool_gpus, slot_env
from jupyter_amlrun.compute._slots import SlotPool
from jupyter_amlrun.core.contracts import ComputeBackend, LaunchHandle, NodeReservation, Unlimited
from jupyter_amlrun.runtime.errors import ComputeTargetException
from jupyter_amlrun.runtime.lifecycle import live_status, request_cancel
from jupyter_amlrun.runtime.runfolder import RunFolder, private_dirs
from jupyter_amlrun.runtime.supervisor import reap, start_supervisor

if TYPE_CHECKING:
    from jupyter_amlrun.core.runconfig import RunConfiguration
    from jupyter_amlrun.core.workspace import Workspace

DRIVER_MODULE = "jupyter_amlrun.compute.driver"


class LocalBackend(ComputeBackend):
    """Runs on this machine. ``local`` is unlimited; an AmlCompute pool runs at most ``max_nodes`` nodes at once."""

    kind = "local"
    target_class = "jupyter_amlrun.core.computetarget:AmlCompute"  # a named target of this backend is a pool

    def __init__(self, workspace: Workspace, name: str, config: dict[str, Any]) -> None:
        super().__init__(workspace, name, config)
        self.folder = workspace.path / "compute" / name
        size = config.get("max_nodes")
        self.pool = SlotPool(self.folder / "slots", int(size)) if size else None

    def validate(self, run_config: RunConfiguration) -> None:
        size = self.config.get("max_nodes")
        if size and run_config.node_count > int(size):
            raise ComputeTargetException(
                f"The run needs {run_config.node_count} nodes but compute target {self.name!r} has max_nodes={size}. "
                f"Lower node_count or update the target: ComputeTarget(ws, {self.name!r}).update(max_nodes=...)."
            )

    def launch(self, rf: RunFolder) -> LaunchHandle:
        reap()
        private_dirs(rf.driver_log.parent)
        # The place in the pool's queue is taken now, in submit order, not when the driver gets going.
        ticket = _enqueue(self.folder / "queue", rf.run_id) if self.pool is not None else None
        try:
            proc = start_supervisor(DRIVER_MODULE, self.workspace.path, rf)
        except BaseException:
            if ticket is not None:
                ticket.unlink(missing_ok=True)
            raise
        if ticket is not None:
            write_json_atomic(ticket, {"pid": proc.pid, "run_id": rf.run_id})
        # The launcher owns the run until the driver claims it, so a driver that dies at start-up is noticed.
        rf.claim(proc.pid)
        rf.update_state(driver=True)
        return LaunchHandle(self.kind, self.name, {"pid": proc.pid})

    def status(self, rf: RunFolder) -> str:
        reap()
        return live_status(self.workspace.store, rf)

    def log_sources(self, rf: RunFolder) -> dict[str, Path]:
        return rf.log_files()

    def cancel(self, rf: RunFolder, reason: str = "Canceled by user") -> None:
        request_cancel(self.workspace.store, rf, reason)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": "local" if self.name == "local" else "AmlCompute",
            "max_nodes": self.config.get("max_nodes"),
            "busy_nodes": self.pool.busy() if self.pool else None,
            "queued_runs": len(_queue(self.folder / "queue", self.workspace.path)),
            "active_runs": sorted(_live_markers(self.folder / "active")),
        }

    def reserve_nodes(self, run_id: str, count: int) -> NodeReservation:
        if self.pool is None:
            return Unlimited()
        return _PoolReservation(self.pool, self.folder, self.workspace.path, run_id, count)


class _PoolReservation(NodeReservation):
    """A place in a pool's queue (a ticket file naming the waiting driver), then the held slots (open flock fds).

    First come, first served across processes: only the oldest live ticket may take slots, so runs start in the order
    they were submitted (tickets are numbered under a lock at launch).
    """

    def __init__(self, pool: SlotPool, folder: Path, ws_path: Path, run_id: str, count: int) -> None:
        self.pool, self.count, self.ws_path = pool, count, ws_path
        queue = folder / "queue"
        mine = sorted(queue.glob(f"*-{run_id}")) if queue.is_dir() else []
        self.queued = mine[0] if mine else _enqueue(queue, run_id)
        write_json_atomic(self.queued, {"pid": os.getpid(), "run_id": run_id})
        self.active = folder / "active" / run_id
        self.fds: list[int] = []
        self.slots: list[int] = []  # the slot indices held, lowest first

    def try_acquire(self) -> bool:
        ahead = _queue(self.queued.parent, self.ws_path)
        if ahead and ahead[0] != self.queued.name:
            return False  # someone submitted earlier still waits
        held = self.pool.try_acquire_slots(self.count)
        if held is None:
            return False
        self.slots, self.fds = list(held), list(held.values())
        write_json_atomic(self.active, {"pid": os.getpid()})
        self.queued.unlink(missing_ok=True)
        return True

    def inheritable_fds(self) -> list[int]:
        return list(self.fds)

    def node_env(self, node: int) -> dict[str, str]:
        # Node i holds slot i of those taken; with GPUs, its processes see that slot's share only.
        if not self.slots:
            return {}
        slots = [self.slots[node]] if node < len(self.slots) else self.slots
        return slot_env(pool_gpus(self.pool.folder.parent), slots, self.pool.size)

    def release(self) -> None:
        self.queued.unlink(missing_ok=True)
        self.active.unlink(missing_ok=True)
        SlotPool.release(self.fds)
        self.fds, self.slots = [], []


def _enqueue(queue: Path, run_id: str) -> Path:
    """Take the next ticket of a pool's queue (numbered under a lock, so the order is the order of the calls)."""
    queue.mkdir(parents=True, exist_ok=True)
    with file_lock(queue.parent / "queue.lock"):
        counter = queue.parent / "queue.counter"
        try:
            number = int(counter.read_text() or 0) + 1
        except (FileNotFoundError, ValueError):
            number = 1
        counter.write_text(str(number))
        ticket = queue / f"{number:012d}-{run_id}"
        write_json_atomic(ticket, {"pid": os.getpid(), "run_id": run_id})
    return ticket


def _queue(queue: Path, ws_path: Path) -> list[str]:
    """The live tickets of a pool's queue, oldest first. A ticket whose driver died is removed; one whose driver is
    stopped or hung (its run's heartbeat is stale) or whose run already ended is passed over."""
    live = []
    for name in sorted(_live_markers(queue)):
        run_id = name.split("-", 1)[-1]
        rf = RunFolder(ws_path, run_id)
        state = rf.read_state()
        if rf.exists() and (state.terminal or not rf.owner_alive(state)):
            continue
        live.append(name)
    return live


def _live_markers(folder: Path) -> list[str]:
    """Names of the markers whose process still lives; stale ones (a driver that died) are removed."""
    if not folder.is_dir():
        return []
    live = []
    for marker in folder.iterdir():
        if marker.name.startswith("."):
            continue  # another writer's temp file (write_json_atomic), not a marker yet: never read or remove it
        doc = read_json(marker, default={}) or {}
        if doc.get("pid") and process_alive(int(doc["pid"])):
            live.append(marker.name)
        else:
            marker.unlink(missing_ok=True)
    return live
