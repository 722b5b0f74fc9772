"""v1 ``Environment``/``CondaDependencies`` members beyond building (files, Docker sources, wheels), as mixins, and
the v1 environment value classes (``azureml.core.environment``).

Kept apart from environment.py so the environment-building code stays small; mixins use the classes' public API.
"""

from __future__ import annotations

import builtins
import json
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_amlrun.core.runconfig_sections import Record
from jupyter_amlrun.runtime.errors import UserErrorException, refuse_members

if TYPE_CHECKING:
    from jupyter_amlrun.core.environment import Environment
    from jupyter_amlrun.core.workspace import Workspace

DEFINITION_FILE = "azureml_environment.json"  # v1's file names in save_to_directory
CONDA_FILE = "conda_dependencies.yml"
DOCKERFILE = "Dockerfile"
_BUILT_AT_RUN = (
    "Environments are built on this machine when a run starts, and cached (Environment.list_cache(ws)); submit a "
    "run, or use Docker yourself for an image."
)


def _env_class() -> type[Environment]:
    from jupyter_amlrun.core.environment import Environment

    return Environment


def _with_specs(env: Environment, conda_specification: str | None, pip_requirements: str | None) -> Environment:
    from jupyter_amlrun.core.environment import CondaDependencies

    if conda_specification:
        env.python.conda_dependencies = CondaDependencies(conda_specification)
    if pip_requirements:
        lines = Path(pip_requirements).read_text(encoding="utf-8").splitlines()
        env.python.conda_dependencies.set_pip_requirements(lines)
    return env


