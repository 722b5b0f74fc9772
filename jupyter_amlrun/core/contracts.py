"""The contracts of the pluggable parts: compute backends, datastore backends and input materializers.

Core owns them; backends (``jupyter_amlrun.compute``, ``jupyter_amlrun.data`` or another distribution) implement
them and register with :mod:`jupyter_amlrun.core.registry`. Every production path goes through these methods, and
each contract has one suite in :mod:`jupyter_amlrun.testing` that every backend passes.
"""

from __future__ import annotations

import abc
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    from jupyter_amlrun.core.runconfig import RunConfiguration
    from jupyter_amlrun.core.workspace import Workspace
    from jupyter_amlrun.runtime.runfolder import RunFolder, RunSpec, RunState

Log = Callable[[str], None]


# ---------------------------------------------------------------------------------------------------- compute
@dataclass
class LaunchHandle:
    """What :meth:`ComputeBackend.launch` returns; kept in the run's state (``RunState.handle``)."""

    kind: str  # the backend kind that launched it
    target: str  # the compute target's name
    data: dict[str, Any] = field(default_factory=dict)  # backend-specific: a pid, a job id, ...

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "target": self.target, "data": dict(self.data)}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> LaunchHandle:
        return cls(str(doc.get("kind", "")), str(doc.get("target", "")), dict(doc.get("data") or {}))


class NodeReservation(abc.ABC):
    """A run's place in its target's queue; the driver polls :meth:`try_acquire` until it gets its nodes."""

    @abc.abstractmethod
    def try_acquire(self) -> bool:
        """Take the nodes if they are free now (all or none)."""

    @abc.abstractmethod
    def release(self) -> None:
        """Give the nodes (or the place in the queue) back; safe to call twice."""

    def inheritable_fds(self) -> list[int]:
        """File descriptors that hold the acquired nodes (for example flock'd files).

        The driver hands copies to the run's guard and script, so the nodes stay held until every process of the run
        is gone, not merely the driver. Empty by default: nodes not held by a descriptor.
        """
        return []

    def node_env(self, node: int) -> dict[str, str]:
        """Environment variables for the processes of acquired node ``node`` (0-based) that come from what the node
        holds, for example ``CUDA_VISIBLE_DEVICES`` naming its share of the GPUs. Empty by default."""
        return {}


class Unlimited(NodeReservation):
    """The reservation of a target without a node limit: always granted."""

    def try_acquire(self) -> bool:
        return True

    def release(self) -> None:
        pass


# (status, error, exit code): how the ranks of a distributed run ended, as the driver records it
RankOutcome = tuple[str, str | None, int | None]


class RankTopology(Protocol):
    """What a distributed run asks for: ``nodes`` x ``per_node`` ranks launched by ``kind`` (``pytorch``, ``mpi``)."""

    @property
    def kind(self) -> str: ...
    @property
    def nodes(self) -> int: ...
    @property
    def per_node(self) -> int: ...
    @property
    def backend(self) -> str: ...
    @property
    def world_size(self) -> int: ...


class RankHost(Protocol):
    """The run's driver, as :meth:`ComputeBackend.launch_ranks` sees it (implemented by
    :class:`jupyter_amlrun.compute.driver.Driver`)."""

    rf: RunFolder
    spec: RunSpec
    wake: threading.Event  # set when the run's state may have changed (a cancel request): wait on it between polls
    # The run's container (compute/container.py ContainerRun) when its environment asks for Docker, else None: the
    # default rank launcher wraps each node's command in it. Any: core does not import compute.
    container: Any

    def log(self, message: str) -> None:
        """A line in the run's driver log."""

    def set_status(self, status: str, **extra: Any) -> None:
        """Record the run's status (``Running`` once the ranks started, with ``script_pgid``/``script_pids``)."""

    def stop_reason(self, started: float) -> tuple[str, str] | None:
        """``("cancel" | "timeout" | "lost", why)`` once the ranks must stop, else None (poll it while waiting)."""

    def start_sync(self) -> None:
        """Start shipping the run's metrics to the tracking store (call once the ranks run; idempotent)."""

    def node_env(self, node: int) -> dict[str, str]:
        """Environment variables node ``node``'s processes get from the nodes held (their GPUs)."""

    def node_fds(self) -> list[int]:
        """Descriptors holding the run's nodes (:meth:`NodeReservation.inheritable_fds`), for the ranks to inherit."""

    def launch_local_ranks(self, topology: RankTopology, command: list[str], env: dict[str, str]) -> RankOutcome:
        """Run every rank as a process group on this machine, node ``i`` holding node slot ``i`` (the default)."""


