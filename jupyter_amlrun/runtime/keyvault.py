"""v1 ``Keyvault``: the workspace's secrets, kept in its 0600 ``secrets.json`` (the file datastore secrets use).

v1 stored them in the workspace's Azure Key Vault; here they stay on this machine, in the same owner-only file as
datastore credentials, under a key no datastore can have (``#keyvault``). An environment variable
``AMLRUN_SECRET_<NAME>`` overrides a stored value (like datastore secrets), so CI can inject them without the file.
Values are never printed, logged or put in run records.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Protocol

from jupyter_amlrun._util.fileio import file_lock, read_json, write_json_atomic
from jupyter_amlrun.runtime.errors import UserErrorException


class Workspace(Protocol):
    """What a Keyvault needs of its workspace (a :class:`jupyter_amlrun.core.workspace.Workspace`)."""

    @property
    def name(self) -> str: ...

    @property
    def path(self) -> Path: ...


SECRETS_FILE = "secrets.json"  # shared with jupyter_amlrun.data._secrets (datastore secrets)
_SECTION = "#keyvault"  # '#' is not allowed in datastore names, so the section never collides with one
_NAME_RE = re.compile(r"^[0-9A-Za-z-]{1,127}$")  # Azure Key Vault's secret name rule


def env_var_name(name: str) -> str:
    """The environment variable that overrides the stored secret ``name``."""
    return "AMLRUN_SECRET_" + name.upper().replace("-", "_")


def _check(name: Any) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise UserErrorException(
            f"Invalid secret name {name!r}: use 1-127 letters, digits and hyphens (Azure Key Vault's rule, kept so "
            "names port back)."
        )
    return name


class Keyvault:
    """The secrets of a workspace (``ws.get_default_keyvault()``).

    Parameters
    ----------
    workspace : Workspace
        The workspace whose ``secrets.json`` holds the secrets.
    """

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._path = workspace.path / SECRETS_FILE
        self._lock = workspace.path / ".secrets.lock"  # the lock datastore secrets take too

    def _all(self) -> dict[str, Any]:
        data = read_json(self._path, {}) or {}
        return data if isinstance(data, dict) else {}

    def _section(self) -> dict[str, dict[str, str]]:
        section = self._all().get(_SECTION, {})
        return section if isinstance(section, dict) else {}

    def _update(self, change: dict[str, dict[str, str] | None]) -> None:
        with file_lock(self._lock):
            data = self._all()
            section = dict(data.get(_SECTION) or {})
            for name, entry in change.items():
                if entry is None:
                    section.pop(name, None)
                else:
                    section[name] = entry
            data[_SECTION] = section
            write_json_atomic(self._path, data, mode=0o600)

    def set_secret(self, name: str, value: str, content_type: str | None = None) -> None:
        """Store ``value`` under ``name`` (replacing it), with an optional content type."""
        self.set_secrets({_check(name): value}, content_type)

    def set_secrets(self, secrets_batch: dict[str, str], content_type: str | None = None) -> None:
        """Store several secrets at once."""
        change: dict[str, dict[str, str] | None] = {}
        for name, value in dict(secrets_batch).items():
            if not isinstance(value, str):
                raise UserErrorException(f"Secret {name!r} must be a string, got {type(value).__name__}.")
            change[_check(name)] = {"value": value, "content_type": content_type or ""}
        self._update(change)

    def get_secret(self, name: str) -> str:
        """The secret ``name`` (``AMLRUN_SECRET_<NAME>`` first, then the file)."""
        value = os.environ.get(env_var_name(_check(name)))
        if value:
            return value
        entry = self._section().get(name)
        if entry is None:
            raise UserErrorException(
                f"Secret {name!r} is not in the workspace's keyvault ({self._path}). Set it with "
                f"ws.get_default_keyvault().set_secret({name!r}, value) or the environment variable "
                f"{env_var_name(name)}."
            )
        return str(entry["value"])

    def get_secrets(self, secrets: list[str]) -> dict[str, str]:
        """Several secrets at once, by name."""
        return {name: self.get_secret(name) for name in secrets}

    def get_secret_content_type(self, name: str) -> str:
        """The content type stored with ``name`` (``""`` when none)."""
        self.get_secret(name)  # same not-found error
        return str(self._section().get(name, {}).get("content_type", ""))

    def list_secrets(self) -> list[dict[str, str]]:
        """The stored secret names (v1: a list of ``{"name": ...}``; values are not listed)."""
        return [{"name": name} for name in sorted(self._section())]

    def delete_secret(self, name: str) -> None:
        """Remove ``name``; removing a missing secret raises with the names that exist."""
        if _check(name) not in self._section():
            raise UserErrorException(f"Secret {name!r} is not in the workspace's keyvault; known: {self._names()}.")
        self._update({name: None})

    def delete_secrets(self, secrets: list[str]) -> None:
        """Remove several secrets."""
        for name in secrets:
            self.delete_secret(name)

    def _names(self) -> list[str]:
        return sorted(self._section())

    def __repr__(self) -> str:
        return f"Keyvault(workspace={self.workspace.name!r}, secrets={len(self._section())})"
