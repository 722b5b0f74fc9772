"""v1's ``azureml.core.script_run`` import path: a submitted script's run is a :class:`Run` here."""

from jupyter_amlrun.core.run import Run

#: v1's class of runs made by ``experiment.submit(ScriptRunConfig)``; the same class here, so
#: ``isinstance(run, ScriptRun)`` holds for every run.
ScriptRun = Run

__all__ = ["ScriptRun"]
