"""Environment and CondaDependencies: versioned JSON documents in the workspace, curated names, the build cache.

A run's environment is materialised by the driver during Preparing (:mod:`jupyter_amlrun.runtime.envcache`): a cached
virtualenv per package set, or the current interpreter when nothing needs installing. Requirement strings are checked
where they are given, so a typo fails at construction rather than minutes later in pip.
"""

from __future__ import annotations

import builtins
import copy
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_amlrun._util.fileio import file_lock, read_json, write_json_atomic
from jupyter_amlrun.core.environment_v1 import (  # noqa: F401 - the value classes: v1's azureml.core.environment path
    CondaDependenciesV1Mixin,
    DockerBuildContext,
    DockerImageDetails,
    DockerImagePlatform,
    DockerSectionV1Mixin,
    EnvironmentReference,
    EnvironmentV1Mixin,
    ImageBuildDetails,
    PythonSectionV1Mixin,
    RCranPackage,
    RGitHubPackage,
    RSection,
    SparkPackage,
    SparkSection,
)
from jupyter_amlrun.runtime.envspec import (
    check_conda_spec,
    check_environment_name,
    check_pip_requirement,
    requirement_lines,
)
from jupyter_amlrun.runtime.errors import UserErrorException

DEFAULT_CPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20251130.v1"
DEFAULT_GPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-cuda11.8-cudnn8-ubuntu22.04"
_RESERVED_PREFIXES = ("azureml", "microsoft")
if TYPE_CHECKING:
    from jupyter_amlrun.core.workspace import Workspace


