"""v1's ``azureml.core.keyvault`` import path (the workspace's secrets: :mod:`jupyter_amlrun.runtime.keyvault`)."""

from jupyter_amlrun.runtime.keyvault import Keyvault

__all__ = ["Keyvault"]
