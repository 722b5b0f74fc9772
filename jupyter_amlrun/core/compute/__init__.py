"""v1's ``azureml.core.compute`` import path: every compute target class (local ones real, Azure-only ones refused)."""

from jupyter_amlrun.core.compute.configs import (
    AmlComputeNodeStateCounts,
    ComputeTargetAttachConfiguration,
    ComputeTargetProvisioningConfiguration,
    ComputeTargetUpdateConfiguration,
    ScaleSettings,
)
from jupyter_amlrun.core.compute.refused import (
    AdlaCompute,
    AksCompute,
    BatchCompute,
    DatabricksCompute,
    DataFactoryCompute,
    DsvmCompute,
    HDInsightCompute,
    KubernetesCompute,
    KustoCompute,
    RemoteCompute,
    SynapseCompute,
)
from jupyter_amlrun.core.computeinstance import (
    ComputeInstance,
    ComputeInstanceProvisioningConfiguration,
    ComputeInstanceStatus,
)
from jupyter_amlrun.core.computetarget import (
    AmlCompute,
    AmlComputeProvisioningConfiguration,
    AmlComputeStatus,
    ComputeTarget,
)
from jupyter_amlrun.runtime.errors import ComputeTargetException

__all__ = [
    "AdlaCompute",
    "AksCompute",
    "AmlCompute",
    "AmlComputeNodeStateCounts",
    "AmlComputeProvisioningConfiguration",
    "AmlComputeStatus",
    "BatchCompute",
    "ComputeInstance",
    "ComputeInstanceProvisioningConfiguration",
    "ComputeInstanceStatus",
    "ComputeTarget",
    "ComputeTargetAttachConfiguration",
    "ComputeTargetException",
    "ComputeTargetProvisioningConfiguration",
    "ComputeTargetUpdateConfiguration",
    "DataFactoryCompute",
    "DatabricksCompute",
    "DsvmCompute",
    "HDInsightCompute",
    "KubernetesCompute",
    "KustoCompute",
    "RemoteCompute",
    "ScaleSettings",
    "SynapseCompute",
]
