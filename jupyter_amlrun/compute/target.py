"""The v1 import path of ComputeTarget and AmlCompute (they live in :mod:`jupyter_amlrun.core.computetarget`)."""

from jupyter_amlrun.core.computetarget import (
    AmlCompute,
    AmlComputeProvisioningConfiguration,
    AmlComputeStatus,
    ComputeTarget,
)

__all__ = ["AmlCompute", "AmlComputeProvisioningConfiguration", "AmlComputeStatus", "ComputeTarget"]
