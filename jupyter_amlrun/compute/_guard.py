"""The run's guard: ``python -m jupyter_amlrun.compute._guard <workspace> <run_id> <driver_pid> <pipe_fd> <slot_fds>``.

A small process the driver starts once it holds its nodes. It keeps its own copies of the slot locks and the read end
of a pipe whose write end only the driver holds, so:

- the driver's death (even SIGKILL) reads as end-of-file at once, and a driver that is stopped or hung shows as a
  heartbeat older than :func:`~jupyter_amlrun.runtime.runfolder.liveness_seconds`; either way the guard kills the
  driver, ends every process of the run (its tree and every process marked with the run id), and only then lets the
  slots go, and finishes the run (Failed, saying what happened) through the same recovery a reader would do;
- at an orderly end (end-of-file after the final status) it sweeps for marked processes that outlived the run and
  exits, which frees its copies of the slots.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import threading
import time
from pathlib import Path

from jupyter_amlrun._util.procs import kill_tree, process_alive
from jupyter_amlrun.runtime.runfolder import (
    RUN_MARK_ENV,
    RunFolder,
    end_dead_owner,
    liveness_seconds,
    owner_only_umask,
)

POLL_SECONDS = 0.5


def _log(rf: RunFolder, message: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    with contextlib.suppress(OSError), open(rf.driver_log, "a", encoding="utf-8") as fh:
        fh.write(f"[{stamp}] Guard: {message}\n")


def watch(rf: RunFolder, driver_pid: int, driver_started: float, pipe_fd: int) -> str:
    """Block until the driver is done ("ended"), dead ("died") or hung/stopped ("hung")."""
    while True:
        ready, _, _ = select.select([pipe_fd], [], [], POLL_SECONDS)
        if ready and not os.read(pipe_fd, 64):
            return "ended" if rf.read_state().terminal else "died"
        if not process_alive(driver_pid, driver_started):
            return "died"
        # No heartbeat file at all is a deleted run folder: the driver itself ends such a run.
        if rf.heartbeat_path.exists():
            age = rf.heartbeat_age(rf.read_state())
            if age > liveness_seconds():
                return "hung"
            if age > liveness_seconds() / 2:
                _prepare()


_prepared: list[threading.Thread] = []


def _prepare() -> None:
    """Import the tracking store's code in the background once the driver looks late, so that a recovery, if one is
    needed, is not slowed by it (the guard stays small while the driver is healthy)."""
    if not _prepared:

        def load() -> None:
            with contextlib.suppress(Exception):
                import jupyter_amlrun.core.workspace
                import jupyter_amlrun.tracking.store  # noqa: F401

        _prepared.append(threading.Thread(target=load, name="prepare", daemon=True))
        _prepared[0].start()


def _remove_containers(rf: RunFolder) -> None:
    """Remove the run's containers (found by their run-id label) when the run ran in one; said in the driver log."""
    with contextlib.suppress(Exception):
        spec = rf.read_spec()
        if spec is None or not spec.extra.get("docker"):
            return
        from jupyter_amlrun._util.engine import detect, remove_run_containers

        engine = detect()
        if engine is not None and (ids := remove_run_containers(engine, rf.run_id)):
            _log(rf, f"removed the run's container(s) {', '.join(i[:12] for i in ids)}.")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) != 5:
        print("usage: python -m jupyter_amlrun.compute._guard <workspace> <run_id> <driver_pid> <pipe_fd> <slot_fds>")
        return 2
    ws_dir, run_id, pid, fd = Path(argv[0]), argv[1], int(argv[2]), int(argv[3])
    slot_fds = [int(x) for x in argv[4].split(",") if x.strip()]
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # only the driver's end ends the guard
    owner_only_umask()
    rf = RunFolder(ws_dir, run_id)
    try:
        started = float(rf.read_state().owner_started or 0.0)
    except (TypeError, ValueError):
        started = 0.0
    what = watch(rf, pid, started, fd)
    state = rf.read_state()
    mark = (RUN_MARK_ENV, run_id)
    if what == "ended":
        kill_tree(None, [], grace=1.0, mark=mark)  # daemons the script left that escaped the driver's sweep
        _remove_containers(rf)
        return 0
    from jupyter_amlrun.runtime.lifecycle import recover_dead_run, recovery_lock

    with recovery_lock(rf) as mine:
        # Without the lock a reader is recovering the run: it ends the driver; we still see the processes gone.
        fate = end_dead_owner(rf, state) if mine else "ended"
        _log(rf, f"the run's driver (pid {pid}) {fate.rstrip(',')}; ending the run's processes.")
        kill_tree(state.script_pgid, state.script_pids, grace=1.0, mark=mark)
        _remove_containers(rf)  # the engine's client is gone, its container is not
        # Every process of the run is gone: the slots may go now, before the slower recording of the end.
        for slot_fd in slot_fds:
            with contextlib.suppress(OSError):
                os.close(slot_fd)
        _log(rf, "the run's processes are gone and its nodes are free.")
        if not mine:
            return 0
        from jupyter_amlrun.core.workspace import Workspace

        status = recover_dead_run(Workspace(path=ws_dir).store, rf, fate=fate, locked=True)
    _log(rf, f"recorded the end of the run: {status}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
