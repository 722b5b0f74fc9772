"""v1's ``azureml.core.script_run_config`` import path."""

from jupyter_amlrun.core.runconfig import ScriptRunConfig, get_run_config_from_script_run, submit

__all__ = ["ScriptRunConfig", "get_run_config_from_script_run", "submit"]
