"""v1's ``azureml.train.hyperdrive.runconfig`` import path."""

from jupyter_amlrun.train.hyperdrive.config import HyperDriveConfig, HyperDriveRunConfig, PrimaryMetricGoal

__all__ = ["HyperDriveConfig", "HyperDriveRunConfig", "PrimaryMetricGoal"]
