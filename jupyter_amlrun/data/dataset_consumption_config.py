"""v1's ``azureml.data.dataset_consumption_config`` import path."""

from jupyter_amlrun.data.dataset import DatasetConsumptionConfig

__all__ = ["DatasetConsumptionConfig"]
