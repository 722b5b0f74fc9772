"""Status changes and finalisation shared by the driver, interactive runs and dead-run recovery."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from jupyter_amlrun._util.fileio import try_file_lock
from jupyter_amlrun._util.procs import kill_tree
from jupyter_amlrun.runtime import tags as T
from jupyter_amlrun.runtime.runfolder import RUN_MARK_ENV, RunFolder, RunState, end_dead_owner
from jupyter_amlrun.runtime.status import RunStatus
from jupyter_amlrun.tracking.journal import rejected_warning, ship_journal, storage_warning

if TYPE_CHECKING:
    from jupyter_amlrun.tracking.store import TrackingStore

ERROR_TAIL_LINES = 30
STORE_RETRY_SECONDS = 900.0
STORE_RETRY_ENV = "AMLRUN_STORE_RETRY_SECONDS"
SLOW_STORE_SECONDS = 5.0  # a store step slower than this is said in the driver log
_TRANSIENT_WORDS = (
    "locked",
    "busy",
    "unable to open",
    "connection",
    "timed out",
    "timeout",
    "temporarily",
    # the store's disk is full or failing: wait for space rather than set records aside
    "disk is full",
    "disk i/o error",
    "no space left",
    "input/output error",
    "quota exceeded",
)
_T = TypeVar("_T")
Log = Callable[[str], None]
# How long a status read waits for a dead-run recovery it started before it returns the status as it stands.
RECOVERY_WAIT_SECONDS = 2.0


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
    log: Log | None = None,
    warnings: list[str] | None = None,
) -> RunState:
    """Finalizing -> ship the journal, upload outputs and logs -> final status, in MLflow and the state file.

    Every step is attempted even if an earlier one fails, so a broken upload never leaves a run non-terminal. A
    locked or unreachable store is waited out (:func:`with_store_retries`, up to :func:`store_retry_seconds`), each
    wait said through ``log``. ``warnings`` (the caller's, e.g. a recovery's) are written with the final status in
    one state write, so no reader sees the run ended without them.
    """
    state = rf.set_status(RunStatus.FINALIZING)
    problems: list[str] = list(warnings or [])
    with contextlib.suppress(Exception):
        mirror_status(store, rf.run_id, state)
    deadline = time.monotonic() + store_retry_seconds()
    try:
        # the writers are gone: final=True also reads a last unterminated line
        with_store_retries(
            lambda: ship_journal(store, rf.run_id, rf.root, final=True), "shipping metrics", deadline, log
        )
    except Exception as exc:
        problems.append(
            f"shipping metrics failed: {exc}. The metrics journal is kept in {rf.journal_path}; run.flush() "
            "ships it once the store is reachable."
        )
    # Records the store refused (here or in an earlier ship) are named, so the run never reads as clean.
    with contextlib.suppress(OSError):
        refused = rejected_warning(rf.root)
        if refused:
            problems.append(refused)
        disk = storage_warning(rf.root)
        if disk:
            problems.append(disk)
    try:
        with_store_retries(lambda: upload_run_files(store, rf, outputs_dirs or []), "uploading", deadline, log)
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
    with_store_retries(lambda: mirror_status(store, rf.run_id, state), "recording the final status", deadline, log)
    return state


def store_retry_seconds() -> float:
    """How long finalising retries a locked or unreachable tracking store before it gives up.

    ``AMLRUN_STORE_RETRY_SECONDS``, default 900 (15 minutes). After that the run still ends (state file), its
    metrics journal stays in the run folder for a later ``run.flush()``, and the run's warnings say so.
    """
    try:
        value = float(os.environ.get(STORE_RETRY_ENV, ""))
    except ValueError:
        return STORE_RETRY_SECONDS
    return value if value > 0 else STORE_RETRY_SECONDS


def transient_store_error(exc: BaseException) -> bool:
    """Whether a tracking-store error is worth waiting out (a lock, a busy or unreachable store)."""
    text = f"{type(exc).__name__}: {exc}".lower()
    return any(word in text for word in _TRANSIENT_WORDS)


def with_store_retries(step: Callable[[], _T], what: str, deadline: float, log: Log | None = None) -> _T:
    """Run ``step``; while it fails with a transient store error, wait (backoff up to 15 s) and try again until
    ``deadline`` (``time.monotonic()``), saying so through ``log``. Other errors, and the last one, are raised."""
    delay = 1.0
    attempt = 1
    while True:
        # The store layer waits out short locks itself; say so in the log when that wait gets long.
        notice = threading.Timer(SLOW_STORE_SECONDS, _say_slow, (log, what, deadline)) if log is not None else None
        if notice is not None:
            notice.daemon = True
            notice.start()
        try:
            return step()
        except Exception as exc:
            if not transient_store_error(exc) or time.monotonic() + delay > deadline:
                if log is not None and attempt > 1:
                    log(f"Giving up {what} after {attempt} attempts: {exc}")
                raise
            if log is not None:
                log(
                    f"The tracking store is busy, unreachable or out of space ({_first_line(exc)}); {what} again in "
                    f"{delay:.0f} s "
                    f"(attempt {attempt + 1}, giving up {deadline - time.monotonic():.0f} s from now)."
                )
            time.sleep(delay)
            delay = min(delay * 2, 15.0)
            attempt += 1
        finally:
            if notice is not None:
                notice.cancel()


def _say_slow(log: Log, what: str, deadline: float) -> None:
    log(
        f"The tracking store is busy or unreachable: {what} has waited {SLOW_STORE_SECONDS:.0f} s so far (another "
        f"writer may hold its lock); still trying, giving up {deadline - time.monotonic():.0f} s from now."
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def end_lost_run(store: TrackingStore, rf: RunFolder, error: str) -> RunState:
    """End a run whose folder or journal vanished under it: Failed with ``error``, never Completed.

    A new ``state.json`` is written from the last state this process knew (its history kept, so the run never reads
    NotStarted again) and MLflow gets the same status; what is left of the journal is shipped first.
    """
    state = rf.read_state()
    now = time.time()
    rf.root.mkdir(parents=True, exist_ok=True)
    _restore_cwd(rf.root)
    state.status = RunStatus.FAILED.value
    state.history.append([state.status, now])
    state.end_time = now
    state.error = error
    state.outcome = state.status
    rf.write_state(state)
    with contextlib.suppress(Exception):
        ship_journal(store, rf.run_id, rf.root, final=True)
    mirror_status(store, rf.run_id, state)
    return state


def _restore_cwd(folder: Path) -> None:
    """A process whose working folder was the deleted run folder (a driver's) cannot open the tracking store (MLflow
    asks for the working folder): move it to the folder made again at the same path."""
    try:
        os.getcwd()
    except FileNotFoundError:
        with contextlib.suppress(OSError):
            os.chdir(folder)


def end_vanished_run(store: TrackingStore, rf: RunFolder, *, locked: bool = False) -> str:
    """A live run whose folder was deleted and whose owner is gone too: end its processes and its MLflow record.

    ``rf`` must have read the run's state before the folder went (:meth:`RunFolder.last_known`): that state names the
    processes to end, and the run ends Failed with it (:func:`end_lost_run`), the folder made again for its record.
    ``locked``: the caller holds :func:`recovery_lock` (without it, a caller that finds another recovery at work
    returns the status as it stands).
    """
    if not locked:
        with recovery_lock(rf) as mine:
            return end_vanished_run(store, rf, locked=True) if mine else rf.read_state().status
    state = rf.read_state()
    if state.terminal:
        return state.status
    mark = (RUN_MARK_ENV, rf.run_id) if state.driver else None
    kill_tree(state.script_pgid, state.script_pids, grace=1.0, mark=mark)
    error = (
        f"The run's folder {rf.root} (its state.json) disappeared while the run was live, and the process "
        f"supervising it (pid {state.owner_pid}) ended without finishing it; the run's processes were ended. Its "
        "live state, metrics journal and logs are gone. Leave runs/<run id> alone until the run has ended."
    )
    return end_lost_run(store, rf, error).status


def recover_dead_run(store: TrackingStore, rf: RunFolder, fate: str | None = None, *, locked: bool = False) -> str:
    """A non-terminal run whose owner died: end what it left running, keep its data, mark it Failed/Canceled.

    A run whose script had already ended when its owner died is finished as the owner would have (Completed with
    exit code 0, say). ``fate`` says what became of the owner when the caller already ended it (see
    :func:`~jupyter_amlrun.runtime.runfolder.end_dead_owner`). Only one recovery acts on a run (a lock, across
    processes); a caller that finds another recovery at work returns the status as it stands instead of waiting.
    ``locked``: the caller already holds :func:`recovery_lock`.
    """
    if locked:
        return _recover(store, rf, fate)
    with recovery_lock(rf) as mine:
        if not mine:
            return rf.read_state().status
        return _recover(store, rf, fate)


def recovery_lock(rf: RunFolder) -> contextlib.AbstractContextManager[bool]:
    """The lock only one recovery of ``rf`` holds at a time (never waits: yields whether it was taken)."""
    return try_file_lock(rf.root / "recover.lock")


def _recover(store: TrackingStore, rf: RunFolder, fate: str | None) -> str:
    state = rf.read_state()
    if state.terminal or rf.owner_alive(state):
        return state.status
    fate = fate or end_dead_owner(rf, state)
    mark = (RUN_MARK_ENV, rf.run_id) if state.driver else None
    kill_tree(state.script_pgid, state.script_pids, grace=1.0, mark=mark)
    _remove_half_build(rf)
    if not rf.state_path.exists() and rf.last_known() is not None:
        return end_vanished_run(
            store, rf, locked=True
        )  # the folder went with the owner (the guard's lock file made it again)
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(_heartbeat_time(rf)))
    canceled = rf.cancel_requested()
    warnings: list[str] = []
    if state.outcome:
        # The script had ended and the owner had decided; only its Finalizing was cut short.
        status, error = state.outcome, state.error
        warnings.append(
            f"The process supervising this run (pid {state.owner_pid}) {fate} during Finalizing; the run "
            "was finished by a recovery (metrics, outputs and logs kept)."
        )
    elif canceled:
        status, error = RunStatus.CANCELED, canceled
    else:
        status = RunStatus.FAILED
        error = (
            f"The process supervising this run (pid {state.owner_pid}) {fate} without finishing it; its "
            f"last heartbeat was at {when}. Metrics and logs written so far are kept."
        )
        tail = error_tail(rf.driver_log, lines=10)
        if tail:
            error += f"\nLast lines of logs/azureml/driver_log.txt:\n{tail}"
    outputs = [rf.workdir / "outputs"]
    if state.outputs_dir:
        outputs = [Path(state.outputs_dir)]
    try:
        final = finalize(
            store,
            rf,
            status,
            error=error,
            exit_code=state.exit_code,
            outputs_dirs=outputs,
            log=_log_to(rf),
            warnings=warnings,
        )
    except Exception as exc:
        # The store is unreachable: the run still ends here; MLflow catches up on a later read.
        warnings.append(f"recording the end in the store failed: {exc}")
        final = rf.set_status(status, error=error, warnings=warnings)
    return final.status


def _remove_half_build(rf: RunFolder) -> None:
    """An environment build the dead driver left half done goes (its pip was ended with the run's processes)."""
    from jupyter_amlrun.runtime.envcache import remove_half_build

    with contextlib.suppress(OSError):
        removed = remove_half_build(rf.root)
        if removed is not None:
            _log_to(rf)(f"removed the environment build {removed} the run's driver left half done.")


def _log_to(rf: RunFolder) -> Log:
    def log(message: str) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        with contextlib.suppress(OSError), open(rf.driver_log, "a", encoding="utf-8") as fh:
            fh.write(f"[{stamp}] Recovery: {message}\n")

    return log


def _heartbeat_time(rf: RunFolder) -> float:
    try:
        return rf.heartbeat_path.stat().st_mtime
    except FileNotFoundError:
        return time.time()


def live_status(store: TrackingStore, rf: RunFolder, wait: float = RECOVERY_WAIT_SECONDS) -> str:
    """The status in the run folder, read only.

    A non-terminal run whose owner died is not ended here (a reader never kills a process tree or finalizes a run):
    the workspace's watchdog (:mod:`jupyter_amlrun.runtime.watchdog`) does that, and a read that finds a dead owner
    starts the watchdog if none runs (after a reboot, say). ``store`` and ``wait`` are kept for callers' sake.
    """
    state = rf.read_state()
    if state.terminal or rf.owner_alive(state):
        return state.status
    from jupyter_amlrun.runtime.watchdog import ensure_watchdog

    ensure_watchdog(rf.root.parent.parent, min_interval=2.0)
    return state.status


def start_recovery(store: TrackingStore, rf: RunFolder, wait: float = RECOVERY_WAIT_SECONDS) -> None:
    """Recover ``rf`` in a background thread (one per run in this process) and wait for it up to ``wait`` s."""
    key = str(rf.root)
    with _recoveries_lock:
        thread = _recoveries.get(key)
        if thread is None or not thread.is_alive():
            # Not a daemon: a process that exits waits for a recovery it started rather than cut it in half.
            thread = threading.Thread(target=_recover_quietly, args=(store, rf), name=f"amlrun-recover-{rf.run_id}")
            _recoveries[key] = thread
            thread.start()
    thread.join(wait)


def _recover_quietly(store: TrackingStore, rf: RunFolder) -> None:
    with contextlib.suppress(Exception):
        recover_dead_run(store, rf)


_recoveries: dict[str, threading.Thread] = {}
_recoveries_lock = threading.Lock()


def request_cancel(store: TrackingStore, rf: RunFolder, reason: str = "Canceled by user") -> None:
    """Ask a run's owner to cancel it (and wake a driver at once); a run with a dead owner ends here."""
    rf.request_cancel(reason)
    state = rf.read_state()
    if not rf.owner_alive(state):
        start_recovery(store, rf)
        return
    if state.owner_pid and state.driver:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(int(state.owner_pid), signal.SIGUSR1)  # wake the driver now rather than at its next poll
