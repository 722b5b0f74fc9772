"""The run folder: the live state of one run on this machine, and the typed documents in it.

``<workspace>/runs/<run_id>/`` holds ``spec.json`` (:class:`RunSpec`: what to run, written once at submit),
``state.json`` (:class:`RunState`: status, owner, times, error; written by the run's owner, the driver),
``heartbeat`` (touched every couple of seconds by the owner), ``journal.jsonl`` (metrics), ``cancel`` (a cancel
request), ``logs/`` and ``wd/`` (the materialised snapshot the script runs in). MLflow mirrors the status; for a
live run this folder is the fresher source. Both documents cross process boundaries (submitter, driver, readers in
other kernels), hence dataclasses with one reading and one writing rule instead of dicts read with ``.get()``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from jupyter_amlrun._util.fileio import file_lock, read_json, write_json_atomic
from jupyter_amlrun._util.procs import process_alive, process_start_time, process_stopped
from jupyter_amlrun.runtime.status import RunStatus, is_terminal

HEARTBEAT_SECONDS = 2.0
# A driver that has not beaten for this long is dead or stopped (it beats every 2 s); kept well under the 15 s within
# which a dead or stopped driver must be found, its processes ended and its slot freed.
LIVENESS_SECONDS = 8.0
LIVENESS_ENV = "AMLRUN_LIVENESS_SECONDS"
# A launched driver that has not yet started its heartbeat (python and imports on a busy machine) is given longer.
STARTUP_STALE_SECONDS = 60.0
# An owner on another host is judged by its heartbeat alone (file times over a shared folder lag and skew).
REMOTE_STALE_SECONDS = 15.0
# The environment variable that marks every process a run starts; sweeps for it reach processes that left the tree.
RUN_MARK_ENV = "AMLRUN_RUN_ID"


# What a workspace's own processes (driver, guard, watchdog) create is their owner's only: folders 0700, files 0600
# (on a shared machine, a JupyterHub node, another user must not read a run's metrics and logs).
OWNER_ONLY_UMASK = 0o077
_user_umask: list[int] = []


def owner_only_umask() -> None:
    """Make this process create owner-only files and folders; the umask it had is kept for :func:`user_umask`.

    Called first thing by the processes that write a workspace and run no user code themselves.
    """
    previous = os.umask(OWNER_ONLY_UMASK)
    if not _user_umask:
        _user_umask.append(previous)


def user_umask() -> int:
    """The umask the user's own processes (a run's script) are started with: the one this process was given."""
    if _user_umask:
        return _user_umask[0]
    current = os.umask(OWNER_ONLY_UMASK)
    os.umask(current)
    return current


def private_dirs(path: Path) -> Path:
    """Make ``path`` and every missing folder above it owner-only (0700), whatever this process's umask."""
    missing: list[Path] = []
    folder = Path(path)
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o700)
    return Path(path)


def open_private_log(path: Path) -> BinaryIO:
    """A log file opened for appending, made owner-only (0600) if new, its folders too."""
    private_dirs(Path(path).parent)
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "ab")


def liveness_seconds() -> float:
    """How long a driver may go without a heartbeat before it counts as dead (``AMLRUN_LIVENESS_SECONDS``, default 8).

    Tests set it low to exercise the dead-driver paths quickly; a value that is not a positive number is ignored.
    """
    try:
        value = float(os.environ.get(LIVENESS_ENV, ""))
    except ValueError:
        return LIVENESS_SECONDS
    return value if value > 0 else LIVENESS_SECONDS


class RunFolderLost(OSError):
    """The run's folder (its ``state.json``) disappeared while the run was live."""


DRIVER_LOG = "logs/azureml/driver_log.txt"
USER_LOG = "logs/user_logs/std_log.txt"
# A distributed run writes one log per rank (compute/distributed.py); rank 0's is the one a reader streams.
RANK_LOG = "logs/user_logs/std_log_process_{rank}.txt"
# The distributed configurations whose ranks are launched one process each (others run one process, std_log.txt).
RANKED_CONFIGS = frozenset({"PyTorchConfiguration", "MpiConfiguration"})

_D = TypeVar("_D", bound="_Document")


class _Document:
    """Dict round-trips for the dataclasses below; keys a newer writer added are kept, not dropped."""

    extra: dict[str, Any]

    @classmethod
    def from_dict(cls: type[_D], doc: dict[str, Any] | None) -> _D:
        doc = dict(doc or {})
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}  # type: ignore[arg-type]
        known = {k: doc.pop(k) for k in list(doc) if k in names}
        obj = cls(**known)
        obj.extra = doc
        return obj

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in dataclasses.asdict(self).items() if k != "extra"}  # type: ignore[call-overload]
        return {**self.extra, **out}


