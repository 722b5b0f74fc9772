"""v1 ``ComputeInstance``: a local pool of one node (an AmlCompute pool with ``max_nodes=1``).

A compute instance in v1 is one VM a person works and runs on. Here it is a pool of one node slot on this machine:
runs submitted to it queue behind each other, exactly one at a time, through the same local backend as AmlCompute.
Starting, stopping and restarting a VM have nothing to act on locally; they say so and change nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jupyter_amlrun.core.computetarget import (
    AmlCompute,
    AmlComputeProvisioningConfiguration,
    AmlComputeStatus,
    ComputeTarget,
)
from jupyter_amlrun.runtime.errors import ComputeTargetException, refused

if TYPE_CHECKING:
    from jupyter_amlrun.core.workspace import Workspace

KIND = "ComputeInstance"


class ComputeInstanceProvisioningConfiguration(AmlComputeProvisioningConfiguration):
    """What ``ComputeInstance.provisioning_configuration`` returns: a one-node pool."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            vm_size=kwargs.get("vm_size"),
            min_nodes=0,
            max_nodes=1,
            tags=kwargs.get("tags"),
            description=kwargs.get("description"),
        )

    def validate_configuration(self) -> None:
        super().validate_configuration()
        if self.max_nodes != 1:
            raise ComputeTargetException("A ComputeInstance is one node (max_nodes=1).")

    def to_doc(self) -> dict[str, Any]:
        doc = super().to_doc()
        doc["kind"] = KIND  # type stays AmlCompute: the same local backend runs it
        return doc


class ComputeInstanceStatus(AmlComputeStatus):
    """Live status of the instance; ``state`` is ``"Running"`` (busy) or ``"Idle"``."""

    @property
    def state(self) -> str:
        return "Running" if self.node_state_counts.get("runningNodeCount") else "Idle"

    def serialize(self) -> dict[str, Any]:
        out = super().serialize()
        out["state"] = self.state
        return out

    @staticmethod
    def deserialize(object_dict: dict[str, Any]) -> ComputeInstanceStatus:
        base = AmlComputeStatus.deserialize(object_dict)
        status = ComputeInstanceStatus.__new__(ComputeInstanceStatus)
        status.__dict__.update(base.__dict__)
        return status


class ComputeInstance(AmlCompute):
    """A local pool of one node (v1 ``ComputeInstance``): one run at a time, the others queue.

    Create it as in v1::

        config = ComputeInstance.provisioning_configuration(vm_size="STANDARD_D3_V2")
        instance = ComputeInstance.create(ws, "my-instance", config)
        instance.wait_for_completion(show_output=True)
    """

    type = KIND

    @staticmethod
    def provisioning_configuration(  # type: ignore[override]
        vm_size: str = "",
        ssh_public_access: bool = False,
        admin_user_ssh_public_key: str | None = None,
        vnet_resourcegroup_name: str | None = None,
        vnet_name: str | None = None,
        subnet_name: str | None = None,
        tags: dict[str, str] | None = None,
        description: str | None = None,
        assigned_user_object_id: str | None = None,
        assigned_user_tenant_id: str | None = None,
        **kwargs: Any,
    ) -> ComputeInstanceProvisioningConfiguration:
        """Describe the instance; SSH, network and user assignment have no local meaning and are ignored."""
        return ComputeInstanceProvisioningConfiguration(vm_size=vm_size, tags=tags, description=description)

    @staticmethod
    def create(workspace: Workspace, name: str, provisioning_configuration: Any) -> ComputeTarget:
        """Create the one-node pool (same as ``ComputeTarget.create``)."""
        if not isinstance(provisioning_configuration, ComputeInstanceProvisioningConfiguration):
            raise ComputeTargetException(
                "provisioning_configuration must come from ComputeInstance.provisioning_configuration(...)."
            )
        return ComputeTarget.create(workspace, name, provisioning_configuration)

    def get_status(self) -> ComputeInstanceStatus:
        base = super().get_status()
        status = ComputeInstanceStatus.__new__(ComputeInstanceStatus)
        status.__dict__.update(base.__dict__)
        return status

    def _say(self, what: str, show_output: bool) -> None:
        if show_output:
            print(
                f"{what}: {self.name} is a local pool of one node; there is no VM to {what.lower()}. Nothing changed."
            )

    def start(self, wait_for_completion: bool = True, show_output: bool = False) -> None:
        """Nothing to start: the pool takes runs whenever it exists."""
        self._say("Start", show_output)

    def stop(self, wait_for_completion: bool = True, show_output: bool = False) -> None:
        """Nothing to stop: the node is only busy while a run runs (cancel runs with ``run.cancel()``)."""
        self._say("Stop", show_output)

    def restart(self, wait_for_completion: bool = True, show_output: bool = False) -> None:
        """Nothing to restart."""
        self._say("Restart", show_output)

    def delete(self, wait_for_completion: bool = False, show_output: bool = False) -> None:
        """Delete the instance (refused while it runs something)."""
        super().delete()

    @staticmethod
    def get_docs_url() -> str:
        """The project's page on v1 names (what ComputeInstance means here)."""
        return "docs/v1-surface.md#compute"

    update_sso_settings = refused(
        "ComputeInstance.update_sso_settings", "A local instance has no single sign-on; it runs as your user."
    )
