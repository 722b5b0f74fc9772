"""Estimators (v1 ``azureml.train``): deprecated in v1 too, kept so older notebooks port unchanged.

Each estimator builds a :class:`ScriptRunConfig` and submits it; ``script_params`` become arguments the v1 way.
"""

from __future__ import annotations

import builtins
import logging
from typing import TYPE_CHECKING, Any

from jupyter_amlrun.core.environment import DEFAULT_GPU_IMAGE, CondaDependencies, Environment
from jupyter_amlrun.core.runconfig import MpiConfiguration, PyTorchConfiguration, RunConfiguration, ScriptRunConfig
from jupyter_amlrun.runtime.errors import RunConfigurationException, UserErrorException

if TYPE_CHECKING:
    from jupyter_amlrun.core.experiment import Experiment
    from jupyter_amlrun.core.run import Run

log = logging.getLogger(__name__)


class _DistributedTraining:
    """v1's base of the ``distributed_training=`` values; ``validate`` checks the framework takes this backend."""

    _ALLOWED_BY: dict[str, tuple[str, ...]] = {
        "Python": ("mpi",),
        "Chainer": ("mpi",),
        "PyTorch": ("mpi", "gloo", "nccl"),
        "TensorFlow": ("mpi", "ps"),
    }

    def validate(self, framework_name: str) -> None:
        """Raise when ``framework_name``'s estimator cannot use this backend (v1's rule)."""
        allowed = self._ALLOWED_BY.get(framework_name, ("mpi",))
        if str(self) not in allowed:
            raise UserErrorException(
                f"{framework_name} does not support distributed backend {str(self)!r}; supported: {list(allowed)}."
            )


class Mpi(_DistributedTraining):
    """``distributed_training=Mpi(process_count_per_node)``."""

    def __init__(self, process_count_per_node: int = 1) -> None:
        self.process_count_per_node = process_count_per_node

    def __str__(self) -> str:
        return "mpi"


class Gloo(_DistributedTraining):
    def __str__(self) -> str:
        return "gloo"


class Nccl(_DistributedTraining):
    def __str__(self) -> str:
        return "nccl"


class ParameterServer(_DistributedTraining):
    def __init__(self, worker_count: int = 1, parameter_server_count: int = 1) -> None:
        self.worker_count = worker_count
        self.parameter_server_count = parameter_server_count

    def __str__(self) -> str:
        return "ps"


def script_params_to_arguments(script_params: dict[str, Any] | None) -> builtins.list[Any]:
    """v1's flattening: ``{k: v}`` -> ``[k, v, ...]``; list values expand; None and '' are dropped."""
    out: builtins.list[Any] = []
    for key, value in (script_params or {}).items():
        for item in (key, *(value if isinstance(value, list | tuple) else [value])):
            if item is None or item == "":
                continue
            out.append(item)
    return out