@refuse_members(
    methods={
        "build": _BUILT_AT_RUN,
        "build_local": _BUILT_AT_RUN,
        "get_image_details": "No image registry here; a Docker run's image is the environment's docker.base_image.",
        "label": "Environment labels are not kept; use Environment.get(ws, name, version=N).",
    },
    owner="Environment",
)
class EnvironmentV1Mixin:
    """v1 members of ``Environment`` that need no access to its internals."""

    environment_variables: Any = None  # set per instance (a dict); class-level so v1 introspection finds it

    def save_to_directory(self: Any, path: str, overwrite: bool = False) -> None:
        """Write the definition (``azureml_environment.json``), its conda file and any Dockerfile into ``path``."""
        folder = Path(path)
        if folder.exists() and any(folder.iterdir()) and not overwrite:
            raise UserErrorException(f"{folder} is not empty; pass overwrite=True to replace its environment files.")
        folder.mkdir(parents=True, exist_ok=True)
        definition = self._definition()
        definition["version"] = self.version
        (folder / DEFINITION_FILE).write_text(json.dumps(definition, indent=2), encoding="utf-8")
        (folder / CONDA_FILE).write_text(self.python.conda_dependencies.serialize_to_string(), encoding="utf-8")
        if self.docker.base_dockerfile:
            (folder / DOCKERFILE).write_text(self.docker.base_dockerfile, encoding="utf-8")

    @staticmethod
    def load_from_directory(path: str) -> Environment:
        """Read an environment written by :meth:`save_to_directory` (the conda file wins over the JSON's copy)."""
        from jupyter_amlrun.core.environment import CondaDependencies

        folder = Path(path)
        source = folder / DEFINITION_FILE
        if not source.is_file():
            raise UserErrorException(f"No {DEFINITION_FILE} in {folder}; write one with env.save_to_directory(path).")
        try:
            definition = json.loads(source.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise UserErrorException(f"{source} is not valid JSON: {exc}") from exc
        env = _env_class()._from_definition(definition, definition.get("version"))
        if (folder / CONDA_FILE).is_file():
            env.python.conda_dependencies = CondaDependencies(str(folder / CONDA_FILE))
        if (folder / DOCKERFILE).is_file():
            env.docker.base_dockerfile = (folder / DOCKERFILE).read_text(encoding="utf-8")
        return env

    @staticmethod
    def from_docker_image(
        name: str,
        image: str,
        container_registry: Any = None,
        conda_specification: str | None = None,
        pip_requirements: str | None = None,
    ) -> Environment:
        """An environment on the Docker ``image`` (a run uses it with DockerConfiguration(use_docker=True))."""
        env = _env_class()(name)
        env.docker.base_image = image
        if container_registry is not None:
            env.docker.base_image_registry = container_registry
        return _with_specs(env, conda_specification, pip_requirements)

    @staticmethod
    def from_dockerfile(
        name: str, dockerfile: str, conda_specification: str | None = None, pip_requirements: str | None = None
    ) -> Environment:
        """An environment built from a Dockerfile (its text, or the path of a file)."""
        env = _env_class()(name)
        text = Path(dockerfile).read_text(encoding="utf-8") if Path(dockerfile).is_file() else dockerfile
        env.docker.base_dockerfile = text
        return _with_specs(env, conda_specification, pip_requirements)

    @staticmethod
    def from_docker_build_context(name: str, docker_build_context: DockerBuildContext) -> Environment:
        """An environment from a local build context folder (its Dockerfile is read)."""
        if not isinstance(docker_build_context, DockerBuildContext):
            raise UserErrorException(
                "docker_build_context must come from DockerBuildContext.from_local_directory(...)."
            )
        env = _env_class()(name)
        env.docker.base_dockerfile = (
            Path(docker_build_context.location) / docker_build_context.dockerfile_path
        ).read_text(encoding="utf-8")
        env.docker.build_context = docker_build_context
        return env

    @staticmethod
    def from_existing_conda_environment(name: str, conda_environment_name: str) -> Environment:
        """An environment that runs on the interpreter of an existing conda environment, as it is (user managed)."""
        conda = shutil.which("conda") or shutil.which("mamba") or shutil.which("micromamba")
        if conda is None:
            raise UserErrorException(
                "conda is not installed here, so the conda environment "
                f"{conda_environment_name!r} cannot be found. Use Environment.from_conda_specification(name, file) "
                "(a virtualenv is built from it) or set env.python.interpreter_path to an interpreter."
            )
        out = subprocess.run(
            [conda, "run", "-n", conda_environment_name, "python", "-c", "import sys; print(sys.executable)"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if out.returncode != 0 or not out.stdout.strip():
            raise UserErrorException(
                f"conda environment {conda_environment_name!r} not found or has no python: {out.stderr.strip()[-300:]}"
            )
        env = _env_class()(name)
        env.python.user_managed_dependencies = True
        env.python.interpreter_path = out.stdout.strip().splitlines()[-1]
        return env

    @staticmethod
    def add_private_pip_wheel(workspace: Workspace, file_path: str, exist_ok: bool = False) -> str:
        """Copy a wheel into the workspace (``<workspace>/wheels/``) and return its path, to pass to
        ``CondaDependencies.add_pip_package`` (v1 uploaded it to the workspace's storage and returned a URL)."""
        source = Path(file_path)
        if not source.is_file() or source.suffix != ".whl":
            raise UserErrorException(f"{source} is not a wheel file (*.whl).")
        target = workspace.path / "wheels" / source.name
        if target.exists() and not exist_ok:
            raise UserErrorException(f"{target.name} is already in the workspace; pass exist_ok=True to reuse it.")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        return str(target)


@refuse_members(
    methods={
        "add_cntk_package": "CNTK is discontinued and has no build for this Python; use PyTorch or TensorFlow.",
    },
    owner="CondaDependencies",
)
class CondaDependenciesV1Mixin:
    """v1 members of ``CondaDependencies`` written with its public API."""

    DEFAULT_NUMBER_OF_CONDA_PACKAGES = 0  # v1 counted its own default packages; none are added here
    DEFAULT_NUMBER_OF_PIP_PACKAGES = 0

    @staticmethod
    def get_default_number_of_packages() -> tuple[int, int]:
        """(conda, pip) packages every environment gets by default: none here."""
        return 0, 0

    @staticmethod
    def sdk_origin_url() -> str:
        """Where v1 installed its SDK from; nothing is installed for azureml here (jupyter_amlrun provides it)."""
        return ""

    @staticmethod
    def merge_requirements(requirements: builtins.list[str]) -> builtins.list[str]:
        """The requirement strings without duplicates of the same package (the last one wins, order kept)."""
        from packaging.requirements import InvalidRequirement, Requirement

        seen: dict[str, str] = {}
        for req in requirements:
            try:
                key = Requirement(req).name.lower().replace("_", "-")
            except InvalidRequirement:
                key = req
            seen.pop(key, None)
            seen[key] = req
        return list(seen.values())

    def add_tensorflow_conda_package(self: Any, core_type: str = "cpu", version: str | None = None) -> None:
        """Add TensorFlow as a conda package (``tensorflow`` or ``tensorflow-gpu``, optionally pinned)."""
        name = "tensorflow-gpu" if core_type == "gpu" else "tensorflow"
        self.add_conda_package(f"{name}={version}" if version else name)

    def add_tensorflow_pip_package(self: Any, core_type: str = "cpu", version: str | None = None) -> None:
        """Add TensorFlow as a pip package (optionally pinned)."""
        self.add_pip_package(f"tensorflow=={version}" if version else "tensorflow")

    def remove_channel(self: Any, channel: str) -> None:
        """Remove a conda channel."""
        self._channels = [c for c in self._channels if c != channel]

    def set_pip_index_url(self: Any, index_url: str) -> None:
        """Use ``index_url`` as pip's index (``--index-url``)."""
        for option in [o for o in self.pip_options if o.startswith("--index-url")]:
            self.remove_pip_option(option)
        self.set_pip_option(f"--index-url {index_url}")

    def save_to_file(self: Any, base_directory: str, conda_file_path: str | None = None) -> str:
        """Write the conda file into ``base_directory`` (default name ``conda_dependencies.yml``); returns its path."""
        target = Path(base_directory) / (conda_file_path or CONDA_FILE)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.serialize_to_string(), encoding="utf-8")
        return str(target)


class DockerSectionV1Mixin:
    """Class-level v1 defaults of ``environment.docker`` (each instance sets its own values)."""

    enabled = False
    shm_size = "2g"
    shared_volumes = True
    arguments: Any = ()
    gpu_support = False  # v1 deprecated: GPUs are found at run time
    build_context: Any = None
    base_image_registry: Any = None


class PythonSectionV1Mixin:
    """Class-level v1 defaults of ``environment.python``."""

    conda_dependencies_file: str | None = None


class DockerBuildContext(Record):
    """A Docker build context (a local folder and the Dockerfile in it)."""

    _FIELDS = ("location_type", "location", "dockerfile_path")
    location_type: str
    location: str
    dockerfile_path: str

    @staticmethod
    def from_local_directory(workspace: Any, path: str, dockerfile_path: str = "Dockerfile") -> DockerBuildContext:
        """The build context of a local folder; its Dockerfile must exist."""
        if not (Path(path) / dockerfile_path).is_file():
            raise UserErrorException(f"No {dockerfile_path} in {path}.")
        return DockerBuildContext("local", str(Path(path).resolve()), dockerfile_path)


class EnvironmentReference(Record):
    """A registered environment by name and version (v1)."""

    _FIELDS = ("name", "version")
    name: str
    version: str | None

    def get_environment(self, workspace: Workspace) -> Environment:
        """The registered environment this reference names."""
        return _env_class().get(workspace, self.name, self.version)


class DockerImagePlatform(Record):
    """The OS/architecture of a Docker image (v1): kept as given."""

    _FIELDS = ("os", "architecture")


class DockerImageDetails(dict[str, Any]):
    """v1's image details (a dict): image, registry, dockerfile ..."""

    dockerfile = property(lambda self: self.get("dockerfile"))
    environment_path = property(lambda self: self.get("environment_path"))
    image = property(lambda self: self.get("image"))
    image_exist = property(lambda self: self.get("image_exist"))
    interpreter_path = property(lambda self: self.get("interpreter_path"))
    registry = property(lambda self: self.get("registry"))
    repository = property(lambda self: self.get("repository"))


ImageBuildDetails = refuse_members(
    methods={"get_log": _BUILT_AT_RUN, "wait_for_completion": _BUILT_AT_RUN},
    properties={"status": _BUILT_AT_RUN},
)(
    type(
        "ImageBuildDetails",
        (),
        {"__doc__": "v1's image build handle: no images are built here.", "__module__": __name__},
    )
)


class SparkPackage(Record):
    """A Spark (Maven) package of a v1 environment: kept as given, no effect (Spark is not run here)."""

    _FIELDS = ("group", "artifact", "version")


class SparkSection(Record):
    """The Spark section of a v1 environment: kept as given, no effect."""


class RSection(Record):
    """The R section of a v1 environment: R environments are not built here (kept as given)."""


class RCranPackage(Record):
    """A CRAN package of a v1 R section: kept as given."""

    _FIELDS = ("name", "version", "repository")


class RGitHubPackage(Record):
    """A GitHub R package of a v1 R section: kept as given."""

    _FIELDS = ("repository", "auth_token")

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out.pop("auth_token", None)  # never written anywhere
        return out