class ComputeBackend(abc.ABC):
    """What a compute target must do for a run (the suite: :mod:`jupyter_amlrun.testing.compute_contract`).

    Parameters
    ----------
    workspace:
        The workspace the target belongs to.
    name:
        The compute target's name (``"local"`` or a named target).
    config:
        The target's document (``compute/<name>.json``), ``{"type": "local"}`` for ``local``.
    """

    kind: ClassVar[str] = ""
    # "module:Class" of the v1 ComputeTarget subclass that ComputeTarget(ws, name) returns for a target of this kind
    # (AmlCompute, RayCompute); "" for the generic ComputeTarget.
    target_class: ClassVar[str] = ""

    def __init__(self, workspace: Workspace, name: str, config: dict[str, Any]) -> None:
        self.workspace = workspace
        self.name = name
        self.config = config

    @abc.abstractmethod
    def validate(self, run_config: RunConfiguration) -> None:
        """Raise a clear UserErrorException if this target cannot run ``run_config`` (before anything exists)."""

    @abc.abstractmethod
    def launch(self, rf: RunFolder) -> LaunchHandle:
        """Start the run's driver for ``rf`` (spec.json written); the caller keeps the handle in the run state."""

    @abc.abstractmethod
    def status(self, rf: RunFolder) -> str:
        """The run's v1 status, read only: a run whose supervisor died is ended by the workspace's watchdog (its
        owner's liveness, or :meth:`watch`), never by a read; a read may start the watchdog."""

    @abc.abstractmethod
    def log_sources(self, rf: RunFolder) -> dict[str, Path]:
        """Log files readable while the run is live, by run file name (``logs/...``)."""

    @abc.abstractmethod
    def cancel(self, rf: RunFolder, reason: str = "Canceled by user") -> None:
        """Ask the run to stop; its whole process tree must end and the run read Canceled with ``reason`` as its
        error (a sweep's policy gives its own reason; the default is a user's cancel)."""

    @abc.abstractmethod
    def describe(self) -> dict[str, Any]:
        """Plain data about the target: ``name``, ``type``, ``max_nodes``, ``busy_nodes``, ``queued_runs``,
        ``active_runs``."""

    # ------------------------------------------------------------ the target's life (ComputeTarget.create/delete)
    @classmethod
    def provision(cls, workspace: Workspace, name: str, doc: dict[str, Any]) -> dict[str, Any]:
        """Bring up what a new target of this kind needs (``ComputeTarget.create``), before its document ``doc`` is
        written; returns the fields the document keeps (an address, a pid). Raise a clear error if it cannot be done.
        Nothing by default."""
        return {}

    @classmethod
    def deprovision(cls, workspace: Workspace, name: str, doc: dict[str, Any]) -> None:
        """Undo :meth:`provision` (``delete()``, or a create whose document could not be written). Nothing by
        default."""
        return None

    @classmethod
    def check_attach(cls, workspace: Workspace, name: str, doc: dict[str, Any]) -> dict[str, Any]:
        """Refuse, with a clear error, an attach of existing compute that cannot work (a bad or unreachable address)
        before its document is written; returns fields to keep (the address in normal form). Nothing by default."""
        return {}

    def watch(self, rf: RunFolder, state: RunState) -> bool | None:
        """The workspace's watchdog asks this of each live run of the target (every few seconds, in a thread).

        Readers never end a run; the watchdog does. A backend whose scheduler knows what the run's owner cannot (a
        batch job pending, or ended by the scheduler before or under its driver) records that here and ends such a
        run, with the scheduler's reason. Returns True when the run lives (the watchdog leaves it), False when it was
        ended here, None to let the watchdog judge by the owner's liveness (the default).
        """
        return None

    def reserve_nodes(self, run_id: str, count: int) -> NodeReservation:
        """The run's place in the queue for ``count`` nodes (called by the driver); unlimited by default."""
        return Unlimited()

    def launch_ranks(
        self, host: RankHost, topology: RankTopology, command: list[str], env: dict[str, str]
    ) -> RankOutcome:
        """Start the ranks of a distributed run, watch them to their end and stop them all (called in the run's driver,
        once its nodes are held and its environment is ready).

        Parameters
        ----------
        host:
            The run's driver: its folder and spec, its log, its status and its stop requests.
        topology:
            How many nodes and ranks per node, and the launcher kind.
        command:
            ``[interpreter, script, *args]``, inputs already replaced.
        env:
            The environment every rank gets (a node adds ``host.node_env(node)`` and its rank variables).

        Returns
        -------
        RankOutcome
            ``(status, error, exit_code)``: Completed, or Failed/Canceled with what happened.

        By default the ranks run as process groups on the driver's machine (``host.launch_local_ranks``). A backend
        whose nodes are elsewhere overrides it: Ray places one actor per node in a placement group; a batch
        scheduler starts one ``srun`` step per node. :func:`jupyter_amlrun.compute.distributed.plan_node` plans a
        node's launch and :func:`jupyter_amlrun.compute.distributed_run.watch` watches any set of nodes given their
        poll and stop functions, so an override only starts, polls and stops.
        """
        return host.launch_local_ranks(topology, command, env)


