"""Datastore secrets: kept out of workspace documents, in env vars or a 0600 ``secrets.json`` in the workspace.

Lookup order for a datastore's secret field (``account_key``, ``sas_token``, ``connection_string``):
``AMLRUN_DATASTORE_<NAME>_<FIELD>`` in the environment, then ``<workspace>/secrets.json``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from jupyter_amlrun._util.fileio import file_lock, read_json, write_json_atomic

SECRET_FIELDS = ("account_key", "sas_token", "connection_string")
SECRETS_FILE = "secrets.json"
REDACTED = "********"


def env_var_name(datastore: str, field: str) -> str:
    """The environment variable that overrides a stored secret."""
    return f"AMLRUN_DATASTORE_{datastore.upper()}_{field.upper()}"


def redact(value: str | None) -> str | None:
    """``None`` stays ``None``; any secret becomes a fixed mask (no prefix or suffix leaks)."""
    return None if value is None else REDACTED


def scrub(text: str, secrets: list[str | None]) -> str:
    """Remove every secret (and its URL-encoded/``sig=`` parts) from a message before it is shown or logged."""
    from urllib.parse import quote

    for secret in secrets:
        if not secret:
            continue
        for form in {secret, quote(secret, safe=""), quote(secret)}:
            text = text.replace(form, REDACTED)
    return text


class SecretStore:
    """The 0600 secrets file of a workspace, keyed by datastore name."""

    def __init__(self, workspace_path: Path) -> None:
        self.path = Path(workspace_path) / SECRETS_FILE
        self._lock = Path(workspace_path) / ".secrets.lock"

    def _read(self) -> dict[str, dict[str, str]]:
        data = read_json(self.path, {}) or {}
        return data if isinstance(data, dict) else {}

    def put(self, datastore: str, values: dict[str, str | None]) -> None:
        """Replace the secrets of ``datastore`` (``None`` values are dropped)."""
        with file_lock(self._lock):
            data = self._read()
            clean = {k: v for k, v in values.items() if v}
            if clean:
                data[datastore] = clean
            else:
                data.pop(datastore, None)
            write_json_atomic(self.path, data, mode=0o600)

    def delete(self, datastore: str) -> None:
        if not self.path.exists():
            return
        with file_lock(self._lock):
            data = self._read()
            if data.pop(datastore, None) is not None:
                write_json_atomic(self.path, data, mode=0o600)

    def get(self, datastore: str) -> dict[str, Any]:
        """Secrets of ``datastore``: environment overrides first, then the file."""
        stored = dict(self._read().get(datastore, {}))
        for field in SECRET_FIELDS:
            value = os.environ.get(env_var_name(datastore, field))
            if value:
                stored[field] = value
        return stored
