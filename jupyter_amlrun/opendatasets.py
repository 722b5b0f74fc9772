"""``from jupyter_amlrun.opendatasets import MNIST, Diabetes`` (v1: ``azureml.opendatasets``)."""

from jupyter_amlrun.data.opendatasets import MNIST, Diabetes

__all__ = ["MNIST", "Diabetes"]