@dataclass
class RunSpec(_Document):
    """What to run: written by submit, read by the driver (``spec.json``)."""

    run_id: str
    experiment: str
    experiment_id: str
    workspace: str
    script: str
    snapshot_id: str
    interpreter: str
    target: str = "local"
    arguments: list[str] = field(default_factory=list)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    environment: str | None = None
    environment_definition: dict[str, Any] | None = None  # what Preparing builds (runtime/envcache.py)
    environment_variables: dict[str, str] = field(default_factory=dict)
    node_count: int = 1
    distributed: dict[str, Any] | None = None
    max_run_duration_seconds: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def per_rank_logs(self) -> bool:
        """Whether the run's processes are launched as ranks, each with its own ``std_log_process_<rank>.txt``."""
        return bool(self.distributed) and str(self.distributed.get("type")) in RANKED_CONFIGS  # type: ignore[union-attr]


@dataclass
class RunState(_Document):
    """The live state of a run (``state.json``)."""

    status: str = RunStatus.NOT_STARTED.value
    history: list[list[Any]] = field(default_factory=list)  # [status, unix time] per transition
    created: float | None = None
    start_time: float | None = None
    end_time: float | None = None
    exit_code: int | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    # who supervises the run: its liveness decides whether a non-terminal run is still alive
    owner_pid: int | None = None
    owner_started: float | None = None
    host: str | None = None
    driver: bool = False
    driver_host: str | None = None
    # what the compute backend's launch() returned (kept: status and cancel may need it)
    handle: dict[str, Any] | None = None
    queued_reason: str | None = None
    script_pgid: int | None = None
    script_pids: list[int] = field(default_factory=list)
    # the final status the owner decided on when the script ended, recorded before Finalizing (with error and
    # exit_code) so that a recovery after the owner's death finishes the run as the owner would have
    outcome: str | None = None
    outputs_dir: str | None = None  # an interactive run's ./outputs, uploaded when it ends
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def run_status(self) -> RunStatus:
        return RunStatus.parse(self.status, RunStatus.NOT_STARTED)

    @property
    def terminal(self) -> bool:
        return is_terminal(self.status)


_STATE_FIELDS = frozenset(f.name for f in dataclasses.fields(RunState)) - {"extra"}


