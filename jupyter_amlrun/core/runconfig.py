"""ScriptRunConfig, RunConfiguration and the distributed job configurations (v1 API)."""

from __future__ import annotations

import copy
import logging
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jupyter_amlrun.core.environment import Environment
from jupyter_amlrun.core.errors import RunConfigurationException, UserErrorException

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


@dataclass
class RunConfiguration:
    """What to run and where (v1 ``RunConfiguration``)."""

    script: str | None = None
    arguments: list[Any] = field(default_factory=list)
    target: str = "local"
    framework: str = "Python"
    communicator: str = "None"
    node_count: int = 1
    max_run_duration_seconds: int | None = None
    environment: Environment | None = None
    environment_variables: dict[str, str] = field(default_factory=dict)
    distributed_job_config: Any = None
    command: list[str] | str = ""
    data: dict[str, Any] = field(default_factory=dict)
    docker: DockerConfiguration = field(default_factory=DockerConfiguration)

    def __post_init__(self) -> None:
        if self.environment is None:
            self.environment = Environment("default-environment")


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
        self._use_gpu = False  # an Estimator's use_gpu: the driver warns when no GPU is visible
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

    def _submit(self, experiment: Experiment, tags: dict[str, str] | None = None) -> Run:
        from jupyter_amlrun.core._submit import submit_script_run

        return submit_script_run(experiment, self, tags)

    def __repr__(self) -> str:
        return (
            f"ScriptRunConfig(source_directory={self.source_directory!r}, script={self.run_config.script!r}, "
            f"arguments={self.run_config.arguments!r}, compute_target={self.run_config.target!r})"
        )
