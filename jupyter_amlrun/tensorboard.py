"""v1's ``azureml.tensorboard`` import path: ``from jupyter_amlrun.tensorboard import Tensorboard``."""

from jupyter_amlrun.notebook.tensorboard import Tensorboard, TensorboardException

__all__ = ["Tensorboard", "TensorboardException"]
