"""v1's ``azureml.train.sklearn`` import path (deprecated in v1 too: use ScriptRunConfig)."""

from jupyter_amlrun.train.estimator import SKLearn

__all__ = ["SKLearn"]
