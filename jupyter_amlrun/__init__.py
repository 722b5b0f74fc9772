"""jupyter_amlrun: the Azure ML SDK v1 notebook experience, open and local-first.

Public names load lazily so that ``import jupyter_amlrun`` stays cheap (training scripts import it for
``Run.get_context()``) and the core never pulls in Jupyter.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
VERSION = __version__  # v1: azureml.core.VERSION, printed in the first cell of most tutorials

_EXPORTS: dict[str, str] = {
    "Workspace": "jupyter_amlrun.core.workspace",
    "Experiment": "jupyter_amlrun.core.experiment",
    "Run": "jupyter_amlrun.core.run",
    "ScriptRunConfig": "jupyter_amlrun.core.runconfig",
    "RunConfiguration": "jupyter_amlrun.core.runconfig",
    "MpiConfiguration": "jupyter_amlrun.core.runconfig",
    "PyTorchConfiguration": "jupyter_amlrun.core.runconfig",
    "TensorflowConfiguration": "jupyter_amlrun.core.runconfig",
    "DockerConfiguration": "jupyter_amlrun.core.runconfig",
    "Estimator": "jupyter_amlrun.train.estimator",
    "PyTorch": "jupyter_amlrun.train.estimator",
    "SKLearn": "jupyter_amlrun.train.estimator",
    "Chainer": "jupyter_amlrun.train.estimator",
    "TensorFlow": "jupyter_amlrun.train.estimator",
    "Mpi": "jupyter_amlrun.train.estimator",
    "Gloo": "jupyter_amlrun.train.estimator",
    "Nccl": "jupyter_amlrun.train.estimator",
    "ParameterServer": "jupyter_amlrun.train.estimator",
    "Environment": "jupyter_amlrun.core.environment",
    "CondaDependencies": "jupyter_amlrun.core.environment",
    "Model": "jupyter_amlrun.core.model",
    "ComputeTarget": "jupyter_amlrun.core.computetarget",
    "AmlCompute": "jupyter_amlrun.core.computetarget",
    "RayCompute": "jupyter_amlrun.compute.raycompute",
    "SlurmCompute": "jupyter_amlrun.compute.slurmcompute",
    "RunStatus": "jupyter_amlrun.runtime.status",
    "ComputeTargetException": "jupyter_amlrun.runtime.errors",
    "UserErrorException": "jupyter_amlrun.runtime.errors",
    "NotSupportedLocallyError": "jupyter_amlrun.runtime.errors",
    "Datastore": "jupyter_amlrun.data.datastore",
    "Dataset": "jupyter_amlrun.data.dataset",
    "OutputFileDatasetConfig": "jupyter_amlrun.data.output",
    "RunDetails": "jupyter_amlrun.notebook.widget",
    # the rest of v1's azureml.core names, so `from azureml.core import X` ports to `from jupyter_amlrun import X`
    "ScriptRun": "jupyter_amlrun.core.script_run",
    "Keyvault": "jupyter_amlrun.runtime.keyvault",
    "ContainerRegistry": "jupyter_amlrun.core.container_registry",
    "diagnostic_log": "jupyter_amlrun.telemetry",
    "get_run": "jupyter_amlrun.core.run_v1",
    "attach_legacy_compute_target": "jupyter_amlrun.core.compute_target",
    "remove_legacy_compute_target": "jupyter_amlrun.core.compute_target",
    "prepare_compute_target": "jupyter_amlrun.core.compute_target",
    "is_compute_target_prepared": "jupyter_amlrun.core.compute_target",
    # out of scope (deployment, Synapse), importable so a port gets to the line that uses them and a clear refusal
    "Webservice": "jupyter_amlrun.core.webservice",
    "LinkedService": "jupyter_amlrun.core.linked_service",
    "SynapseWorkspaceLinkedServiceConfiguration": "jupyter_amlrun.core.linked_service",
}

__all__ = [*_EXPORTS, "VERSION", "__version__", "load_ipython_extension", "unload_ipython_extension"]

if TYPE_CHECKING:
    from jupyter_amlrun.compute.raycompute import RayCompute
    from jupyter_amlrun.compute.slurmcompute import SlurmCompute
    from jupyter_amlrun.core.computetarget import AmlCompute, ComputeTarget
    from jupyter_amlrun.core.environment import CondaDependencies, Environment
    from jupyter_amlrun.core.experiment import Experiment
    from jupyter_amlrun.core.model import Model
    from jupyter_amlrun.core.run import Run
    from jupyter_amlrun.core.runconfig import (
        DockerConfiguration,
        MpiConfiguration,
        PyTorchConfiguration,
        RunConfiguration,
        ScriptRunConfig,
        TensorflowConfiguration,
    )
    from jupyter_amlrun.core.workspace import Workspace
    from jupyter_amlrun.data.output import OutputFileDatasetConfig
    from jupyter_amlrun.runtime.errors import ComputeTargetException, NotSupportedLocallyError, UserErrorException
    from jupyter_amlrun.runtime.status import RunStatus
    from jupyter_amlrun.train.estimator import (
        Chainer,
        Estimator,
        Gloo,
        Mpi,
        Nccl,
        ParameterServer,
        PyTorch,
        SKLearn,
        TensorFlow,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'jupyter_amlrun' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where JupyterLab finds the prebuilt sidebar extension (``jupyter labextension develop`` links it).

    Returns
    -------
    list of dict
        ``src``: the built extension relative to this package; ``dest``: its name under share/jupyter/labextensions.
    """
    return [{"src": "labextension", "dest": "jupyter_amlrun"}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """The Jupyter server extension (the sidebar's REST API under ``/amlrun/api/``)."""
    from jupyter_amlrun.server.app import AmlrunExtension

    return [{"module": "jupyter_amlrun.server.app", "app": AmlrunExtension}]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyter_amlrun``: registers %%submit, %submit and %amlrun."""
    from jupyter_amlrun.notebook.magics import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from jupyter_amlrun.notebook.magics import unload_ipython_extension as _unload

    _unload(ipython)
