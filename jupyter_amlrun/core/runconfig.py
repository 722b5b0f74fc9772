"""ScriptRunConfig, RunConfiguration and the distributed job configurations (v1 API)."""

from __future__ import annotations

import copy
import logging
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_amlrun.core.container_registry import AzureContainerRegistry  # noqa: F401 - v1's runconfig path
from jupyter_amlrun.core.environment import (  # noqa: F401 - v1 notebooks import these from runconfig
    DEFAULT_CPU_IMAGE,
    DEFAULT_GPU_IMAGE,
    CondaDependencies,
    ContainerRegistry,
    Environment,
)
from jupyter_amlrun.core.runconfig_sections import (  # noqa: F401 - the value classes: v1's azureml.core.runconfig path
    AmlComputeConfiguration,
    ApplicationEndpointConfiguration,
    Data,
    DatacacheConfiguration,
    DataLocation,
    DataPath,
    DataReferenceConfiguration,
    Dataset,
    DatasetRegistrationOptions,
    GlobsOptions,
    HdiConfiguration,
    HistoryConfiguration,
    JarLibrary,
    KubernetesComputeConfiguration,
    MavenLibrary,
    MountOptions,
    OutputData,
    OutputOptions,
    ParallelTaskConfiguration,
    PyPiLibrary,
    RCranLibrary,
    RegistrationOptions,
    SparkConfiguration,
    UploadOptions,
    Uri,
)
from jupyter_amlrun.runtime.errors import RunConfigurationException, UserErrorException

if TYPE_CHECKING:
    from jupyter_amlrun.core.experiment import Experiment
    from jupyter_amlrun.core.run import Run

log = logging.getLogger(__name__)
MAX_DURATION_SECONDS_DEFAULT = 2592000  # 30 days, as v1


class MpiConfiguration:
    """MPI job: ``node_count`` x ``process_count_per_node`` processes."""

    def __init__(self, process_count_per_node: int = 1, node_count: int = 1) -> None:
        _positive("process_count_per_node", process_count_per_node)
        _positive("node_count", node_count)
        self.process_count_per_node = process_count_per_node
        self.node_count = node_count

    framework = "Python"
    communicator = "IntelMpi"


class PyTorchConfiguration:
    """PyTorch distributed job through torch's elastic launcher."""

    def __init__(
        self, communication_backend: str = "Nccl", process_count: int | None = None, node_count: int = 1
    ) -> None:
        backend = str(communication_backend).lower()
        if backend not in ("nccl", "gloo"):
            raise RunConfigurationException(
                f"{communication_backend} is not a supported backend. 'communication_backend' must be 'Nccl' or 'Gloo'."
            )
        _positive("node_count", node_count)
        if process_count is not None:
            _positive("process_count", process_count)
            if process_count % node_count:
                # Every node runs the same number of ranks (torch's elastic launcher: --nproc-per-node).
                raise RunConfigurationException(
                    f"process_count={process_count} is the total number of processes and must be a multiple of "
                    f"node_count={node_count}, e.g. process_count={node_count * max(1, process_count // node_count)}."
                )
        self.communication_backend = backend
        self.process_count = process_count
        self.node_count = node_count

    framework = "PyTorch"

    @property
    def communicator(self) -> str:
        return self.communication_backend


class TensorflowConfiguration:
    """TensorFlow parameter-server job (stored; launched by the distributed issue)."""

    def __init__(self, worker_count: int = 1, parameter_server_count: int = 1) -> None:
        self.worker_count = worker_count
        self.parameter_server_count = parameter_server_count
        self.node_count = worker_count + parameter_server_count

    framework = "TensorFlow"
    communicator = "ParameterServer"


class DockerConfiguration:
    """Whether and how a run uses Docker (v1 ``DockerConfiguration``).

    Parameters
    ----------
    use_docker:
        Run the script in the environment's image; refused at submit where no Docker or Podman engine answers.
    shared_volumes, arguments, shm_size:
        Kept for v1 compatibility (used by a Docker engine).
    """

    def __init__(
        self,
        use_docker: bool = False,
        shared_volumes: bool = True,
        arguments: list[str] | None = None,
        shm_size: str | None = "2g",
    ) -> None:
        if not isinstance(use_docker, bool):
            raise RunConfigurationException(f"use_docker must be True or False, got {use_docker!r}.")
        self.use_docker = use_docker
        self.shared_volumes = shared_volumes
        self.arguments = list(arguments or [])
        self.shm_size = shm_size

    @property
    def enabled(self) -> bool:
        """v1's ``run_config.docker.enabled``: the same switch as ``use_docker``."""
        return self.use_docker

    @enabled.setter
    def enabled(self, value: bool) -> None:
        self.use_docker = bool(value)


