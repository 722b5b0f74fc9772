"""v1's ``azureml.core.compute.compute`` import path."""

from jupyter_amlrun.core.compute.configs import (
    ComputeTargetAttachConfiguration,
    ComputeTargetProvisioningConfiguration,
    ComputeTargetUpdateConfiguration,
)
from jupyter_amlrun.core.computetarget import ComputeTarget

__all__ = [
    "ComputeTarget",
    "ComputeTargetAttachConfiguration",
    "ComputeTargetProvisioningConfiguration",
    "ComputeTargetUpdateConfiguration",
]
