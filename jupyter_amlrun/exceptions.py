"""``from jupyter_amlrun.exceptions import ...`` (v1: ``azureml.exceptions``): the v1 exception names.

Every error of jupyter_amlrun derives from ``AzureMLException`` and has v1's ``message``, ``inner_exception`` and
``print_stacktrace()``.
"""

from jupyter_amlrun.runtime.errors import (
    ActivityFailedException,
    AuthenticationException,
    AzureMLAggregatedException,
    AzureMLException,
    ComputeTargetException,
    DatasetTimestampMissingError,
    DiscoveryUrlNotFoundException,
    ExperimentExecutionException,
    ModelNotFoundException,
    ModelPathNotFoundException,
    NotSupportedLocallyError,
    ParallelRunException,
    ProjectSystemException,
    RunConfigurationException,
    RunEnvironmentException,
    ServiceException,
    SnapshotException,
    TrainingException,
    UserErrorException,
    WebserviceException,
    WorkspaceException,
    WorkspacePrivateEndpointException,
)

__all__ = [
    "ActivityFailedException",
    "AuthenticationException",
    "AzureMLAggregatedException",
    "AzureMLException",
    "ComputeTargetException",
    "DatasetTimestampMissingError",
    "DiscoveryUrlNotFoundException",
    "ExperimentExecutionException",
    "ModelNotFoundException",
    "ModelPathNotFoundException",
    "NotSupportedLocallyError",
    "ParallelRunException",
    "ProjectSystemException",
    "RunConfigurationException",
    "RunEnvironmentException",
    "ServiceException",
    "SnapshotException",
    "TrainingException",
    "UserErrorException",
    "WebserviceException",
    "WorkspaceException",
    "WorkspacePrivateEndpointException",
]
