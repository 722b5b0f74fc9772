"""SlurmCompute (v1-style): an existing Slurm cluster attached as a compute target (the backend: compute/slurm.py).

``attach`` rather than ``provisioning_configuration``: a Slurm cluster is run by its site (partitions, accounts,
QOS are theirs), so the workspace attaches to it as v1 attaches a Kubernetes or remote VM target, and ``detach``
forgets it without touching the cluster. ``AmlCompute.provisioning_configuration`` creates a pool this workspace owns,
which is not what a Slurm user has.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

from jupyter_amlrun._util.fileio import file_lock, read_json, write_json_atomic
from jupyter_amlrun.core.computetarget import ClusterComputeTarget, ComputeTarget, check_name, doc_path, now_iso
from jupyter_amlrun.core.registry import compute_backends
from jupyter_amlrun.runtime.errors import ComputeTargetException

if TYPE_CHECKING:
    from jupyter_amlrun.core.workspace import Workspace

SLURM_TYPE = "Slurm"
_KEYS = (
    "partition",
    "account",
    "qos",
    "time_limit",
    "gpus_per_node",
    "extra_sbatch_args",
    "python",
    "slurm_conf",
    "slurm_bin_dir",
)


class SlurmComputeAttachConfiguration:
    """What ``SlurmCompute.attach_configuration`` returns: where and how the runs' jobs are submitted."""

    def __init__(self, check_shared_folder: bool = True, **fields: Any) -> None:
        self.fields = fields
        self.check_shared_folder = check_shared_folder

    def to_doc(self) -> dict[str, Any]:
        return {"type": SLURM_TYPE, "managed": False, **{k: v for k, v in self.fields.items() if v is not None}}

    def attach_target(self, workspace: Workspace, name: str) -> ComputeTarget:
        """Called by ``ComputeTarget.attach``."""
        return SlurmCompute._attach(workspace, name, self)


class SlurmCompute(ClusterComputeTarget):
    """A Slurm cluster: each run's driver is a Slurm batch job.

    ``ComputeTarget.attach(ws, "hpc", SlurmCompute.attach_configuration(partition="gpu"))``; then
    ``ScriptRunConfig(..., compute_target="hpc")``. ``ComputeTarget(ws, "hpc").get_status()`` reads ``sinfo`` and
    ``squeue``.
    """

    type = SLURM_TYPE

    @staticmethod
    def attach_configuration(
        partition: str | None = None,
        account: str | None = None,
        qos: str | None = None,
        time_limit: int | str | None = None,
        gpus_per_node: int | None = None,
        extra_sbatch_args: builtins.list[str] | None = None,
        python: str | None = None,
        slurm_conf: str | None = None,
        slurm_bin_dir: str | None = None,
        check_shared_folder: bool = True,
    ) -> SlurmComputeAttachConfiguration:
        """Describe an existing Slurm cluster.

        Parameters
        ----------
        partition, account, qos:
            ``sbatch --partition/--account/--qos`` (None: the cluster's defaults).
        time_limit:
            Each job's ``--time`` (minutes, or Slurm's ``HH:MM:SS``); a run's ``max_run_duration_seconds`` lowers it.
        gpus_per_node:
            Each job's ``--gpus-per-node`` (as a GPU VM size gives v1's AmlCompute its GPUs). None: a run that asks
            for GPUs (an estimator's ``use_gpu``, a CUDA base image) gets one per process on the node, other runs
            none. The cluster must offer them as ``gres`` (``GresTypes=gpu``).
        extra_sbatch_args:
            More ``sbatch`` options, e.g. ``["--gpus-per-node=1", "--mem=16G"]``.
        python:
            The interpreter the jobs run the driver with on the nodes (default: this one's absolute path).
        slurm_conf, slurm_bin_dir:
            A ``SLURM_CONF`` and a folder of the Slurm commands, when not the defaults of this login node.
        check_shared_folder:
            Check at attach (a one-task ``srun``) that the compute nodes see the workspace folder.
        """
        if extra_sbatch_args is not None and (
            isinstance(extra_sbatch_args, str) or not all(isinstance(a, str) for a in extra_sbatch_args)
        ):
            raise ComputeTargetException('extra_sbatch_args must be a list of strings, e.g. ["--mem=16G"].')
        if gpus_per_node is not None and (
            isinstance(gpus_per_node, bool) or not isinstance(gpus_per_node, int) or gpus_per_node < 0
        ):
            raise ComputeTargetException(
                f"gpus_per_node must be a whole number of GPUs (0 or more), got {gpus_per_node!r}."
            )
        return SlurmComputeAttachConfiguration(
            check_shared_folder,
            partition=partition,
            account=account,
            qos=qos,
            time_limit=time_limit,
            gpus_per_node=gpus_per_node,
            extra_sbatch_args=list(extra_sbatch_args) if extra_sbatch_args else None,
            python=python,
            slurm_conf=slurm_conf,
            slurm_bin_dir=slurm_bin_dir,
        )

    @staticmethod
    def _attach(workspace: Workspace, name: str, config: SlurmComputeAttachConfiguration) -> ComputeTarget:
        check_name(name)
        doc = config.to_doc()
        backend: Any = compute_backends.load(SLURM_TYPE)(workspace, name, doc)
        backend.check_cluster()  # no sbatch, a partition or account Slurm refuses: refused before anything is written
        if config.check_shared_folder:
            backend.check_shared_folder()
        path = doc_path(workspace, name)
        with file_lock(path.with_suffix(".lock")):
            existing = read_json(path)
            if existing is not None:
                if {k: existing.get(k) for k in _KEYS} != {k: doc.get(k) for k in _KEYS}:
                    raise ComputeTargetException(
                        f"Compute target {name!r} already exists with a different configuration (type "
                        f"{existing.get('type')}, partition {existing.get('partition')}). Use ComputeTarget(ws, "
                        f"{name!r}), or detach() it first."
                    )
            else:
                doc["created"] = now_iso()
                write_json_atomic(path, doc)
        return ComputeTarget(workspace, name)

    @property
    def partition(self) -> str | None:
        return self._doc.get("partition")

    def detach(self) -> None:
        """Forget the cluster (it keeps running; jobs already submitted stay Slurm's)."""
        path = doc_path(self.workspace, self.name)
        with file_lock(path.with_suffix(".lock")):
            path.unlink(missing_ok=True)

    def delete(self) -> None:
        """An attached cluster is not this workspace's to delete: same as :meth:`detach`."""
        self.detach()