# ---------------------------------------------------------------------------------------------------- inputs
@dataclass
class MaterializedInputs:
    """What the script gets for its inputs: placeholders in its arguments replaced, and environment variables."""

    replacements: dict[str, str] = field(default_factory=dict)  # placeholder -> local path
    env: dict[str, str] = field(default_factory=dict)

    def merge(self, other: MaterializedInputs) -> None:
        self.replacements.update(other.replacements)
        self.env.update(other.env)


class InputMaterializer(abc.ABC):
    """Turns the run inputs of some kinds (``spec["kind"]``) into local paths on the target before the script starts.

    The driver's calls, in order: :meth:`materialize` (before the script), :meth:`complete` (after it ended, before
    the outcome is recorded), :meth:`release` (before the working folder is removed). Run outputs are inputs of the
    ``output`` kind: a folder made before the script, saved in :meth:`complete`.

    Parameters
    ----------
    workspace:
        The run's workspace.
    """

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    @abc.abstractmethod
    def materialize(self, inputs: list[dict[str, Any]], run_root: Path, log: Log) -> MaterializedInputs:
        """Mount or download each input (the specs submit stored in spec.json); raise a clear error if one can't."""

    def complete(self, status: str, log: Log) -> str | None:
        """The script has ended with ``status`` (the run's outcome so far): finish what the inputs need, such as
        uploading outputs. Called by the driver before the outcome is recorded, with the working folder still there.

        Returns
        -------
        str | None
            None when all went well; else what went wrong, and the driver ends a Completed run Failed with it (an
            output that was not saved must never read Completed). Nothing to do by default.
        """
        return None

    def release(self) -> None:  # noqa: B027 - nothing to release is a valid backend
        """Undo what :meth:`materialize` holds (unmount); called by the driver before the run folder goes."""


# ---------------------------------------------------------------------------------------------------- datastores
@dataclass(frozen=True)
class FileEntry:
    """One file of a datastore.

    Attributes
    ----------
    path:
        POSIX path relative to the datastore root.
    size:
        Size in bytes.
    fingerprint:
        Changes whenever the content may have changed (the blob's etag; size + mtime for a folder).
    """

    path: str
    size: int
    fingerprint: str


class DatastoreBackend(abc.ABC):
    """The storage primitives a datastore kind implements (suite: :class:`jupyter_amlrun.testing.DatastoreContract`).

    Paths are ``/``-separated and relative to the store's root. The v1 API on top (parallel upload/download with
    progress, ``path()``, ``as_mount()``, registration) is :class:`jupyter_amlrun.data.Datastore`, written once for
    every kind: a new kind subclasses it and implements these methods, then registers its ``datastore_type`` in the
    ``jupyter_amlrun.datastore_backends`` entry-point group.
    """

    datastore_type: ClassVar[str] = ""
    name: str

    @classmethod
    @abc.abstractmethod
    def from_doc(cls, workspace: Workspace, doc: dict[str, Any]) -> DatastoreBackend:
        """The datastore its registration document ``doc`` describes; must not do network I/O."""

    @abc.abstractmethod
    def list_files(self, prefix: str) -> list[FileEntry]:
        """Every file under ``prefix`` (a folder, recursively; or exactly one file); ``[]`` when nothing is there."""

    @abc.abstractmethod
    def stat(self, path: str) -> FileEntry | None:
        """The file at ``path``, or ``None`` when there is no file there."""

    @abc.abstractmethod
    def list_dir(self, path: str) -> tuple[list[str], list[FileEntry]]:
        """One level under ``path``: (sub-folder names, files)."""

    @abc.abstractmethod
    def put_file(self, local: Path, path: str) -> None:
        """Store ``local`` at ``path`` atomically (readers see the old content or the new, never a part)."""

    @abc.abstractmethod
    def get_file(self, path: str, local: Path) -> None:
        """Write the content of ``path`` into the new file ``local``."""

    @abc.abstractmethod
    def remove(self, path: str) -> None:
        """Delete the file at ``path`` (no error when it is missing)."""

    @abc.abstractmethod
    def check_access(self, create: bool = False) -> None:
        """Raise a clear error when the store cannot be reached or used; ``create`` makes a missing container."""

    def local_root(self) -> Path | None:
        """The local folder of a folder datastore (used in place by mounts); ``None`` for remote stores."""
        return None

    def describe(self) -> dict[str, Any]:
        """Public fields (no secrets): what the sidebar and REST API show."""
        return {"name": self.name, "datastore_type": self.datastore_type}
