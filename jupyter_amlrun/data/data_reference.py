"""v1's ``azureml.data.data_reference`` import path."""

from jupyter_amlrun.data.reference import DataReference

__all__ = ["DataReference"]
