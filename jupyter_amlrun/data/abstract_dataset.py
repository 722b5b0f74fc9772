"""v1's ``azureml.data.abstract_dataset``: the base of every dataset is :class:`Dataset` here."""

from jupyter_amlrun.data.dataset import Dataset

AbstractDataset = Dataset

__all__ = ["AbstractDataset"]
