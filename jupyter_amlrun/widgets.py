"""v1's ``azureml.widgets`` import path: ``from jupyter_amlrun.widgets import RunDetails``."""

from jupyter_amlrun.notebook.widget import RunDetails
from jupyter_amlrun.runtime.errors import refused_class

ParallelRunStepDetails = refused_class(
    "ParallelRunStepDetails",
    "Pipelines (ParallelRunStep) are not provided; RunDetails(run).show() shows any run and its children.",
    __name__,
)

__all__ = ["ParallelRunStepDetails", "RunDetails"]
