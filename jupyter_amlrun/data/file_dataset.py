"""v1's ``azureml.data.file_dataset`` import path."""

from jupyter_amlrun.data.dataset import FileDataset

__all__ = ["FileDataset"]
