"""Datastore secrets: kept out of workspace documents, in env vars or a 0600 ``secrets.json`` in the workspace.

Lookup order for a datastore's secret field (``account_key``, ``sas_token``, ``connection_string``):
``AMLRUN_DATASTORE_<NAME>_<FIELD>`` in the environment, then ``<workspace>/secrets.json``.
"""

from __future__ import annotations

import os
import re
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


# A SAS signature in any URL or message, whichever datastore it came from (the SDK reorders query parameters, so
# the token as given is not always found verbatim).
_SIG_RE = re.compile(r"((?:^|[?&;\s'\"])sig(?:=|%3D))[^&;\s'\"]+", re.IGNORECASE)


def secret_forms(secret: str) -> set[str]:
    """Every way ``secret`` can appear in a message: as given, without the leading ``?`` of a SAS, its signature,
    the key and SAS parts of a connection string, each also URL-encoded."""
    from urllib.parse import parse_qsl, quote

    raw = {secret, secret.strip(), secret.strip().lstrip("?")}
    for text in list(raw):
        for part in text.split(";"):
            key, sep, value = part.partition("=")
            if sep and key.strip().lower() in ("accountkey", "sharedaccesssignature") and value:
                raw |= {value.strip(), value.strip().lstrip("?")}
    for text in list(raw):
        if "sig=" in text.lower():
            raw |= {value for name, value in parse_qsl(text.lstrip("?")) if name.lower() == "sig" and value}
    out: set[str] = set()
    for form in raw:
        if len(form) >= 4:  # never mask a trivially short string all over a message
            out |= {form, quote(form, safe=""), quote(form)}
    return out


def scrub(text: str, secrets: list[str | None]) -> str:
    """Remove every secret (in each of its :func:`secret_forms`) and any SAS signature from a message before it is
    shown, logged or stored."""
    forms: set[str] = set()
    for secret in secrets:
        if secret:
            forms |= secret_forms(secret)
    for form in sorted(forms, key=len, reverse=True):  # longest first: a part never leaves half a secret behind
        text = text.replace(form, REDACTED)
    return _SIG_RE.sub(lambda m: m.group(1) + REDACTED, text)


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
