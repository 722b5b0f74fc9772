"""The launch plan of a distributed run: which command each node starts, with which environment and rank logs.

A run whose spec has ``distributed`` (a ``PyTorchConfiguration`` or ``MpiConfiguration``, also the estimators'
``node_count`` / ``process_count_per_node`` / ``distributed_backend``) runs ``node_count`` x processes-per-node ranks.
This module only *plans*; the driver (or, later, a Ray actor on another machine) runs what it returns:

``plan_node(spec, node_rank, master_addr, master_port, paths, command=None) -> NodeLaunch | None``
    Pure: it depends only on its arguments (and on where this package's rank starter and ``mpirun`` lie on the
    machine that calls it), so each node can compute its own launch. ``spec`` is the run's :class:`RunSpec`,
    ``node_rank`` in ``range(topology(spec).nodes)``, ``master_addr``/``master_port`` where rank 0's node listens
    (pick the port with :func:`free_port` on that node), ``paths`` a :class:`LaunchPaths` (the node's working folder
    and log folders), ``command`` the script and its arguments after input placeholders were replaced (default:
    ``[spec.script, *spec.arguments]``). Returns None for a node that starts nothing itself (MPI: ``mpirun`` on
    node 0 starts every rank). Run ``launch.argv`` with ``cwd=paths.workdir``, the run's environment updated with
    ``launch.env``, its output to ``launch.launcher_log``; each rank writes ``launch.rank_logs[rank]`` itself.
``plan(spec, master_addr, master_port, paths, command=None) -> list[NodeLaunch]``
    Every node's launch, for a run whose nodes are process groups on this one machine (local targets).
``check_launchable(spec) -> str | None``
    Why the run cannot be launched here (torch missing from the run's interpreter, ``mpirun`` not on PATH), said
    with the fix; None when it can.
``backend_warning(topo) -> str | None``
    A warning for a backend this machine cannot serve (``nccl`` with no NVIDIA GPU visible); the run still starts,
    since the script picks its own backend in ``init_process_group``.

PyTorch ranks are started by torch's elastic launcher (``python -m torch.distributed.run`` under the run's own
interpreter, static rendezvous at ``master_addr:master_port``), which sets ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``,
``LOCAL_WORLD_SIZE``, ``GROUP_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``. MPI ranks are started by Open MPI's
``mpirun``, which sets ``OMPI_COMM_WORLD_*``. In both cases the rank starter (:mod:`jupyter_amlrun.compute._rank`)
adds the names the launcher left out (``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` from ``OMPI_*``, ``NODE_RANK``, v1's
``AZ_BATCHAI_TASK_INDEX``) and sends the rank's output to ``logs/user_logs/std_log_process_<rank>.txt``. Every node
also gets v1's ``AZ_BATCH_MASTER_NODE`` (``addr:port``), ``AZ_BATCHAI_MPI_MASTER_NODE`` and
``AZ_BATCHAI_JOB_MASTER_NODE_IP`` (``addr``), and ``AZUREML_FRAMEWORK`` / ``AZUREML_COMMUNICATOR``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_amlrun.runtime.runfolder import RunSpec

if TYPE_CHECKING:
    from jupyter_amlrun.compute.container import ContainerRun

RANK_STARTER = Path(__file__).with_name("_rank.py")
MPI_INSTALL_HINT = (
    "Install Open MPI on this machine (Debian/Ubuntu: `apt-get install openmpi-bin`, or `conda install -c conda-forge "
    "openmpi`) so that `mpirun` is on PATH, then submit again."
)
# Seconds between the elastic agent's checks of its ranks: a dying rank is noticed within this.
MONITOR_INTERVAL = 0.2


@dataclass(frozen=True)
class Topology:
    """What a distributed spec asks for: ``nodes`` x ``per_node`` ranks, launched by ``kind`` (pytorch or mpi)."""

    kind: str
    nodes: int
    per_node: int
    backend: str

    @property
    def world_size(self) -> int:
        return self.nodes * self.per_node


@dataclass(frozen=True)
class LaunchPaths:
    """Where one node runs: its working folder (the snapshot) and its log folders."""

    workdir: Path
    user_logs: Path  # logs/user_logs: one std_log_process_<rank>.txt per rank
    system_logs: Path  # logs/azureml: the launcher's own output, one file per node

    @classmethod
    def under(cls, run_root: Path) -> LaunchPaths:
        """The layout of a run folder (``wd/``, ``logs/user_logs``, ``logs/azureml``)."""
        return cls(run_root / "wd", run_root / "logs" / "user_logs", run_root / "logs" / "azureml")


@dataclass(frozen=True)
class NodeLaunch:
    """One node's launch: run ``argv`` with the run's environment updated by ``env``."""

    node_rank: int
    argv: list[str]
    env: dict[str, str]
    ranks: list[int]
    rank_logs: dict[int, Path]
    launcher_log: Path
    extra: dict[str, Any] = field(default_factory=dict)


class DistributedConfigError(ValueError):
    """The spec's distributed configuration cannot be launched as given (the message says how to fix it)."""


