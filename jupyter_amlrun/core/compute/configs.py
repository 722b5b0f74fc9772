"""v1's compute configuration bases and value classes (``azureml.core.compute.compute`` / ``.amlcompute``)."""

from __future__ import annotations

from typing import Any

from jupyter_amlrun.runtime.errors import ComputeTargetException


class ComputeTargetProvisioningConfiguration:
    """Base of provisioning configurations (v1); the local ones are AmlCompute/ComputeInstance/RayCompute's."""

    def __init__(self, type: Any = None, location: str | None = None) -> None:
        self.type = type
        self.location = location

    def validate_configuration(self) -> None:
        """A bare base configuration describes nothing to create."""
        raise ComputeTargetException(
            "Use AmlCompute.provisioning_configuration(max_nodes=N) or ComputeInstance.provisioning_configuration()."
        )


class ComputeTargetAttachConfiguration(ComputeTargetProvisioningConfiguration):
    """Base of attach configurations (v1); the local one is ``RayCompute.attach_configuration(address)``."""

    def validate_configuration(self) -> None:
        raise ComputeTargetException("Use RayCompute.attach_configuration(address) to attach a Ray cluster.")


class ComputeTargetUpdateConfiguration(ComputeTargetProvisioningConfiguration):
    """Base of update configurations (v1); update a local pool with ``compute.update(max_nodes=...)``."""

    def validate_configuration(self) -> None:
        raise ComputeTargetException("Update a local pool with compute.update(min_nodes=..., max_nodes=...).")


class ScaleSettings:
    """A pool's scale settings (v1 ``ScaleSettings``)."""

    def __init__(
        self, minimum_node_count: int = 0, maximum_node_count: int = 1, node_idle_time_before_scale_down: int = 1800
    ) -> None:
        self.minimum_node_count = minimum_node_count
        self.maximum_node_count = maximum_node_count
        self.node_idle_time_before_scale_down = node_idle_time_before_scale_down

    def serialize(self) -> dict[str, Any]:
        return {
            "minNodeCount": self.minimum_node_count,
            "maxNodeCount": self.maximum_node_count,
            "nodeIdleTimeBeforeScaleDown": f"PT{self.node_idle_time_before_scale_down}S",
        }

    @staticmethod
    def deserialize(object_dict: dict[str, Any]) -> ScaleSettings:
        idle = str(object_dict.get("nodeIdleTimeBeforeScaleDown") or "PT0S")
        return ScaleSettings(
            int(object_dict.get("minNodeCount") or 0),
            int(object_dict.get("maxNodeCount") or 0),
            int(idle[2:-1] or 0) if idle.startswith("PT") else 0,
        )


class AmlComputeNodeStateCounts:
    """How many nodes of a pool are in each state (v1 ``AmlComputeNodeStateCounts``)."""

    _FIELDS = ("idle", "leaving", "preempted", "preparing", "running", "unusable")

    def __init__(
        self,
        idle_node_count: int = 0,
        leaving_node_count: int = 0,
        preempted_node_count: int = 0,
        preparing_node_count: int = 0,
        running_node_count: int = 0,
        unusable_node_count: int = 0,
    ) -> None:
        self.idle_node_count = idle_node_count
        self.leaving_node_count = leaving_node_count
        self.preempted_node_count = preempted_node_count
        self.preparing_node_count = preparing_node_count
        self.running_node_count = running_node_count
        self.unusable_node_count = unusable_node_count

    def serialize(self) -> dict[str, int]:
        return {f"{f}NodeCount": getattr(self, f"{f}_node_count") for f in self._FIELDS}

    @staticmethod
    def deserialize(object_dict: dict[str, Any]) -> AmlComputeNodeStateCounts:
        return AmlComputeNodeStateCounts(
            **{f"{f}_node_count": int(object_dict.get(f"{f}NodeCount") or 0) for f in AmlComputeNodeStateCounts._FIELDS}
        )
