"""Environment and CondaDependencies: versioned JSON documents in the workspace.

Runs use the submitting interpreter for now; an environment's hash is recorded on each run so cached venvs can key on
it later.
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
from jupyter_amlrun.core.errors import UserErrorException

if TYPE_CHECKING:
    from jupyter_amlrun.core.workspace import Workspace

_NAME_RE = re.compile(r"^[A-Za-z0-9][\w.\-]{0,254}$")


class CondaDependencies:
    """Conda and pip package lists of an environment (v1 API subset)."""

    def __init__(self, conda_dependencies_file_path: str | None = None) -> None:
        self._conda: builtins.list[str] = []
        self._pip: builtins.list[str] = []
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
            if not line.startswith(" ") and stripped.endswith(":"):
                section = stripped[:-1]
                continue
            if stripped.startswith("- pip:"):
                section = "pip"
                continue
            item = stripped.lstrip("- ").strip()
            if section == "channels":
                self.add_channel(item)
            elif section == "pip":
                self.add_pip_package(item)
            elif section == "dependencies":
                if item.startswith("python"):
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
        """Create a dependency list from package names."""
        cd = CondaDependencies()
        for p in pip_packages or []:
            cd.add_pip_package(p)
        for p in conda_packages or []:
            cd.add_conda_package(p)
        if python_version:
            cd.set_python_version(python_version)
        return cd

    def add_pip_package(self, pip_package: str) -> None:
        if pip_package not in self._pip:
            self._pip.append(pip_package)

    def remove_pip_package(self, pip_package: str) -> None:
        self._pip = [p for p in self._pip if p != pip_package]

    def add_conda_package(self, conda_package: str) -> None:
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
    def conda_packages(self) -> builtins.list[str]:
        return list(self._conda)

    @property
    def conda_channels(self) -> builtins.list[str]:
        return list(self._channels)

    def as_dict(self) -> dict[str, Any]:
        deps: builtins.list[Any] = [f"python={self._python}", *self._conda]
        if self._pip:
            deps.append({"pip": list(self._pip)})
        return {"name": "project_environment", "channels": list(self._channels), "dependencies": deps}

    def serialize_to_string(self) -> str:
        lines = ["name: project_environment", "channels:"]
        lines += [f"  - {c}" for c in self._channels]
        lines += ["dependencies:", f"  - python={self._python}"]
        lines += [f"  - {c}" for c in self._conda]
        if self._pip:
            lines += ["  - pip:"] + [f"    - {p}" for p in self._pip]
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
                cd._pip = list(dep.get("pip", []))
            elif str(dep).startswith("python="):
                cd._python = str(dep).split("=", 1)[1]
            else:
                cd._conda.append(str(dep))
        return cd


class PythonSection:
    """How the run's Python is provided."""

    def __init__(self) -> None:
        self.interpreter_path = "python"
        self.user_managed_dependencies = False
        self.conda_dependencies = CondaDependencies()
        self.conda_dependencies_file: str | None = None


class Environment:
    """A named, versioned description of a run's Python environment.

    Parameters
    ----------
    name:
        The environment name (names starting with ``AzureML`` or ``Microsoft`` are reserved for curated ones).
    """

    def __init__(self, name: str, **kwargs: Any) -> None:
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise UserErrorException(
                f"Invalid environment name {name!r}: use letters, digits, '.', '-' and '_', starting with a letter "
                "or digit."
            )
        self.name = name
        self.version: str | None = None
        self.python = PythonSection()
        self.environment_variables: dict[str, str] = {}
        self.docker: dict[str, Any] = {"enabled": False, "base_image": None}

    # -------------------------------------------------------------- factories
    @staticmethod
    def from_pip_requirements(name: str, file_path: str, pip_version: str | None = None) -> Environment:
        path = Path(file_path)
        if not path.is_file():
            raise UserErrorException(f"pip requirements file {path} does not exist.")
        env = Environment(name)
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                env.python.conda_dependencies.add_pip_package(line)
        return env

    @staticmethod
    def from_conda_specification(name: str, file_path: str) -> Environment:
        env = Environment(name)
        env.python.conda_dependencies = CondaDependencies(file_path)
        return env

    def clone(self, new_name: str) -> Environment:
        env = copy.deepcopy(self)
        env.name = new_name
        env.version = None
        return env

    # -------------------------------------------------------------- identity
    def _definition(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "python": {
                "interpreter_path": self.python.interpreter_path,
                "user_managed_dependencies": self.python.user_managed_dependencies,
                "conda_dependencies": self.python.conda_dependencies.as_dict(),
            },
            "environment_variables": dict(self.environment_variables),
            "docker": dict(self.docker),
        }

    def content_hash(self) -> str:
        """sha256 of the definition (name and version excluded): the cache key of a built environment."""
        d = self._definition()
        d.pop("name")
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()

    @classmethod
    def _from_definition(cls, d: dict[str, Any], version: str | None) -> Environment:
        env = cls(d["name"])
        env.version = version
        py = d.get("python", {})
        env.python.interpreter_path = py.get("interpreter_path", "python")
        env.python.user_managed_dependencies = bool(py.get("user_managed_dependencies", False))
        env.python.conda_dependencies = CondaDependencies._from_dict(py.get("conda_dependencies", {}))
        env.environment_variables = dict(d.get("environment_variables", {}))
        env.docker = dict(d.get("docker", {}))
        return env

    # -------------------------------------------------------------- registry
    def register(self, workspace: Workspace) -> Environment:
        """Store this definition as a new version (the same definition as the latest returns that version)."""
        folder = workspace.path / "environments" / self.name
        with file_lock(folder / ".lock"):
            versions = sorted(int(p.stem) for p in folder.glob("*.json") if p.stem.isdigit())
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
            version = (
                int(self.version) if self.version and self.version.isdigit() else (versions[-1] + 1 if versions else 1)
            )
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
        folder = workspace.path / "environments" / name
        versions = sorted(int(p.stem) for p in folder.glob("*.json") if p.stem.isdigit())
        if not versions:
            known = ", ".join(sorted(Environment.list(workspace))) or "none"
            raise UserErrorException(
                f"No environment named {name!r} in workspace {workspace.name!r} (registered: {known}). "
                "Register one with Environment(name).register(ws)."
            )
        v = int(version) if version is not None else versions[-1]
        doc = read_json(folder / f"{v}.json")
        if doc is None:
            raise UserErrorException(f"Environment {name!r} has no version {version}; versions: {versions}.")
        return Environment._from_definition(doc["definition"], str(v))

    @staticmethod
    def list(workspace: Workspace) -> dict[str, Environment]:
        root = workspace.path / "environments"
        out: dict[str, Environment] = {}
        if root.is_dir():
            for folder in sorted(p for p in root.iterdir() if p.is_dir()):
                try:
                    out[folder.name] = Environment.get(workspace, folder.name)
                except UserErrorException:
                    continue
        return out

    def __repr__(self) -> str:
        return f"Environment(Name: {self.name},\nVersion: {self.version})"
