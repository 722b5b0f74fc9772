"""The workspace's watchdog: ``python -m jupyter_amlrun.compute.watchdog <workspace>``, one per workspace and machine.

It ends the runs whose supervisor died when nobody is there to see it. Each run already has a guard that ends it when
its driver dies; the watchdog is for what the guard cannot cover: the driver *and* its guard both dead (kill -9 of the
process group, an OOM kill), a dead sweep controller (it has no guard; its children run on and hold the pool's slots),
an interactive run whose notebook process died. Without it such a run reads Running until someone reads it, and its
orphaned scripts keep their slot locks, so the pool's next run stays Queued.

Why a watchdog rather than the pool's lock holders: a dead run's slot holders are the very processes that must be
ended, and a sweep controller or an interactive run holds no slot at all. One small process per workspace covers
them all, needs no new lock protocol, and costs nothing when no run is live: it exits after
:data:`IDLE_SECONDS` without a live run.

Who starts it: every supervisor (driver, sweep controller) when it takes a run over and then every
:data:`ENSURE_SECONDS` from its heartbeat, every launch, and a status read that finds a dead owner (a read starts
the watchdog, never ends a run itself). A flock on ``<workspace>/watchdog.lock`` keeps it to one.

Every :data:`POLL_SECONDS` it reads the state of each live run (ended runs are remembered and not
read again). A run on a target whose backend watches its own runs (a batch scheduler: Slurm's job pending, or ended
under its driver) is judged by the backend's :meth:`~jupyter_amlrun.core.contracts.ComputeBackend.watch`, every
:data:`WATCH_SECONDS` in a thread, which ends it with the scheduler's reason; otherwise a run whose owner is dead
(gone, or silent past
:func:`~jupyter_amlrun.runtime.runfolder.liveness_seconds`: stopped or hung, then killed) is recovered in a thread
(:func:`~jupyter_amlrun.runtime.lifecycle.recover_dead_run`: its processes ended, so its slots are freed, its data kept,
Failed with the reason). A recovered sweep's live children are canceled. What it does goes to
``<workspace>/logs/watchdog.log``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_amlrun._util.procs import process_alive
from jupyter_amlrun.runtime.runfolder import RunFolder, RunState, owner_only_umask
from jupyter_amlrun.runtime.watchdog import MODULE, lock_path

if TYPE_CHECKING:
    from jupyter_amlrun.core.contracts import ComputeBackend
    from jupyter_amlrun.tracking.store import TrackingStore

__all__ = ["Watchdog", "main"]

POLL_SECONDS = 1.0
IDLE_SECONDS = 30.0  # no live run for this long: the watchdog exits
SWEEP_CONFIG = "hyperdrive.json"  # a sweep parent's folder holds it (train/hyperdrive/controller.py CONFIG_FILE)
WATCH_SECONDS = 2.0  # how often a backend that watches its runs (ComputeBackend.watch) is asked about each


class Watchdog:
    """The watchdog's loop (see the module docstring)."""

    def __init__(self, workspace_dir: Path) -> None:
        self.ws_dir = Path(workspace_dir)
        self.runs_dir = self.ws_dir / "runs"
        self.ended: set[str] = set()  # run ids read terminal (never read again)
        self.recovering: dict[str, threading.Thread] = {}
        self.live: dict[str, RunFolder] = {}  # live runs seen, each with the last state read
        self.announced: set[str] = set()  # runs whose recovery was said in the log (a guard may be at it too)
        self._store: TrackingStore | None = None
        self._store_lock = threading.Lock()
        self.backends: dict[tuple[str, str], ComputeBackend | None] = {}  # (kind, target): None when it does not watch
        self.next_watch: dict[str, float] = {}

    def log(self, message: str) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        print(f"[{stamp}] Watchdog (pid {os.getpid()}): {message}", flush=True)

    def store(self) -> TrackingStore:
        # Imported and opened only once a run needs it: a healthy machine keeps the watchdog small.
        with self._store_lock:
            if self._store is None:
                from jupyter_amlrun.core.workspace import Workspace

                self._store = Workspace(path=self.ws_dir).store
        return self._store

    def scan(self) -> int:
        """Look at every live run once; recover those whose owner died. Returns how many runs live."""
        try:
            names = [e.name for e in os.scandir(self.runs_dir) if e.is_dir()]
        except FileNotFoundError:
            return 0
        live = 0
        # Live runs seen before whose folder is gone: their driver ends them, unless it is gone too.
        listed = set(names)
        for run_id in [r for r in self.live if r not in listed]:
            live += self.vanished(self.live[run_id])
        for run_id in names:
            if run_id in self.ended:
                continue
            rf = self.live.get(run_id) or RunFolder(self.ws_dir, run_id)
            try:
                if not rf.state_path.exists():
                    # not made yet, or deleted (a live driver ends a run whose folder vanished)
                    live += self.vanished(rf) if run_id in self.live else 0
                    continue
                state = rf.read_state()
            except (OSError, ValueError):
                continue
            if state.terminal:
                if run_id not in self.recovering:
                    self.ended.add(run_id)
                    self.live.pop(run_id, None)
                continue
            self.live[run_id] = rf  # it remembers the state: what to end if the folder goes with its owner
            # A run owned on another host (a shared folder) is judged by its heartbeat, as a reader used to.
            live += 1
            thread = self.recovering.get(run_id)
            if thread is not None and thread.is_alive():
                continue
            backend = self.watcher(state)
            if backend is not None:
                if time.monotonic() >= self.next_watch.get(run_id, 0.0):
                    self.next_watch[run_id] = time.monotonic() + WATCH_SECONDS
                    self.start(run_id, self._watch, rf, backend)
                continue
            if rf.owner_alive(state):
                continue
            self.recover(rf, state)
        self.recovering = {k: t for k, t in self.recovering.items() if t.is_alive()}
        return live

    def vanished(self, rf: RunFolder) -> int:
        """A live run's folder is gone: if its owner is gone too, end the run (its processes, its MLflow record);
        returns 1 while the run still counts as live."""
        state = rf.last_known()
        if state is None or state.terminal or rf.run_id in self.ended:
            self.live.pop(rf.run_id, None)
            return 0
        thread = self.recovering.get(rf.run_id)
        if thread is not None and thread.is_alive():
            return 1
        # Judged by the process alone: the heartbeat went with the folder.
        if state.owner_pid and process_alive(state.owner_pid, state.owner_started or 0.0):
            # a driver ends its run itself within a second; a notebook's run is not worth keeping the watchdog up
            return 1 if state.driver else 0
        if rf.run_id not in self.announced:
            self.announced.add(rf.run_id)
            self.log(
                f"run {rf.run_id} ({state.status}): its folder was deleted and its supervising process (pid "
                f"{state.owner_pid}) is gone; ending the run."
            )
        thread = threading.Thread(target=self._end_vanished, args=(rf,), name=f"vanished-{rf.run_id}", daemon=False)
        self.recovering[rf.run_id] = thread
        thread.start()
        return 1

    def _end_vanished(self, rf: RunFolder) -> None:
        from jupyter_amlrun.runtime.lifecycle import end_vanished_run

        try:
            status = end_vanished_run(self.store(), rf)
        except Exception as exc:  # the next scan tries again
            self.log(f"run {rf.run_id}: ending it failed ({type(exc).__name__}: {exc}); trying again.")
            return
        self.log(f"run {rf.run_id}: ended {status}.")  # its folder, made again, now reads terminal to the scan

    def recover(self, rf: RunFolder, state: RunState) -> None:
        if rf.run_id not in self.announced:
            self.announced.add(rf.run_id)
            self.log(
                f"run {rf.run_id} ({state.status}): its supervising process (pid {state.owner_pid}) is gone or "
                "silent; ending the run."
            )
        self.start(rf.run_id, self._recover, rf)

    def start(self, run_id: str, work: Any, *args: Any) -> None:
        """Run ``work(*args)`` in the run's thread (the next scans leave the run alone while it lives)."""
        thread = threading.Thread(target=work, args=args, name=f"{work.__name__.strip('_')}-{run_id}", daemon=False)
        self.recovering[run_id] = thread
        thread.start()

    def watcher(self, state: RunState) -> ComputeBackend | None:
        """The backend of the run's target when it watches its own runs (its class overrides ``watch``), else None."""
        handle = state.handle or {}
        kind, target = str(handle.get("kind") or ""), str(handle.get("target") or "")
        if kind in ("", "local") or not target:
            return None  # local pools (and sweeps' controllers): the owner's liveness is the truth
        key = (kind, target)
        if key not in self.backends:
            self.backends[key] = None
            try:
                from jupyter_amlrun.core.computetarget import resolve_backend
                from jupyter_amlrun.core.contracts import ComputeBackend
                from jupyter_amlrun.core.registry import compute_backends

                cls = compute_backends.load(kind)
                if cls.watch is not ComputeBackend.watch:
                    backend = resolve_backend(self.workspace(), target)
                    self.backends[key] = backend if backend.kind == kind else cls(self.workspace(), target, {})
            except Exception as exc:  # an unknown kind or a deleted target: the owner's liveness decides
                self.log(f"target {target!r} ({kind}): its backend cannot be loaded ({exc}); judging by liveness.")
        return self.backends[key]

    def workspace(self) -> Any:
        from jupyter_amlrun.core.workspace import Workspace

        return Workspace(path=self.ws_dir)

    def _watch(self, rf: RunFolder, backend: ComputeBackend) -> None:
        try:
            verdict = backend.watch(rf, rf.read_state())
        except Exception as exc:  # the next scan asks again
            self.log(f"run {rf.run_id}: its target's watch failed ({type(exc).__name__}: {exc}); asking again.")
            return
        if verdict is False:
            self.log(f"run {rf.run_id}: ended by its target {backend.name!r} ({rf.read_state().status}).")
        elif verdict is None and not rf.owner_alive():
            self._recover(rf)

    def _recover(self, rf: RunFolder) -> None:
        from jupyter_amlrun.runtime.lifecycle import recover_dead_run
        from jupyter_amlrun.runtime.status import is_terminal

        try:
            status = recover_dead_run(self.store(), rf)
        except Exception as exc:  # the next scan tries again
            self.log(f"run {rf.run_id}: the recovery failed ({type(exc).__name__}: {exc}); trying again.")
            return
        if not is_terminal(status):
            return  # another recovery (the run's guard) holds the run: the next scan looks again
        self.log(f"run {rf.run_id}: ended {status}.")
        if (rf.root / SWEEP_CONFIG).exists():
            self.end_children(rf, status)

    def end_children(self, rf: RunFolder, status: str) -> None:
        """Cancel the live children of a sweep whose controller died (each through its own backend)."""
        from jupyter_amlrun.core.reader import RunReader
        from jupyter_amlrun.core.workspace import Workspace
        from jupyter_amlrun.runtime.status import is_terminal

        ws = Workspace(path=self.ws_dir)
        reason = f"The sweep {rf.run_id} ended ({status}): its controller died"
        for record in RunReader(ws, rf.run_id).children():
            child = RunFolder(self.ws_dir, record.run_id)
            with contextlib.suppress(Exception):
                if child.exists() and not is_terminal(child.read_state().status):
                    RunReader(ws, record.run_id, record=record).backend().cancel(child, reason)
                    self.log(f"run {record.run_id}: child of the ended sweep {rf.run_id}, canceled.")

    def preload(self) -> None:
        """Import and open the tracking store in the background: a recovery then starts at once (the import of
        MLflow alone takes seconds on a loaded machine, which would count against the 15 s goal)."""

        def load() -> None:
            with contextlib.suppress(Exception):
                self.store()

        threading.Thread(target=load, name="preload", daemon=True).start()

    def loop(self) -> None:
        self.preload()
        idle_since = time.monotonic()
        while True:
            live = 0
            try:
                live = self.scan()
            except Exception as exc:  # a bad folder must not end the watchdog
                self.log(f"scan failed: {type(exc).__name__}: {exc}")
            now = time.monotonic()
            if live or self.recovering:
                idle_since = now
            elif now - idle_since > IDLE_SECONDS:
                return
            time.sleep(POLL_SECONDS)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) != 1:
        print(f"usage: python -m {MODULE} <workspace>", file=sys.stderr)
        return 2
    owner_only_umask()
    ws_dir = Path(argv[0])
    path = lock_path(ws_dir)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return 0  # another watchdog runs
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    dog = Watchdog(ws_dir)
    dog.log("started.")
    dog.loop()
    for thread in list(dog.recovering.values()):
        thread.join()
    dog.log(f"no live run for {IDLE_SECONDS:.0f} s; exiting.")
    return 0  # the lock goes with the process


if __name__ == "__main__":
    sys.exit(main())
