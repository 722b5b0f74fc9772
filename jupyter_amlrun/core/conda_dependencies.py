"""v1's ``azureml.core.conda_dependencies`` import path."""

from jupyter_amlrun.core.environment import CondaDependencies

__all__ = ["CondaDependencies"]
