"""RayCompute (v1-style): a Ray cluster as a compute target, registered with the Ray backend (compute/ray.py)
as its ``target_class``; the generic document handling is :class:`~jupyter_amlrun.core.computetarget.ComputeTarget`'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jupyter_amlrun._util.fileio import file_lock
from jupyter_amlrun.core.computetarget import ClusterComputeTarget, doc_path
from jupyter_amlrun.core.registry import compute_backends
from jupyter_amlrun.runtime.errors import ComputeTargetException

if TYPE_CHECKING:
    pass

__all__ = ["RAY_TYPE", "RayCompute", "RayComputeAttachConfiguration", "RayComputeProvisioningConfiguration"]

RAY_TYPE = "Ray"


class RayComputeAttachConfiguration:
    """What ``RayCompute.attach_configuration`` returns: an existing Ray cluster's Job Submission address."""

    def __init__(self, address: str, python: str | None = None) -> None:
        self.address = address
        self.python = python

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"type": RAY_TYPE, "address": self.address, "managed": False}
        if self.python:
            doc["python"] = self.python
        return doc


class RayComputeProvisioningConfiguration:
    """What ``RayCompute.provisioning_configuration`` returns: a development head on this machine."""

    def __init__(self, num_cpus: int | None = None, num_gpus: int | None = None) -> None:
        for field, value in (("num_cpus", num_cpus), ("num_gpus", num_gpus)):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                raise ComputeTargetException(f"RayCompute.provisioning_configuration: {field} must be an integer >= 0.")
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus

    def to_doc(self) -> dict[str, Any]:
        return {"type": RAY_TYPE, "num_cpus": self.num_cpus, "num_gpus": self.num_gpus, "managed": True}


class RayCompute(ClusterComputeTarget):
    """A Ray cluster: runs are Ray jobs submitted through its Job Submission API (the backend: compute/ray.py).

    ``ComputeTarget.attach(ws, "ray", RayCompute.attach_configuration(address="http://head:8265"))`` uses an existing
    cluster; ``ComputeTarget.create(ws, "ray-dev", RayCompute.provisioning_configuration(num_cpus=2))`` starts a
    development head on 127.0.0.1 that ``delete()`` stops.
    """

    type = RAY_TYPE

    @staticmethod
    def attach_configuration(address: str = "http://127.0.0.1:8265", python: str | None = None) -> Any:
        """Describe an existing Ray cluster.

        Parameters
        ----------
        address:
            The head's Job Submission (dashboard) URL, ``http://<head>:8265``.
        python:
            The interpreter the jobs run the driver with on the cluster (default: this one's absolute path).
        """
        return RayComputeAttachConfiguration(address, python)

    @staticmethod
    def provisioning_configuration(num_cpus: int | None = None, num_gpus: int | None = None, **kwargs: Any) -> Any:
        """Describe a development head started on 127.0.0.1 (``ray start --head``) by ``ComputeTarget.create``.

        Parameters
        ----------
        num_cpus, num_gpus:
            The head's resources (default: Ray's detection).
        """
        if kwargs:
            raise ComputeTargetException(
                f"RayCompute.provisioning_configuration got unknown argument(s) {sorted(kwargs)}; it takes num_cpus "
                "and num_gpus."
            )
        return RayComputeProvisioningConfiguration(num_cpus, num_gpus)

    @property
    def address(self) -> str:
        return str(self._doc.get("address", ""))

    def delete(self) -> None:
        """Forget the target; a development head it started is stopped (an attached cluster is left running)."""
        if self._doc.get("managed"):
            compute_backends.load(RAY_TYPE).deprovision(self.workspace, self.name, self._doc)
        path = doc_path(self.workspace, self.name)
        with file_lock(path.with_suffix(".lock")):
            path.unlink(missing_ok=True)

    def detach(self) -> None:
        """Forget an attached cluster (the cluster keeps running)."""
        if self._doc.get("managed"):
            raise ComputeTargetException(
                f"{self.name!r} is a development head this workspace started; use delete() to stop it."
            )
        self.delete()
