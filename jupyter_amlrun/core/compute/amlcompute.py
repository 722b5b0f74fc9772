"""v1's ``azureml.core.compute.amlcompute`` import path."""

from jupyter_amlrun.core.compute.configs import AmlComputeNodeStateCounts, ScaleSettings
from jupyter_amlrun.core.computetarget import AmlCompute, AmlComputeProvisioningConfiguration, AmlComputeStatus

__all__ = [
    "AmlCompute",
    "AmlComputeNodeStateCounts",
    "AmlComputeProvisioningConfiguration",
    "AmlComputeStatus",
    "ScaleSettings",
]