class CondaDependencies(CondaDependenciesV1Mixin):
    """Conda and pip package lists of an environment (v1 API subset)."""

    def __init__(self, conda_dependencies_file_path: str | None = None) -> None:
        self._conda: builtins.list[str] = []
        self._pip: builtins.list[str] = []
        self._pip_options: builtins.list[str] = []
        self._channels: builtins.list[str] = ["conda-forge"]
        self._python = f"{sys.version_info.major}.{sys.version_info.minor}"
        if conda_dependencies_file_path:
            self._load(Path(conda_dependencies_file_path))

    def _load(self, path: Path) -> None:
        if not path.is_file():
            raise UserErrorException(f"Conda specification {path} does not exist.")
        section = None
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.split("#", 1)[0].rstrip()
            if not line.strip():
                continue
            stripped = line.strip()
            if stripped.startswith("- pip:"):  # before the section test: v1 files put it at column 0 too
                section = "pip"
                continue
            if not line.startswith(" ") and stripped.endswith(":"):
                section = stripped[:-1]
                continue
            item = stripped[1:].strip() if stripped.startswith("-") else stripped  # one list marker only
            if section == "channels":
                self.add_channel(item)
            elif section == "pip":
                self._add_pip_line(item)
            elif section == "dependencies":
                if re.match(r"^python\s*([=<>]|$)", item):
                    self._python = item.split("=", 1)[-1].lstrip("=") or self._python
                else:
                    self.add_conda_package(item)

    @staticmethod
    def create(
        pip_indexurl: str | None = None,
        pip_packages: builtins.list[str] | None = None,
        conda_packages: builtins.list[str] | None = None,
        python_version: str | None = None,
        pin_sdk_version: bool = True,
    ) -> CondaDependencies:
        """Create a dependency list from package names.

        Parameters
        ----------
        pip_indexurl:
            An index URL for pip (``--index-url``).
        pip_packages, conda_packages:
            Requirement strings, checked here.
        python_version:
            ``"3.11"``-style; default: the current interpreter's (a run warns when this machine's differs).
        pin_sdk_version:
            Accepted for v1 compatibility; nothing to pin here.
        """
        cd = CondaDependencies()
        for p in pip_packages or []:
            cd.add_pip_package(p)
        for p in conda_packages or []:
            cd.add_conda_package(p)
        if pip_indexurl:
            cd.set_pip_option(f"--index-url {pip_indexurl}")
        if python_version:
            cd.set_python_version(python_version)
        return cd

    def _add_pip_line(self, line: str) -> None:
        if line.startswith("-"):
            self.set_pip_option(line)
        else:
            self.add_pip_package(line)

    def add_pip_package(self, pip_package: str) -> None:
        """Add a pip requirement (checked now: an invalid string raises UserErrorException)."""
        pip_package = check_pip_requirement(pip_package)
        if pip_package not in self._pip:
            self._pip.append(pip_package)

    def set_pip_option(self, pip_option: str) -> None:
        """Add a pip option line (``--index-url URL``, ``--extra-index-url URL``, ``--find-links DIR``, ...)."""
        if not isinstance(pip_option, str) or not pip_option.strip().startswith("-"):
            raise UserErrorException(
                f"A pip option must start with '-' (like '--extra-index-url https://...'), got {pip_option!r}."
            )
        if pip_option.strip() not in self._pip_options:
            self._pip_options.append(pip_option.strip())

    def remove_pip_option(self, pip_option: str) -> None:
        self._pip_options = [o for o in self._pip_options if o != pip_option.strip()]

    def set_pip_requirements(self, pip_requirements: builtins.list[str]) -> None:
        """Replace the pip list by requirement lines (options lines start with '-')."""
        self._pip, self._pip_options = [], []
        for line in pip_requirements:
            line = line.split(" #", 1)[0].strip()
            if line and not line.startswith("#"):
                self._add_pip_line(line)

    def remove_pip_package(self, pip_package: str) -> None:
        self._pip = [p for p in self._pip if p != pip_package]

    def add_conda_package(self, conda_package: str) -> None:
        """Add a conda package spec (checked now)."""
        conda_package = check_conda_spec(conda_package)
        if conda_package not in self._conda:
            self._conda.append(conda_package)

    def remove_conda_package(self, conda_package: str) -> None:
        self._conda = [p for p in self._conda if p != conda_package]

    def add_channel(self, channel: str) -> None:
        if channel not in self._channels:
            self._channels.append(channel)

    def set_python_version(self, version: str) -> None:
        self._python = version

    def get_python_version(self) -> str:
        return self._python

    @property
    def pip_packages(self) -> builtins.list[str]:
        return list(self._pip)

    @property
    def pip_options(self) -> builtins.list[str]:
        return list(self._pip_options)

    @property
    def conda_packages(self) -> builtins.list[str]:
        return list(self._conda)

    @property
    def conda_channels(self) -> builtins.list[str]:
        return list(self._channels)

    def as_dict(self) -> dict[str, Any]:
        deps: builtins.list[Any] = [f"python={self._python}", *self._conda]
        if self._pip or self._pip_options:
            deps.append({"pip": [*self._pip_options, *self._pip]})
        return {"name": "project_environment", "channels": list(self._channels), "dependencies": deps}

    def serialize_to_string(self) -> str:
        lines = ["name: project_environment", "channels:"]
        lines += [f"  - {c}" for c in self._channels]
        lines += ["dependencies:", f"  - python={self._python}"]
        lines += [f"  - {c}" for c in self._conda]
        if self._pip or self._pip_options:
            lines += ["  - pip:"] + [f"    - {p}" for p in (*self._pip_options, *self._pip)]
        return "\n".join(lines) + "\n"

    def save(self, path: str) -> str:
        Path(path).write_text(self.serialize_to_string(), encoding="utf-8")
        return path

    @classmethod
    def _from_dict(cls, d: dict[str, Any]) -> CondaDependencies:
        cd = cls()
        cd._channels = list(d.get("channels", []))
        for dep in d.get("dependencies", []):
            if isinstance(dep, dict):
                for line in dep.get("pip", []):
                    (cd._pip_options if str(line).startswith("-") else cd._pip).append(str(line))
            elif str(dep).startswith("python="):
                cd._python = str(dep).split("=", 1)[1]
            else:
                cd._conda.append(str(dep))
        return cd


class PythonSection(PythonSectionV1Mixin):
    """How the run's Python is provided.

    Attributes
    ----------
    interpreter_path:
        With ``user_managed_dependencies``: the interpreter to run (``"python"``: the current one).
    user_managed_dependencies:
        True: run on ``interpreter_path`` as it is, install nothing.
    conda_dependencies:
        The packages to install (a cached virtualenv is built when the current interpreter lacks any).
    """

    def __init__(self) -> None:
        self.interpreter_path = "python"
        self.user_managed_dependencies = False
        self.conda_dependencies = CondaDependencies()
        self.conda_dependencies_file: str | None = None


