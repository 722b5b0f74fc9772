"""v1's ``azureml.core.compute.computeinstance`` import path."""

from jupyter_amlrun.core.computeinstance import (
    ComputeInstance,
    ComputeInstanceProvisioningConfiguration,
    ComputeInstanceStatus,
)

__all__ = ["ComputeInstance", "ComputeInstanceProvisioningConfiguration", "ComputeInstanceStatus"]