class RunFolder:
    """Paths and state of one run's folder."""

    def __init__(self, workspace_dir: Path, run_id: str) -> None:
        self.run_id = run_id
        self.root = Path(workspace_dir) / "runs" / run_id
        self._last: dict[str, Any] | None = None  # the last state document read or written through this object
        self._ranked: bool | None = None  # whether the spec launches ranks (read once: the spec never changes)

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
        """The script's output: ``std_log.txt``, or rank 0's ``std_log_process_0.txt`` for a distributed run."""
        if self._ranked is None:
            spec = self.read_spec() if self.spec_path.exists() else None
            if spec is None:
                return self.root / USER_LOG  # not known yet: asked again next time
            self._ranked = spec.per_rank_logs
        return self.rank_log(0) if self._ranked else self.root / USER_LOG

    def rank_log(self, rank: int) -> Path:
        """The output of rank ``rank`` of a distributed run."""
        return self.root / RANK_LOG.format(rank=rank)

    def exists(self) -> bool:
        return self.state_path.exists()

    def log_files(self) -> dict[str, Path]:
        """The run's log files on this machine, by run file name (``logs/...``)."""
        return log_files_under(self.logs_dir)

    # documents
    def read_spec(self) -> RunSpec | None:
        doc = read_json(self.spec_path)
        return RunSpec.from_dict(doc) if doc else None

    def write_spec(self, spec: RunSpec) -> None:
        write_json_atomic(self.spec_path, spec.to_dict())

    def read_state(self) -> RunState:
        doc = read_json(self.state_path, default=None)
        if doc is None:
            # A folder deleted under a live run: its last known state, not a fresh NotStarted one.
            return RunState.from_dict(self._last) if self._last is not None else RunState()
        self._last = dict(doc)
        return RunState.from_dict(doc)

    def write_state(self, state: RunState) -> None:
        doc = state.to_dict()
        write_json_atomic(self.state_path, doc)
        self._last = doc

    def last_known(self) -> RunState | None:
        """The last state read or written through this object (None if none was): what a reader falls back on when
        the folder has gone and the tracking store has not caught up yet."""
        return RunState.from_dict(self._last) if self._last is not None else None

    def _read_existing(self) -> RunState:
        if not self.state_path.exists() and self._last is not None:
            raise RunFolderLost(
                f"The folder of run {self.run_id} ({self.root}) lost its state.json while the run was live (was it "
                "deleted?). Leave runs/<run id> alone until the run has ended."
            )
        return self.read_state()

    def create(self) -> RunState:
        """Start the state of a new run (NotStarted)."""
        state = RunState(created=time.time())
        private_dirs(self.root)
        self.write_state(state)
        return state

    def update_state(self, **changes: Any) -> RunState:
        """Change fields of the state under its lock (a misspelt field is a bug: TypeError)."""
        unknown = set(changes) - _STATE_FIELDS
        if unknown:
            raise TypeError(f"RunState has no field(s) {sorted(unknown)}")
        with file_lock(self.root / "state.lock"):
            state = self._read_existing()
            for k, v in changes.items():
                setattr(state, k, v)
            self.write_state(state)
            return state

    def set_status(self, status: str, **extra: Any) -> RunState:
        """Record a status transition (with its time) unless the run already ended or is already there."""
        unknown = set(extra) - _STATE_FIELDS
        if unknown:
            raise TypeError(f"RunState has no field(s) {sorted(unknown)}")
        status = RunStatus.parse(status).value
        with file_lock(self.root / "state.lock"):
            state = self._read_existing()
            if state.terminal or (state.status == status and not extra):
                return state
            now = time.time()
            state.status = status
            state.history.append([status, now])
            for k, v in extra.items():
                setattr(state, k, v)
            if status == RunStatus.RUNNING and state.start_time is None:
                state.start_time = now
            if is_terminal(status):
                state.end_time = now
            self.write_state(state)
            return state

    # ownership and liveness
    def beat(self) -> None:
        self.heartbeat_path.touch(mode=0o600)

    def claim(self, pid: int | None = None) -> None:
        """Make process ``pid`` (default: this one) the owner whose liveness the run depends on."""
        pid = pid or os.getpid()
        self.update_state(owner_pid=pid, owner_started=process_start_time(pid), host=socket.gethostname())
        self.beat()

    def heartbeat_age(self, state: RunState) -> float:
        try:
            return time.time() - self.heartbeat_path.stat().st_mtime
        except FileNotFoundError:
            return time.time() - float(state.created or time.time())

    def owner_alive(self, state: RunState | None = None) -> bool:
        """Whether the run's owner still lives.

        On this host by its pid and start time (a reused pid reads as dead). A driver must also keep beating: one
        silent for :func:`liveness_seconds` is hung or stopped. An interactive run's owner is the user's process,
        alive for as long as that process is (its Run objects may come and go). On another host: the heartbeat.
        """
        state = state if state is not None else self.read_state()
        age = self.heartbeat_age(state)
        if state.owner_pid and state.host == socket.gethostname():
            if not process_alive(state.owner_pid, state.owner_started or 0.0):
                return False  # gone, a zombie, or the pid now belongs to another process
            if not state.driver:
                return True
            # A driver still starting up (NotStarted: python and its imports on a busy machine) gets longer.
            limit = STARTUP_STALE_SECONDS if state.status == RunStatus.NOT_STARTED else liveness_seconds()
            return age < max(limit, liveness_seconds())
        return age < max(REMOTE_STALE_SECONDS, liveness_seconds())

    # cancel requests
    def request_cancel(self, reason: str = "") -> None:
        self.cancel_path.write_text(reason or "Canceled by user")

    def cancel_requested(self) -> str | None:
        try:
            return self.cancel_path.read_text() or "Canceled by user"
        except FileNotFoundError:
            return None


def end_dead_owner(rf: RunFolder, state: RunState) -> str:
    """Say what became of a run's dead owner (for the run's error); a driver that lives on, hung or stopped, is
    killed first, so that it cannot wake up later and race the recovery."""
    pid = state.owner_pid
    if not pid or not process_alive(pid, state.owner_started or 0.0):
        return "ended"
    age = rf.heartbeat_age(state)
    how = "was stopped (SIGSTOP)" if process_stopped(pid) else "stopped responding"
    if state.driver and state.host == socket.gethostname():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    return f"{how}, sent no heartbeat for {age:.0f} s (the limit is {liveness_seconds():.0f} s) and was killed,"


def log_files_under(logs_dir: Path) -> dict[str, Path]:
    """Files under a ``logs/`` folder, keyed by their run file name (``logs/<relative path>``), sorted."""
    if not logs_dir.is_dir():
        return {}
    return {"logs/" + p.relative_to(logs_dir).as_posix(): p for p in sorted(logs_dir.rglob("*")) if p.is_file()}
