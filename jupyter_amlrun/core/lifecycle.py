"""Status changes and finalisation shared by the driver, interactive runs and dead-run recovery."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_amlrun._util.fileio import file_lock
from jupyter_amlrun._util.procs import kill_tree
from jupyter_amlrun.core import tags as T
from jupyter_amlrun.core.runfolder import RunFolder, RunState
from jupyter_amlrun.core.status import RunStatus
from jupyter_amlrun.tracking.journal import rejected_warning, ship_journal

if TYPE_CHECKING:
    from jupyter_amlrun.tracking.store import TrackingStore

ERROR_TAIL_LINES = 30


def mirror_status(store: TrackingStore, run_id: str, state: RunState) -> None:
    """Copy the state file's status (and times, error) onto the MLflow run."""
    tags: dict[str, Any] = {T.STATUS: state.status}
    for key, tag in T.STATE_TAGS.items():
        if getattr(state, key) is not None:
            tags[tag] = getattr(state, key)
    if state.error:
        tags[T.ERROR] = state.error
    store.set_tags(run_id, tags)
    end_ms = int(float(state.end_time) * 1000) if state.end_time else None
    store.set_mlflow_status(run_id, state.run_status.mlflow_status, end_ms)


def error_tail(log_file: Path, lines: int = ERROR_TAIL_LINES) -> str:
    """The last lines of a log, for the run's error details."""
    try:
        with open(log_file, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - 16384))
            text = fh.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def upload_run_files(store: TrackingStore, rf: RunFolder, outputs_dirs: list[Path]) -> None:
    """Upload ``outputs/`` (from the script's folder) and ``logs/`` as run artifacts."""
    for out in outputs_dirs:
        if out.is_dir() and any(out.iterdir()):
            store.log_artifacts(rf.run_id, out, "outputs")
    # Logs the script wrote itself (wd/logs) join the driver's logs.
    user_logs = rf.workdir / "logs"
    if user_logs.is_dir() and any(user_logs.iterdir()):
        store.log_artifacts(rf.run_id, user_logs, "logs")
    if rf.logs_dir.is_dir():
        store.log_artifacts(rf.run_id, rf.logs_dir, "logs")


def finalize(
    store: TrackingStore,
    rf: RunFolder,
    status: str,
    *,
    error: str | None = None,
    exit_code: int | None = None,
    outputs_dirs: list[Path] | None = None,
) -> RunState:
    """Finalizing -> ship the journal, upload outputs and logs -> final status, in MLflow and the state file.

    Every step is attempted even if an earlier one fails, so a broken upload never leaves a run non-terminal.
    """
    state = rf.set_status(RunStatus.FINALIZING)
    problems: list[str] = []
    with contextlib.suppress(Exception):
        mirror_status(store, rf.run_id, state)
    try:
        ship_journal(store, rf.run_id, rf.root, final=True)  # the writers are gone: read a last unterminated line
    except Exception as exc:
        problems.append(f"shipping metrics failed: {exc}")
    # Records the store refused (here or in an earlier ship) are named, so the run never reads as clean.
    with contextlib.suppress(OSError):
        refused = rejected_warning(rf.root)
        if refused:
            problems.append(refused)
    try:
        upload_run_files(store, rf, outputs_dirs or [])
    except Exception as exc:
        problems.append(f"uploading outputs/logs failed: {exc}")
    extra: dict[str, Any] = {}
    if error:
        extra["error"] = error
    if exit_code is not None:
        extra["exit_code"] = exit_code
    if problems:
        extra["warnings"] = [*state.warnings, *problems]  # keep the run's own (environment) warnings
    state = rf.set_status(status, **extra)
    mirror_status(store, rf.run_id, state)
    return state


def recover_dead_run(store: TrackingStore, rf: RunFolder) -> str:
    """A non-terminal run whose owner died: end what it left running, keep its data, mark it Failed/Canceled."""
    with file_lock(rf.root / "recover.lock"):
        state = rf.read_state()
        if state.terminal or rf.owner_alive(state):
            return state.status
        kill_tree(state.script_pgid, state.script_pids, grace=1.0)
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(_heartbeat_time(rf)))
        canceled = rf.cancel_requested()
        if canceled:
            status, error = RunStatus.CANCELED, canceled
        else:
            status = RunStatus.FAILED
            error = (
                f"The process supervising this run (pid {state.owner_pid}) ended without finishing it; its "
                f"last heartbeat was at {when}. Metrics and logs written so far are kept."
            )
            tail = error_tail(rf.driver_log, lines=10)
            if tail:
                error += f"\nLast lines of logs/azureml/driver_log.txt:\n{tail}"
        outputs = [rf.workdir / "outputs"]
        if state.outputs_dir:
            outputs = [Path(state.outputs_dir)]
        try:
            final = finalize(store, rf, status, error=error, outputs_dirs=outputs)
        except Exception as exc:
            # The store is unreachable: the run still ends here; MLflow catches up on a later read.
            final = rf.set_status(status, error=error, warnings=[f"recording the end in the store failed: {exc}"])
        return final.status


def _heartbeat_time(rf: RunFolder) -> float:
    try:
        return rf.heartbeat_path.stat().st_mtime
    except FileNotFoundError:
        return time.time()


def live_status(store: TrackingStore, rf: RunFolder) -> str:
    """The status in the run folder; a non-terminal run whose owner died is recovered (and so ends) here."""
    state = rf.read_state()
    if not state.terminal and not rf.owner_alive(state):
        return recover_dead_run(store, rf)
    return state.status


def request_cancel(store: TrackingStore, rf: RunFolder, reason: str = "Canceled by user") -> None:
    """Ask a run's owner to cancel it (and wake a driver at once); a run with a dead owner ends here."""
    import os
    import signal

    rf.request_cancel(reason)
    state = rf.read_state()
    if not rf.owner_alive(state):
        recover_dead_run(store, rf)
        return
    if state.owner_pid and state.driver:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(int(state.owner_pid), signal.SIGUSR1)  # wake the driver now rather than at its next poll