class ContainerRegistry:
    """v1's ``environment.docker.base_image_registry``: where a private base image is pulled from.

    The password is never stored with the environment (not in its documents, its hash or its repr): at submit it is
    handed to the container engine's own login (``podman login`` / ``docker login``), whose credential store keeps it.
    """

    def __init__(self, address: str | None = None, username: str | None = None, password: str | None = None) -> None:
        self.address = address
        self.username = username
        self.password = password

    def as_dict(self) -> dict[str, Any]:
        return {"address": self.address, "username": self.username}

    def __repr__(self) -> str:
        secret = "********" if self.password else None
        return f"ContainerRegistry(address={self.address!r}, username={self.username!r}, password={secret!r})"

    def __deepcopy__(self, memo: dict[int, Any]) -> ContainerRegistry:
        return ContainerRegistry(self.address, self.username, self.password)


class DockerSection(DockerSectionV1Mixin):
    """v1's ``environment.docker``: the image a run uses when it runs in a container (compute/container.py)."""

    def __init__(self) -> None:
        self.enabled = False  # deprecated in v1 (DockerConfiguration(use_docker=...)); still honoured
        self._base_image: str | None = DEFAULT_CPU_IMAGE
        self._base_dockerfile: str | None = None
        self.shm_size = "2g"
        self.shared_volumes = True
        self.arguments: builtins.list[str] = []
        self.base_image_registry = ContainerRegistry()

    @property
    def base_image(self) -> str | None:
        return self._base_image

    @base_image.setter
    def base_image(self, value: str | None) -> None:
        self._base_image = value
        if value is not None:
            self._base_dockerfile = None  # v1: base_image and base_dockerfile exclude each other

    @property
    def base_dockerfile(self) -> str | None:
        return self._base_dockerfile

    @base_dockerfile.setter
    def base_dockerfile(self, value: str | None) -> None:
        self._base_dockerfile = value
        if value is not None:
            self._base_image = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "enabled": bool(self.enabled),
            "base_image": self._base_image,
            "base_dockerfile": self._base_dockerfile,
            "shm_size": self.shm_size,
            "shared_volumes": self.shared_volumes,
            "arguments": list(self.arguments),
            # only when set: the hash of every environment without a registry stays what it was
            **({"base_image_registry": self.base_image_registry.as_dict()} if self.base_image_registry.address else {}),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DockerSection:
        sec = cls()
        sec.enabled = bool(d.get("enabled", False))
        sec._base_image = d.get("base_image", DEFAULT_CPU_IMAGE)
        sec._base_dockerfile = d.get("base_dockerfile")
        sec.shm_size = d.get("shm_size", "2g")
        sec.shared_volumes = bool(d.get("shared_volumes", True))
        sec.arguments = list(d.get("arguments", []))
        registry = dict(d.get("base_image_registry") or {})
        sec.base_image_registry = ContainerRegistry(registry.get("address"), registry.get("username"))
        return sec

    def __getitem__(self, key: str) -> Any:  # older code read environment.docker as a dict
        return self.as_dict()[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.as_dict().get(key, default)


class Environment(EnvironmentV1Mixin):
    """A named, versioned description of a run's Python environment.

    Parameters
    ----------
    name:
        The environment name (names starting with ``AzureML`` or ``Microsoft`` are reserved for curated ones).

    Attributes
    ----------
    pin_policy:
        What a build does with a pin that has no build for this Python (old v1 pins such as
        ``scikit-learn==0.22.1``): ``"nearest"`` (the default, also from ``$AMLRUN_ENV_PIN_POLICY``) installs the
        closest version that has one, or keeps the base interpreter's version, and warns; ``"strict"`` fails at
        Preparing.
    """

    pin_policy: str | None = None

    def __init__(self, name: str, **kwargs: Any) -> None:
        self.name = name
        self.version: str | None = None
        self.python = PythonSection()
        self.environment_variables: dict[str, str] = {}
        self.docker = DockerSection()
        self._curated_of: str | None = None  # for a curated name: the local environment it resolved to

    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        # Checked on every assignment: the name becomes a folder of the workspace (clone, register, get).
        self._name = check_environment_name(value)

    # -------------------------------------------------------------- factories
    @staticmethod
    def from_pip_requirements(name: str, file_path: str, pip_version: str | None = None) -> Environment:
        """An environment whose pip packages are the lines of a requirements file (``-r other.txt`` followed)."""
        path = Path(file_path)
        if not path.is_file():
            raise UserErrorException(f"pip requirements file {path} does not exist.")
        env = Environment(name)
        env.python.conda_dependencies.set_pip_requirements(requirement_lines(path, set()))
        return env

    @staticmethod
    def from_conda_specification(name: str, file_path: str) -> Environment:
        """An environment from a conda ``environment.yml`` (channels, dependencies, the pip section)."""
        env = Environment(name)
        env.python.conda_dependencies = CondaDependencies(file_path)
        return env

    def clone(self, new_name: str) -> Environment:
        """A copy under ``new_name`` (unregistered: version None)."""
        check_environment_name(new_name)
        env = copy.deepcopy(self)
        env.name = new_name
        env.version = None
        env._curated_of = None
        return env

    # -------------------------------------------------------------- identity
    def _definition(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "python": {
                "interpreter_path": self.python.interpreter_path,
                "user_managed_dependencies": self.python.user_managed_dependencies,
                "conda_dependencies": self.python.conda_dependencies.as_dict(),
            },
            "environment_variables": dict(self.environment_variables),
            "docker": self.docker.as_dict(),
        }
        if self.pin_policy is not None:  # only when set: the hash of every other definition stays as it was
            d["pin_policy"] = _pin_policy(self.pin_policy)
        return d

    def content_hash(self) -> str:
        """sha256 of the definition (name and version excluded): a registered version's identity."""
        d = self._definition()
        d.pop("name")
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()

    def _build_definition(self) -> dict[str, Any]:
        """What the driver needs to materialise this environment (the run's ``spec.json``)."""
        deps = self.python.conda_dependencies
        return {
            "name": self.name,
            "version": self.version,
            "python": deps.get_python_version(),
            "pip": deps.pip_packages,
            "pip_options": deps.pip_options,
            "conda": deps.conda_packages,
            "channels": deps.conda_channels,
            "user_managed": bool(self.python.user_managed_dependencies),
            "interpreter_path": self.python.interpreter_path,
            "pin_policy": _pin_policy(self.pin_policy),
        }

    @classmethod
    def _from_definition(cls, d: dict[str, Any], version: str | None) -> Environment:
        env = cls(d["name"])
        env.version = version
        py = d.get("python", {})
        env.python.interpreter_path = py.get("interpreter_path", "python")
        env.python.user_managed_dependencies = bool(py.get("user_managed_dependencies", False))
        env.python.conda_dependencies = CondaDependencies._from_dict(py.get("conda_dependencies", {}))
        env.environment_variables = dict(d.get("environment_variables", {}))
        env.docker = DockerSection.from_dict(dict(d.get("docker", {})))
        if d.get("pin_policy"):
            env.pin_policy = str(d["pin_policy"])
        return env

    # -------------------------------------------------------------- registry
    def register(self, workspace: Workspace) -> Environment:
        """Store this definition as a new version (the same definition as the latest returns that version)."""
        if self.name.lower().startswith(_RESERVED_PREFIXES):
            raise UserErrorException(
                f"Environment names starting with 'AzureML' or 'Microsoft' are reserved for curated environments "
                f"({self.name!r}). Register a copy under your own name: env.clone('my-env').register(ws)."
            )
        folder = _env_folder(workspace, self.name)
        with file_lock(folder / ".lock"):
            versions = _versions(folder)
            if versions:
                latest = read_json(folder / f"{versions[-1]}.json")
                if latest and latest.get("hash") == self.content_hash():
                    self.version = str(versions[-1])
                    return self
            if self.version is not None:
                print(
                    "Environment version is set. Attempting to register desired version. To auto-version, reset "
                    "version to None."
                )
            if self.version is not None and not str(self.version).isdigit():
                raise UserErrorException(
                    f"Environment version must be a whole number like '3', got {self.version!r}; set "
                    "env.version = None to register the next version."
                )
            version = int(self.version) if self.version is not None else (versions[-1] + 1 if versions else 1)
            if version in versions:
                raise UserErrorException(
                    f"Environment {self.name!r} version {version} already exists with a different definition; "
                    "versions are immutable. Set env.version = None to register the next version."
                )
            write_json_atomic(
                folder / f"{version}.json", {"definition": self._definition(), "hash": self.content_hash()}
            )
        self.version = str(version)
        return self

    @staticmethod
    def get(workspace: Workspace, name: str, version: str | None = None, label: str | None = None) -> Environment:
        """A registered environment (latest version unless ``version``), or a curated one by its v1 name.

        Raises
        ------
        UserErrorException
            No such name or version; the message lists what exists.
        """
        if version is not None and label is not None:
            raise UserErrorException("Give Environment.get either version= or label=, not both.")
        check_environment_name(name)
        folder = _env_folder(workspace, name)
        versions = _versions(folder)
        if not versions:
            curated = curated_environment(name)
            if curated is not None:
                return curated
            raise EnvironmentNotFoundException(
                f"No environment named {name!r} in workspace {workspace.name!r} (registered: "
                f"{', '.join(sorted(Environment.list(workspace))) or 'none'}; curated: "
                f"{', '.join(CURATED_EXAMPLES)} and the v1 AzureML-* names). "
                "Register one with Environment(name).register(ws)."
            )
        if version is not None and not str(version).isdigit():
            raise UserErrorException(f"Environment version must be a whole number like '2', got {version!r}.")
        v = int(version) if version is not None else versions[-1]
        doc = read_json(folder / f"{v}.json")
        if doc is None:
            raise UserErrorException(f"Environment {name!r} has no version {version}; versions: {versions}.")
        return Environment._from_definition(doc["definition"], str(v))

    @staticmethod
    def list(workspace: Workspace) -> dict[str, Environment]:
        """The registered environments (latest versions) by name; curated names resolve through ``[name]``."""
        root = workspace.path / "environments"
        out = EnvironmentDict()
        if root.is_dir():
            for folder in sorted(p for p in root.iterdir() if p.is_dir()):
                try:
                    out[folder.name] = Environment.get(workspace, folder.name)
                except UserErrorException:
                    continue
        return out

    # -------------------------------------------------------------- the build cache
    @staticmethod
    def list_cache(workspace: Workspace) -> builtins.list[dict[str, Any]]:
        """The built virtualenvs of this workspace's cache: key, name, python, packages, path, size, last use."""
        from jupyter_amlrun.runtime.envcache import list_cache

        return list_cache(workspace.path)

    @staticmethod
    def prune_cache(
        workspace: Workspace, older_than_days: float | None = None, keys: builtins.list[str] | None = None
    ) -> builtins.list[str]:
        """Delete built virtualenvs (all, unused for ``older_than_days``, or ``keys``); ones in use are kept."""
        from jupyter_amlrun.runtime.envcache import prune_cache

        return prune_cache(workspace.path, older_than_days=older_than_days, keys=keys)

    def __repr__(self) -> str:
        return f"Environment(Name: {self.name},\nVersion: {self.version})"


PIN_POLICY_ENV = "AMLRUN_ENV_PIN_POLICY"


def _pin_policy(value: Any) -> str:
    """``env.pin_policy``, else ``$AMLRUN_ENV_PIN_POLICY`` where the run is submitted, else ``nearest``.

    ``nearest``: a pin with no build for this Python installs the closest version that has one (or the base's), with
    a warning in the build log and the run's details; ``strict``: the run fails at Preparing, naming the pin.
    """
    import os

    policy = str(value or os.environ.get(PIN_POLICY_ENV) or "nearest").lower()
    if policy not in ("nearest", "strict"):
        raise UserErrorException(
            f"Unknown pin policy {policy!r} (env.pin_policy or ${PIN_POLICY_ENV}): use 'nearest' (install the "
            "closest version that has a build for this Python) or 'strict' (fail)."
        )
    return policy


class EnvironmentNotFoundException(UserErrorException, KeyError):
    """No registered or curated environment has that name (a KeyError too, for ``ws.environments[name]``)."""

    def __str__(self) -> str:  # KeyError would show the message quoted
        return str(self.args[0]) if self.args else ""


class EnvironmentDict(dict[str, Environment]):
    """``ws.environments``: the registered environments, plus v1 curated names resolved on lookup."""

    def __missing__(self, name: str) -> Environment:
        curated = curated_environment(name) if isinstance(name, str) else None
        if curated is None:
            raise EnvironmentNotFoundException(
                f"No environment named {name!r} (registered: {', '.join(sorted(self)) or 'none'}; curated: "
                f"{', '.join(CURATED_EXAMPLES)} and the v1 AzureML-* names)."
            )
        return curated

    def __contains__(self, name: object) -> bool:
        return dict.__contains__(self, name) or (isinstance(name, str) and _curated_match(name) is not None)


def _env_folder(workspace: Workspace, name: str) -> Path:
    root = (workspace.path / "environments").resolve()
    folder = (root / check_environment_name(name)).resolve()
    if folder.parent != root:
        raise UserErrorException(f"Environment name {name!r} would be stored outside the workspace; rename it.")
    return folder


def _versions(folder: Path) -> builtins.list[int]:
    return sorted(int(p.stem) for p in folder.glob("*.json") if p.stem.isdigit())


# ------------------------------------------------------------------------------------------------ curated
# Ours: what this machine offers without a download when the packages are installed in the current interpreter.
_OURS: dict[str, tuple[str, builtins.list[str]]] = {
    "amlrun-current": ("the current interpreter, as it is", []),
    "amlrun-sklearn": ("scikit-learn with pandas and joblib", ["scikit-learn", "pandas", "joblib"]),
    "amlrun-pytorch": ("PyTorch (CPU)", ["torch"]),
}
# v1 curated names (regex, case-insensitive) -> ours, with what of the original is not there.
_CURATED_PATTERNS: builtins.list[tuple[str, str, str]] = [
    (r"azureml-(acpt-)?pytorch-.*", "amlrun-pytorch", ""),
    (r"azureml-(sklearn|scikit-learn)-.*", "amlrun-sklearn", ""),
    (r"azureml-(lightgbm|xgboost)-.*", "amlrun-sklearn", "add the booster to pip_packages of your own environment"),
    (r"azureml-(tutorial|automl.*|designer.*|responsibleai.*|ai-ml-.*)", "amlrun-sklearn", ""),
    (r"azureml-tensorflow-.*", "amlrun-current", "TensorFlow is not included: add it to pip_packages"),
    (r"azureml-(minimal|basic)(-.*)?", "amlrun-current", ""),
    (r"amlrun-(current|sklearn|pytorch)", "", ""),
]
CURATED_EXAMPLES = (
    "amlrun-current",
    "amlrun-sklearn",
    "amlrun-pytorch",
    "AzureML-Minimal",
    "AzureML-Tutorial",
    "AzureML-sklearn-*",
    "AzureML-PyTorch-*-CPU/GPU",
    "AzureML-TensorFlow-*",
    "AzureML-lightgbm-*",
)


def _curated_match(name: str) -> tuple[str, str] | None:
    for pattern, ours, note in _CURATED_PATTERNS:
        if re.fullmatch(pattern, name, flags=re.IGNORECASE):
            return (ours or name.lower()), note
    return None


def curated_environment(name: str) -> Environment | None:
    """The local environment a curated name resolves to (with a one-line notice on stdout), or None."""
    from importlib import metadata

    match = _curated_match(name)
    if match is None:
        return None
    ours, note = match
    what, packages = _OURS[ours]
    have = []
    pip = []
    for pkg in packages:
        try:
            have.append(f"{pkg} {metadata.version(pkg)}")
            pip.append(pkg)
        except metadata.PackageNotFoundError:
            # Not installed: the run builds it. torch stays pinned to the CPU wheel (a bare 'torch' pulls CUDA).
            pip.append("torch==2.13.0" if pkg == "torch" else pkg)
            have.append(f"{pkg} (not installed: the first run installs it)")
    env = Environment(name)
    env.version = "1"
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=pip)
    env._curated_of = ours
    env.docker.enabled = False
    py = sys.version.split()[0]
    notice = f"Curated environment {name!r} resolves to the local {ours!r} ({what}): Python {py}"
    if have:
        notice += ", " + ", ".join(have)
    if note:
        notice += f"; {note}"
    print(notice + ".")
    return env


# v1's other names for the same classes (azureml.core.environment).
PythonEnvironment = PythonSection
DockerEnvironment = DockerSection
SparkEnvironment = SparkSection
