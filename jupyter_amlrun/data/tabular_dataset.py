"""v1's ``azureml.data.tabular_dataset`` import path."""

from jupyter_amlrun.data.dataset import TabularDataset

__all__ = ["TabularDataset"]