def topology(spec: RunSpec) -> Topology | None:
    """The ranks a spec asks for, or None when it is not a distributed run (no ``distributed`` or one process)."""
    dist = spec.distributed
    if not dist:
        return None
    kind = str(dist.get("type", ""))
    nodes = int(dist.get("node_count") or spec.node_count or 1)
    if kind == "PyTorchConfiguration":
        total = dist.get("process_count")
        total = nodes if total is None else int(total)
        if total % nodes:
            raise DistributedConfigError(
                f"PyTorchConfiguration(process_count={total}, node_count={nodes}): process_count is the total number "
                "of processes and must be a multiple of node_count (the same number on each node)."
            )
        topo = Topology("pytorch", nodes, total // nodes, str(dist.get("communication_backend", "nccl")).lower())
    elif kind == "MpiConfiguration":
        topo = Topology("mpi", nodes, int(dist.get("process_count_per_node") or 1), "mpi")
    else:
        # TensorflowConfiguration (parameter servers) is recorded but launched as one process, as before.
        return None
    return topo


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` now (the OS picks it), for rank 0's rendezvous."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _common_env(topo: Topology, node_rank: int, master_addr: str, master_port: int) -> dict[str, str]:
    return {
        "MASTER_ADDR": master_addr,
        "MASTER_PORT": str(master_port),
        "WORLD_SIZE": str(topo.world_size),
        "NODE_RANK": str(node_rank),
        "AZ_BATCH_MASTER_NODE": f"{master_addr}:{master_port}",
        "AZ_BATCHAI_MPI_MASTER_NODE": master_addr,
        "AZ_BATCHAI_JOB_MASTER_NODE_IP": master_addr,
        "AZ_BATCHAI_TASK_INDEX": str(node_rank),
        "AZUREML_FRAMEWORK": "PyTorch" if topo.kind == "pytorch" else "Python",
        "AZUREML_COMMUNICATOR": topo.backend.capitalize() if topo.kind == "pytorch" else "IntelMpi",
        "AMLRUN_PROCESSES_PER_NODE": str(topo.per_node),
    }


def plan_node(
    spec: RunSpec,
    node_rank: int,
    master_addr: str,
    master_port: int,
    paths: LaunchPaths,
    command: Sequence[str] | None = None,
) -> NodeLaunch | None:
    """The launch of node ``node_rank`` of a distributed run (see the module docstring); None for a node that
    starts nothing itself.

    Raises
    ------
    DistributedConfigError
        When the spec is not a distributed run or ``node_rank`` is out of range.
    """
    topo = topology(spec)
    if topo is None:
        raise DistributedConfigError(f"Run {spec.run_id} has no distributed configuration to launch.")
    if not 0 <= node_rank < topo.nodes:
        raise DistributedConfigError(f"node_rank must be in 0..{topo.nodes - 1}, got {node_rank}.")
    script = list(command) if command is not None else [spec.script, *spec.arguments]
    starter = [str(RANK_STARTER), str(paths.user_logs), *script]
    env = _common_env(topo, node_rank, master_addr, master_port)
    if topo.kind == "pytorch":
        ranks = list(range(node_rank * topo.per_node, (node_rank + 1) * topo.per_node))
        argv = [
            spec.interpreter,
            "-m",
            "torch.distributed.run",
            f"--nnodes={topo.nodes}",
            f"--node-rank={node_rank}",
            f"--nproc-per-node={topo.per_node}",
            f"--master-addr={master_addr}",
            f"--master-port={master_port}",
            "--rdzv-backend=static",
            "--max-restarts=0",
            f"--monitor-interval={MONITOR_INTERVAL}",
            *starter,
        ]
    else:
        if node_rank != 0:
            return None  # mpirun on node 0 starts the ranks of every node
        ranks = list(range(topo.world_size))
        mpirun = shutil.which("mpirun") or "mpirun"
        argv = [
            mpirun,
            "-np",
            str(topo.world_size),
            # Local "nodes" share this machine: more ranks than cores is allowed, none pinned to a core.
            "--oversubscribe",
            "--bind-to",
            "none",
            "--allow-run-as-root",
            # Pass the run's environment (its mark, workspace and run id included) to every rank.
            *[a for name in ("MASTER_ADDR", "MASTER_PORT", "AMLRUN_PROCESSES_PER_NODE") for a in ("-x", name)],
            spec.interpreter,
            *starter,
        ]
        env["OMPI_MCA_btl"] = "self,tcp"  # no shared-memory transport surprises in containers; loopback TCP works
    logs = {r: paths.user_logs / f"std_log_process_{r}.txt" for r in ranks}
    return NodeLaunch(node_rank, argv, env, ranks, logs, paths.system_logs / f"launcher_node_{node_rank}.txt")


def plan(
    spec: RunSpec,
    master_addr: str,
    master_port: int,
    paths: LaunchPaths,
    command: Sequence[str] | None = None,
) -> list[NodeLaunch]:
    """Every node's launch of a run whose nodes are process groups on this machine (nodes that start nothing are
    left out)."""
    topo = topology(spec)
    if topo is None:
        raise DistributedConfigError(f"Run {spec.run_id} has no distributed configuration to launch.")
    launches = (plan_node(spec, n, master_addr, master_port, paths, command) for n in range(topo.nodes))
    return [launch for launch in launches if launch is not None]


def backend_warning(topo: Topology) -> str | None:
    """Why the configured backend will likely fail here (nccl without a visible NVIDIA GPU), or None."""
    if topo.backend != "nccl" or any(Path("/dev").glob("nvidia[0-9]*")):
        return None
    return (
        "PyTorchConfiguration(communication_backend='Nccl') asks for NCCL, which needs NVIDIA GPUs, and none is "
        "visible on this machine: dist.init_process_group('nccl') will fail. Use communication_backend='Gloo' (and "
        "init_process_group('gloo')) on CPUs."
    )


def check_launchable(spec: RunSpec, container: ContainerRun | None = None) -> str | None:
    """Why the run's ranks cannot be launched on this machine (with how to fix it), or None.

    With ``container`` (the run's prepared container) torch is looked for in the run's image, not on the host.
    """
    try:
        topo = topology(spec)
    except DistributedConfigError as exc:
        return str(exc)
    if topo is None:
        return None
    if topo.kind == "mpi":
        if shutil.which("mpirun") is None:
            return (
                f"This run asks for MPI ({topo.nodes} node(s) x {topo.per_node} process(es)) but `mpirun` is not on "
                f"PATH. {MPI_INSTALL_HINT}"
            )
        return None
    probe = "import importlib.util, sys; sys.exit(importlib.util.find_spec('torch') is None)"
    try:
        if container is not None:
            env = {**os.environ, **{k: str(v) for k, v in spec.environment_variables.items()}}
            found = container.probe(probe, env).returncode == 0
        else:
            found = subprocess.run([spec.interpreter, "-c", probe], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.SubprocessError) as exc:
        return f"Could not start the run's interpreter {spec.interpreter} to look for torch: {exc}"
    if container is not None and not found:
        return (
            f"PyTorchConfiguration runs its ranks with torch's elastic launcher, but torch is not installed in the "
            f"run's image {container.image} ({spec.interpreter}). Add it to the environment's packages (a derived "
            "image is built with them), e.g. CondaDependencies.create(pip_packages=['torch']), or use an image "
            "that has torch."
        )
    if not found:
        return (
            f"PyTorchConfiguration runs its ranks with torch's elastic launcher, but torch is not installed in the "
            f"run's environment ({spec.interpreter}). Add it to the environment, e.g. "
            "CondaDependencies.create(pip_packages=['torch==2.13.0']), or use MpiConfiguration."
        )
    return None