class Estimator:
    """A generic estimator: ``entry_script`` from ``source_directory`` with ``script_params``.

    Deprecated (as in v1): use :class:`ScriptRunConfig`.
    """

    _SUPPORTED_BACKENDS: tuple[str, ...] = ("mpi",)
    _FRAMEWORK = "Python"
    DEFAULT_VERSION: str | None = None
    _VERSIONS: tuple[str, ...] = ()
    FRAMEWORK_NAME: str | None = None  # v1: the framework's name on the framework estimators
    # class-level defaults of what each instance sets (v1 code may read them on the class)
    source_directory: str = ""
    framework_version: str | None = None

    def __init__(
        self,
        source_directory: str,
        *,
        compute_target: Any = None,
        vm_size: str | None = None,
        vm_priority: str | None = None,
        entry_script: str | None = None,
        script_params: dict[str, Any] | None = None,
        node_count: int = 1,
        process_count_per_node: int = 1,
        distributed_backend: str | None = None,
        distributed_training: Any = None,
        use_gpu: bool = False,
        use_docker: bool | None = None,
        custom_docker_image: str | None = None,
        user_managed: bool = False,
        conda_packages: builtins.list[str] | None = None,
        pip_packages: builtins.list[str] | None = None,
        conda_dependencies_file: str | None = None,
        pip_requirements_file: str | None = None,
        environment_variables: dict[str, str] | None = None,
        environment_definition: Environment | None = None,
        inputs: builtins.list[Any] | None = None,
        shm_size: str | None = None,
        max_run_duration_seconds: int | None = None,
        framework_version: str | None = None,
        **kwargs: Any,
    ) -> None:
        log.warning("%s is deprecated (as in Azure ML v1); use ScriptRunConfig instead.", type(self).__name__)
        if not isinstance(node_count, int) or node_count < 1:
            raise RunConfigurationException("Node count should be at least 1.")
        backend = str(distributed_training or distributed_backend or "").lower() or None
        if (node_count > 1 or process_count_per_node > 1) and backend is None:
            raise RunConfigurationException(
                "'distributed_backend' or 'distributed_training' must be specified when node_count > 1 or "
                "process_count_per_node > 1."
            )
        if backend is not None and backend not in self._SUPPORTED_BACKENDS:
            raise RunConfigurationException(
                f"{backend!r} is not a supported distributed backend for {type(self).__name__}; use one of "
                f"{list(self._SUPPORTED_BACKENDS)}."
            )
        if environment_definition is not None:
            conflicts = [
                name
                for name, value in (
                    ("pip_packages", pip_packages),
                    ("conda_packages", conda_packages),
                    ("custom_docker_image", custom_docker_image),
                    ("use_gpu", use_gpu or None),
                    ("user_managed", user_managed or None),
                    ("shm_size", shm_size),
                )
                if value
            ]
            if conflicts:
                raise RunConfigurationException(
                    f"With environment_definition, do not also pass {', '.join(conflicts)}: put them in the "
                    "Environment instead."
                )
        if not isinstance(process_count_per_node, int) or process_count_per_node < 1:
            raise RunConfigurationException(
                f"process_count_per_node must be an integer >= 1, got {process_count_per_node!r}."
            )
        if distributed_training is not None and distributed_backend is not None:
            raise RunConfigurationException(
                "Give either distributed_training (Mpi(), Gloo(), Nccl(), ParameterServer()) or distributed_backend "
                "(its name), not both."
            )
        if pip_requirements_file and pip_packages:
            raise RunConfigurationException(
                "Give either pip_packages or pip_requirements_file, not both: put every package in the file."
            )
        if entry_script is None:
            raise UserErrorException(f"{type(self).__name__} needs entry_script=, the script to run.")
        if framework_version is not None and self._VERSIONS and framework_version not in self._VERSIONS:
            raise UserErrorException(
                f"{type(self).__name__} framework_version {framework_version!r} is not one of {list(self._VERSIONS)}."
            )
        if environment_definition is None:
            env = Environment(f"{type(self).__name__.lower()}-estimator-env")
            deps = CondaDependencies(conda_dependencies_file) if conda_dependencies_file else CondaDependencies()
            for p in pip_packages or []:
                deps.add_pip_package(p)
            for p in conda_packages or []:
                deps.add_conda_package(p)
            if pip_requirements_file:
                env = Environment.from_pip_requirements(env.name, pip_requirements_file)
                for p in conda_packages or []:
                    env.python.conda_dependencies.add_conda_package(p)
            else:
                env.python.conda_dependencies = deps
            env.python.user_managed_dependencies = user_managed
            if custom_docker_image:
                # An explicit image asks for Docker (refused at submit where no engine answers). The bare
                # use_docker flag (True by default in v1) only chose Docker on remote compute: ignored here.
                env.docker.base_image = custom_docker_image
                env.docker.enabled = True
            elif use_gpu:
                env.docker.base_image = DEFAULT_GPU_IMAGE
            if shm_size:
                env.docker.shm_size = shm_size  # the container's /dev/shm (DataLoader workers), as v1
        else:
            env = environment_definition
        dist: Any = None
        if backend == "mpi":
            pcount = getattr(distributed_training, "process_count_per_node", process_count_per_node)
            dist = MpiConfiguration(process_count_per_node=pcount, node_count=node_count)
        elif backend in ("gloo", "nccl"):
            dist = PyTorchConfiguration(
                communication_backend=backend, process_count=node_count * process_count_per_node, node_count=node_count
            )
        self.source_directory = source_directory
        self.framework_version = framework_version or self.DEFAULT_VERSION
        self.use_gpu = use_gpu
        self._entry_script = entry_script
        self._script_params = dict(script_params or {})
        self._inputs = list(inputs or [])
        self._config_kwargs = {
            "compute_target": compute_target or "local",
            "environment": env,
            "distributed_job_config": dist,
            "max_run_duration_seconds": max_run_duration_seconds,
        }
        self._environment_variables = dict(environment_variables or {})
        if self._FRAMEWORK == "PyTorch":
            self._environment_variables.setdefault("NCCL_TREE_THRESHOLD", "0")

    @property
    def run_config(self) -> Any:
        return self._config().run_config

    @property
    def conda_dependencies(self) -> CondaDependencies:
        env = self._config_kwargs["environment"]
        return env.python.conda_dependencies

    @classmethod
    def get_supported_versions(cls) -> builtins.list[str]:
        return list(cls._VERSIONS)

    def _config(self, script_params: dict[str, Any] | None = None, inputs: Any = None) -> ScriptRunConfig:
        params = self._script_params if script_params is None else script_params
        cfg = ScriptRunConfig(
            source_directory=self.source_directory,
            script=self._entry_script,
            arguments=script_params_to_arguments(params),
            **self._config_kwargs,
        )
        cfg.run_config.framework = self._FRAMEWORK
        cfg.use_gpu = self.use_gpu
        cfg.run_config.environment_variables.update(self._environment_variables)
        return cfg

    def _submit(self, experiment: Experiment, tags: dict[str, str] | None = None, **overrides: Any) -> Run:
        allowed = {"script_params", "inputs", "source_directory_data_store"}
        bad = set(overrides) - allowed
        if bad:
            raise UserErrorException(
                f"{sorted(bad)} parameters cannot be overridden. Allowed parameters are: script_params, inputs and "
                "source_directory_data_store."
            )
        return self._config(overrides.get("script_params"), overrides.get("inputs"))._submit(experiment, tags)


