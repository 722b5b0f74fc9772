"""v1's ``azureml.train.estimator`` import path (estimators are deprecated in v1 too: use ScriptRunConfig)."""

from jupyter_amlrun.core.estimator import Estimator, Gloo, MMLBaseEstimator, Mpi, Nccl, ParameterServer
from jupyter_amlrun.core.runconfig import RunConfiguration

#: v1's run configuration class of estimators; the same RunConfiguration here.
MMLBaseEstimatorRunConfig = RunConfiguration

__all__ = [
    "Estimator",
    "Gloo",
    "MMLBaseEstimator",
    "MMLBaseEstimatorRunConfig",
    "Mpi",
    "Nccl",
    "ParameterServer",
]
