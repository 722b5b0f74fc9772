"""The v1 import path of ComputeTarget and AmlCompute (they live in :mod:`jupyter_amlrun.core.computetarget`)."""

from jupyter_amlrun.core.computetarget import (
    AmlCompute,
    AmlComputeProvisioningConfiguration,
    AmlComputeStatus,
    ComputeTarget,
)
from jupyter_amlrun.runtime.errors import ComputeTargetException

__all__ = [
    "AmlCompute",
    "AmlComputeProvisioningConfiguration",
    "AmlComputeStatus",
    "ComputeTarget",
    "ComputeTargetException",
]
