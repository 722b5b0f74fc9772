"""v1's ``azureml.tensorboard`` import path: ``from jupyter_amlrun.tensorboard import Tensorboard``;
``jupyter_amlrun.tensorboard.export.export_to_tensorboard`` writes a run's metrics as event files."""

from jupyter_amlrun.notebook.tensorboard import Tensorboard, TensorboardException

__all__ = ["Tensorboard", "TensorboardException"]