class PyTorch(Estimator):
    _SUPPORTED_BACKENDS = ("mpi", "gloo", "nccl")
    _FRAMEWORK = "PyTorch"
    FRAMEWORK_NAME = "PyTorch"
    DEFAULT_VERSION = "1.4"
    _VERSIONS = ("1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6")


class Chainer(Estimator):
    _SUPPORTED_BACKENDS = ("mpi",)
    _FRAMEWORK = "Chainer"
    FRAMEWORK_NAME = "Chainer"
    DEFAULT_VERSION = "5.1.0"
    _VERSIONS = ("5.1.0", "7.0.0")


class TensorFlow(Estimator):
    _SUPPORTED_BACKENDS = ("mpi", "ps")
    _FRAMEWORK = "TensorFlow"
    FRAMEWORK_NAME = "TensorFlow"
    DEFAULT_VERSION = "1.13"
    _VERSIONS = ("1.10", "1.12", "1.13", "2.0", "2.1", "2.2", "2.3")


class SKLearn(Estimator):
    """scikit-learn estimator: single node only."""

    _SUPPORTED_BACKENDS = ()
    _FRAMEWORK = "Python"
    FRAMEWORK_NAME = "SKLearn"
    DEFAULT_VERSION = "0.20.3"
    _VERSIONS = ("0.20.3",)

    def __init__(self, source_directory: str, **kwargs: Any) -> None:
        for banned in (
            "node_count",
            "process_count_per_node",
            "distributed_backend",
            "distributed_training",
            "use_gpu",
        ):
            if kwargs.get(banned) not in (None, 1, False):
                raise UserErrorException(f"SKLearn does not take {banned}: it runs on a single node.")
            kwargs.pop(banned, None)
        super().__init__(source_directory, **kwargs)


#: v1's internal base names, kept so ``isinstance``/imports of them port.
MMLBaseEstimator = Estimator


#: v1's run configuration class of estimators (``azureml.train.estimator.MMLBaseEstimatorRunConfig``); the same
#: RunConfiguration here.
MMLBaseEstimatorRunConfig = RunConfiguration
