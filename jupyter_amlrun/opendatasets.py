"""``from jupyter_amlrun.opendatasets import MNIST`` (v1: ``azureml.opendatasets``)."""

from jupyter_amlrun.data.opendatasets import MNIST

__all__ = ["MNIST"]
