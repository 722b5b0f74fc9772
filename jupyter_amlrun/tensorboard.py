"""v1's ``azureml.tensorboard`` import path: ``from jupyter_amlrun.tensorboard import Tensorboard``."""

from jupyter_amlrun.core.tensorboard import Tensorboard, TensorboardException

__all__ = ["Tensorboard", "TensorboardException"]
