"""``from jupyter_amlrun.exceptions import ...`` (v1: ``azureml.exceptions``): the v1 exception names."""

from jupyter_amlrun.core.errors import (
    ActivityFailedException,
    ComputeTargetException,
    ExperimentExecutionException,
    NotSupportedLocallyError,
    RunConfigurationException,
    SnapshotException,
    UserErrorException,
    WorkspaceException,
)

__all__ = [
    "ActivityFailedException",
    "ComputeTargetException",
    "ExperimentExecutionException",
    "NotSupportedLocallyError",
    "RunConfigurationException",
    "SnapshotException",
    "UserErrorException",
    "WorkspaceException",
]