def _positive(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise RunConfigurationException(f"{name} must be an integer >= 1, got {value!r}.")


RUNCONFIG_DIRS = (".azureml", "aml_config")  # where v1 keeps <name>.runconfig files under a project folder
_UNSET: Any = object()


class RunConfiguration:
    """What to run and where (v1 ``RunConfiguration``); ``save``/``load`` write and read v1's YAML files.

    Parameters
    ----------
    script, arguments, framework, communicator, command:
        As in v1 (defaults: no script, no arguments, ``"Python"``, ``"None"``, ``""``).
    conda_dependencies:
        A :class:`CondaDependencies` for the run's environment.
    **kwargs:
        Any attribute below by name (``target=``, ``environment=``, ``node_count=``, ...).

    Attributes
    ----------
    target, node_count, max_run_duration_seconds, environment, environment_variables, distributed_job_config,
    data, docker, history, mpi, pytorch, tensorflow, data_references, output_data, source_directory_data_store,
    credential_passthrough, spark, hdi, amlcompute, kubernetescompute, paralleltask, priority:
        v1's fields; the Azure-only sections are kept as given and have no effect locally.
    """

    auto_prepare_environment = True  # v1 deprecated switch: environments are always prepared when a run starts

    def __init__(
        self,
        script: str | None = None,
        arguments: list[Any] | None = None,
        framework: str | None = None,
        communicator: str | None = None,
        conda_dependencies: Any = None,
        _history_enabled: bool | None = None,
        _path: str | None = None,
        _name: str | None = None,
        command: list[str] | str | None = None,
        **kwargs: Any,
    ) -> None:
        self.script = script
        self.arguments: list[Any] = list(arguments) if arguments is not None else []
        self.framework = framework or "Python"
        self.communicator = communicator or "None"
        self.command: list[str] | str = command if command is not None else ""
        self.target = "local"
        self.node_count = 1
        self.max_run_duration_seconds: int | None = None
        self.environment: Environment = Environment("default-environment")
        if conda_dependencies is not None:
            self.environment.python.conda_dependencies = conda_dependencies
        self._environment_variables: dict[str, str] = {}
        self.distributed_job_config: Any = None
        self.data: dict[str, Any] = {}
        self.docker = DockerConfiguration()
        self.history = HistoryConfiguration()
        if _history_enabled is not None:
            self.history.output_collection = bool(_history_enabled)
        self.mpi = MpiConfiguration()
        self.pytorch = PyTorchConfiguration()
        self.tensorflow = TensorflowConfiguration()
        self.data_references: dict[str, Any] = {}
        self.output_data: dict[str, Any] = {}
        self.source_directory_data_store: str | None = None
        self.credential_passthrough = False
        self.spark = SparkConfiguration()
        self.hdi = HdiConfiguration()
        self.amlcompute = AmlComputeConfiguration()
        self.kubernetescompute = KubernetesComputeConfiguration()
        self.paralleltask = ParallelTaskConfiguration()
        self.priority: int | None = None
        for name, value in kwargs.items():
            if name.startswith("_") or not hasattr(self, name):
                raise RunConfigurationException(
                    f"RunConfiguration has no field {name!r}; fields: script, arguments, target, environment, "
                    "environment_variables, node_count, max_run_duration_seconds, distributed_job_config, docker, data."
                )
            setattr(self, name, value)
        if self.environment is None:
            self.environment = Environment("default-environment")
        if _path is not None and _name is not None:
            loaded = RunConfiguration.load(_path, _name)
            self.__dict__.update(loaded.__dict__)

    @property
    def target(self) -> str:
        """The compute target's name (``"local"``: this machine)."""
        return self._target

    @target.setter
    def target(self, value: Any) -> None:
        # v1 code assigns the ComputeTarget object itself (run_config.target = cpu_cluster): keep its name.
        name = getattr(value, "name", value)
        if not isinstance(name, str) or not name:
            raise RunConfigurationException(
                f"target must be a ComputeTarget or its name (or 'local'), got {type(value).__name__}."
            )
        self._target = name

    @property
    def environment_variables(self) -> dict[str, str]:
        """Variables set for the run's process (v1: a property of the run configuration)."""
        return self._environment_variables

    @environment_variables.setter
    def environment_variables(self, value: dict[str, str]) -> None:
        self._environment_variables = dict(value or {})

    # ------------------------------------------------------------ files (v1: <project>/.azureml/<name>.runconfig)
    def _to_dict(self) -> dict[str, Any]:
        env = self.environment
        deps = env.python.conda_dependencies
        dist = self.distributed_job_config
        return {
            "script": self.script,
            "command": self.command,
            "arguments": [a if isinstance(a, str | int | float | bool) else str(a) for a in self.arguments],
            "target": self.target,
            "framework": self.framework,
            "communicator": self.communicator,
            "maxRunDurationSeconds": self.max_run_duration_seconds,
            "nodeCount": self.node_count,
            "priority": self.priority,
            "credentialPassthrough": self.credential_passthrough,
            "environmentVariables": dict(self.environment_variables),
            "environment": {
                "name": env.name,
                "version": env.version,
                "environmentVariables": dict(env.environment_variables),
                "python": {
                    "userManagedDependencies": env.python.user_managed_dependencies,
                    "interpreterPath": env.python.interpreter_path,
                    "condaDependencies": deps.as_dict(),
                },
                "docker": env.docker.as_dict(),
            },
            "docker": {
                "useDocker": self.docker.use_docker,
                "sharedVolumes": self.docker.shared_volumes,
                "arguments": list(self.docker.arguments),
                "shmSize": self.docker.shm_size,
            },
            "distributed": None if dist is None else {"kind": type(dist).__name__, **_plain(vars(dist))},
            "history": self.history.to_dict(),
            "sourceDirectoryDataStore": self.source_directory_data_store,
            "dataReferences": {
                k: _plain(getattr(v, "to_dict", lambda v=v: v)()) for k, v in self.data_references.items()
            },
            "data": {k: _plain(getattr(v, "to_dict", lambda v=v: str(v))()) for k, v in self.data.items()},
        }

    @staticmethod
    def _file(path: str | os.PathLike[str] | None, name: str | None, *, for_write: bool) -> Path:
        base = Path(path) if path is not None else Path.cwd()
        if name is None:
            if base.is_dir() or (for_write and base.suffix == ""):
                raise RunConfigurationException(
                    f"Give a name to save/load a run configuration in the folder {base} (v1 keeps it in "
                    f"{base}/.azureml/<name>.runconfig), or a file path."
                )
            return base
        if not re.match(r"^[\w.\-]+$", name):
            raise RunConfigurationException(f"Invalid run configuration name {name!r}: letters, digits, '.', '-', '_'.")
        if base.is_file():
            raise RunConfigurationException(f"{base} is a file; with name={name!r} path must be the project folder.")
        if not for_write:
            for sub in RUNCONFIG_DIRS:
                candidate = base / sub / f"{name}.runconfig"
                if candidate.is_file():
                    return candidate
            candidate = base / f"{name}.runconfig"
            if candidate.is_file():
                return candidate
        return base / RUNCONFIG_DIRS[0] / f"{name}.runconfig"

    def save(
        self,
        path: str | os.PathLike[str] | None = None,
        name: str | None = None,
        separate_environment_yaml: bool = False,
    ) -> None:
        """Write this configuration as YAML: ``<path>/.azureml/<name>.runconfig`` (v1's place), or to the file
        ``path`` when no name is given. ``separate_environment_yaml`` also writes the conda file next to it
        (``<name>_dependencies.yml``) and points to it."""
        import yaml

        target = self._file(path, name, for_write=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        doc = self._to_dict()
        if separate_environment_yaml:
            deps_file = target.with_name(f"{name or target.stem}_dependencies.yml")
            deps_file.write_text(self.environment.python.conda_dependencies.serialize_to_string(), encoding="utf-8")
            doc["environment"]["python"]["condaDependenciesFile"] = deps_file.name
            doc["environment"]["python"].pop("condaDependencies")
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        os.replace(tmp, target)

    @staticmethod
    def load(path: str | os.PathLike[str], name: str | None = None) -> RunConfiguration:
        """Read a configuration written by :meth:`save` (or by v1: same keys) from ``<path>/.azureml/<name>.runconfig``,
        ``<path>/aml_config/<name>.runconfig`` or the file ``path``."""
        import yaml

        source = RunConfiguration._file(path, name, for_write=False)
        if not source.is_file():
            raise RunConfigurationException(f"No run configuration at {source}; save one with run_config.save(...).")
        try:
            doc = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise RunConfigurationException(f"{source} is not valid YAML: {exc}") from exc
        if not isinstance(doc, dict):
            raise RunConfigurationException(f"{source} does not hold a run configuration (a YAML mapping).")
        rc = RunConfiguration(
            script=doc.get("script"),
            arguments=list(doc.get("arguments") or []),
            framework=doc.get("framework"),
            communicator=doc.get("communicator"),
            command=doc.get("command") or "",
        )
        rc.target = str(doc.get("target") or "local")
        rc.max_run_duration_seconds = doc.get("maxRunDurationSeconds")
        rc.node_count = int(doc.get("nodeCount") or 1)
        rc.priority = doc.get("priority")
        rc.credential_passthrough = bool(doc.get("credentialPassthrough", False))
        rc.environment_variables = dict(doc.get("environmentVariables") or {})
        rc.source_directory_data_store = doc.get("sourceDirectoryDataStore")
        env_doc = doc.get("environment") or {}
        env = Environment(env_doc.get("name") or "default-environment")
        env.version = env_doc.get("version")
        env.environment_variables = dict(env_doc.get("environmentVariables") or {})
        py = env_doc.get("python") or {}
        env.python.user_managed_dependencies = bool(py.get("userManagedDependencies", False))
        env.python.interpreter_path = py.get("interpreterPath") or "python"
        if py.get("condaDependenciesFile"):
            deps_path = source.parent / str(py["condaDependenciesFile"])
            env.python.conda_dependencies = CondaDependencies(str(deps_path))
        elif py.get("condaDependencies"):
            env.python.conda_dependencies = CondaDependencies._from_dict(py["condaDependencies"])
        if env_doc.get("docker"):
            env.docker = type(env.docker).from_dict(dict(env_doc["docker"]))
        rc.environment = env
        docker = doc.get("docker") or {}
        rc.docker = DockerConfiguration(
            bool(docker.get("useDocker", False)),
            docker.get("sharedVolumes", True),
            docker.get("arguments"),
            docker.get("shmSize", "2g"),
        )
        dist = doc.get("distributed")
        if dist:
            kind = {c.__name__: c for c in (MpiConfiguration, PyTorchConfiguration, TensorflowConfiguration)}
            cls = kind.get(str(dist.get("kind")))
            if cls is None:
                raise RunConfigurationException(f"{source}: unknown distributed kind {dist.get('kind')!r}.")
            obj = cls.__new__(cls)
            obj.__dict__.update({k: v for k, v in dist.items() if k != "kind"})
            rc.distributed_job_config = obj
        rc.history = HistoryConfiguration(**(doc.get("history") or {}))
        return rc

    @staticmethod
    def delete(path: str | os.PathLike[str], name: str) -> None:
        """Remove the saved configuration ``name`` under the project folder ``path``."""
        target = RunConfiguration._file(path, name, for_write=False)
        if not target.is_file():
            raise RunConfigurationException(f"No run configuration named {name!r} under {path}.")
        target.unlink()

    def __repr__(self) -> str:
        return (
            f"RunConfiguration(script={self.script!r}, arguments={self.arguments!r}, target={self.target!r}, "
            f"environment={self.environment.name!r})"
        )


def _plain(value: Any) -> Any:
    """``value`` with only YAML-safe types (records become dicts, unknown objects their str)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if not str(k).startswith("_")}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if hasattr(value, "to_dict"):
        return _plain(value.to_dict())
    return str(value)


#: v1's name of the environment class inside run configurations.
EnvironmentDefinition = Environment


class ScriptRunConfig:
    """Run ``script`` from ``source_directory`` on a compute target.

    Parameters
    ----------
    source_directory:
        Folder snapshotted and sent with the run.
    script:
        Path of the entry script, relative to ``source_directory``.
    arguments:
        Command-line arguments: strings, numbers, or dataset/datastore references (replaced by real paths on the
        target).
    run_config:
        A full :class:`RunConfiguration`; when given, compute_target, environment, distributed_job_config and
        max_run_duration_seconds are ignored (as in v1).
    compute_target:
        A ComputeTarget or its name; default ``"local"``.
    environment:
        An :class:`Environment`.
    distributed_job_config:
        MpiConfiguration, PyTorchConfiguration or TensorflowConfiguration.
    max_run_duration_seconds:
        The run is canceled, with the reason recorded, when it runs longer.
    docker_runtime_config:
        A :class:`DockerConfiguration`; default: copied from ``environment.docker`` (as in v1).
    """

    def __init__(
        self,
        source_directory: str | os.PathLike[str],
        script: str | None = None,
        arguments: list[Any] | None = None,
        run_config: RunConfiguration | None = None,
        _telemetry_values: Any = None,
        compute_target: Any = None,
        environment: Environment | None = None,
        distributed_job_config: Any = None,
        resume_from: Any = None,
        max_run_duration_seconds: int | None = MAX_DURATION_SECONDS_DEFAULT,
        command: list[str] | str | None = None,
        docker_runtime_config: Any = None,
    ) -> None:
        self.source_directory = str(source_directory)
        self.script = script
        self.arguments = list(arguments) if arguments is not None else []
        self.command = command
        self.use_gpu = False  # set by an Estimator(use_gpu=True): the driver warns when no GPU is visible
        if run_config is not None:
            ignored = [
                n
                for n, v in (
                    ("compute_target", compute_target),
                    ("environment", environment),
                    ("distributed_job_config", distributed_job_config),
                    ("docker_runtime_config", docker_runtime_config),
                )
                if v is not None
            ]
            if ignored:
                log.warning("run_config is given, so %s are ignored (as in Azure ML v1).", ", ".join(ignored))
            self.run_config = copy.deepcopy(run_config)
            if script is not None:
                self.run_config.script = script
            if arguments is not None:
                self.run_config.arguments = list(arguments)
        else:
            target = "local" if compute_target is None else getattr(compute_target, "name", compute_target)
            if not isinstance(target, str):
                raise UserErrorException(
                    f"compute_target must be a ComputeTarget or its name, got {type(compute_target).__name__}."
                )
            if environment is not None and not isinstance(environment, Environment):
                raise UserErrorException(
                    f"environment must be an Environment, got {type(environment).__name__}. Use "
                    "Environment.get(ws, name) for a registered one."
                )
            self.run_config = RunConfiguration(
                script=script,
                arguments=self.arguments,
                target=target,
                environment=environment,
                max_run_duration_seconds=max_run_duration_seconds,
            )
            if docker_runtime_config is not None:
                if not isinstance(docker_runtime_config, DockerConfiguration):
                    raise RunConfigurationException(
                        "docker_runtime_config must be a DockerConfiguration(use_docker=...), got "
                        f"{type(docker_runtime_config).__name__}."
                    )
                self.run_config.docker = docker_runtime_config
            elif environment is not None and environment.docker.enabled:
                d = environment.docker
                self.run_config.docker = DockerConfiguration(True, d.shared_volumes, d.arguments, d.shm_size)
            if distributed_job_config is not None:
                if not isinstance(
                    distributed_job_config, MpiConfiguration | PyTorchConfiguration | TensorflowConfiguration
                ):
                    raise RunConfigurationException(
                        "distributed_job_config must be an MpiConfiguration, PyTorchConfiguration or "
                        f"TensorflowConfiguration, got {type(distributed_job_config).__name__}."
                    )
                self.run_config.distributed_job_config = distributed_job_config
                self.run_config.node_count = distributed_job_config.node_count
                self.run_config.framework = distributed_job_config.framework
                self.run_config.communicator = distributed_job_config.communicator
        self.distributed_job_config = self.run_config.distributed_job_config

    DELIM = "/"
    MAX_DURATION_SECONDS_DEFAULT = MAX_DURATION_SECONDS_DEFAULT

    @property
    def identity(self) -> str:
        """A label for logs: ``ScriptRunConfig#<script>``."""
        return f"ScriptRunConfig#{self.run_config.script}"

    def _submit(self, experiment: Experiment, tags: dict[str, str] | None = None) -> Run:
        from jupyter_amlrun.core._submit import submit_script_run

        return submit_script_run(experiment, self, tags)

    def __repr__(self) -> str:
        return (
            f"ScriptRunConfig(source_directory={self.source_directory!r}, script={self.run_config.script!r}, "
            f"arguments={self.run_config.arguments!r}, compute_target={self.run_config.target!r})"
        )


def get_run_config_from_script_run(script_run_config: ScriptRunConfig) -> RunConfiguration:
    """The :class:`RunConfiguration` a ScriptRunConfig submits (v1 helper)."""
    return script_run_config.run_config


def submit(
    script_run_config: ScriptRunConfig,
    workspace: Any,
    experiment_name: str,
    run_id: str | None = None,
    _parent_run_id: str | None = None,
    credential_passthrough: bool = False,
) -> Run:
    """Submit ``script_run_config`` to the experiment ``experiment_name`` of ``workspace`` (v1's module function;
    same as ``Experiment(workspace, experiment_name).submit(script_run_config)``). A given ``run_id`` is refused:
    run ids are made by the tracking store."""
    from jupyter_amlrun.core.experiment import Experiment

    if run_id is not None:
        raise RunConfigurationException("run_id cannot be chosen: the tracking store makes run ids. Omit run_id.")
    return Experiment(workspace, experiment_name).submit(script_run_config)
