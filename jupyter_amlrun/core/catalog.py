"""The workspace's datastore registrations: which names exist, their documents, the default, and opening one.

A registration is a small JSON document ``<workspace>/datastores/<name>/datastore.json`` (secrets never go in it; see
:mod:`jupyter_amlrun.data._secrets`). The embedded ``workspaceblobstore`` is the folder
``<workspace>/datastores/workspaceblobstore/data`` and exists without registration. A document's ``datastore_type``
picks its class in :data:`jupyter_amlrun.core.registry.datastore_backends`, so core opens any kind without importing
the data layer (the workspace's ``datastores`` and the sidebar use this module; ``Datastore.get`` does too).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_amlrun._util.fileio import read_json, write_json_atomic
from jupyter_amlrun.runtime.errors import DatastoreException

if TYPE_CHECKING:
    from jupyter_amlrun.core.contracts import DatastoreBackend
    from jupyter_amlrun.core.workspace import Workspace

EMBEDDED_NAME = "workspaceblobstore"
DOC_NAME = "datastore.json"
DEFAULT_DOC = "default.json"
NAME_RE = re.compile(r"^[A-Za-z0-9_]{1,255}$")


def folder(workspace: Workspace) -> Path:
    """Where the workspace keeps its datastore registrations."""
    return Path(workspace.path) / "datastores"


def embedded_doc(workspace: Workspace) -> dict[str, Any]:
    """The document of the embedded ``workspaceblobstore``."""
    return {
        "name": EMBEDDED_NAME,
        "datastore_type": "Folder",
        "path": str(folder(workspace) / EMBEDDED_NAME / "data"),
        "embedded": True,
    }


def names(workspace: Workspace) -> list[str]:
    """Every datastore name, the embedded one first."""
    out = [EMBEDDED_NAME]
    root = folder(workspace)
    if root.is_dir():
        out += sorted(p.parent.name for p in root.glob(f"*/{DOC_NAME}") if p.parent.name != EMBEDDED_NAME)
    return out


def read_doc(workspace: Workspace, name: str) -> dict[str, Any]:
    """The registration document of ``name``.

    Raises
    ------
    DatastoreException
        No datastore has that name (the message lists the registered ones).
    """
    if name == EMBEDDED_NAME:
        return embedded_doc(workspace)
    if isinstance(name, str) and NAME_RE.match(name):
        doc = read_json(folder(workspace) / name / DOC_NAME)
        if isinstance(doc, dict):
            return doc
    raise DatastoreException(
        f"No datastore named {name!r} in workspace {workspace.name!r}. Registered datastores: "
        f"{names(workspace)}. Register it with Datastore.register_azure_blob_container(...) or "
        "Datastore.register_folder(...)."
    )


def build(workspace: Workspace, doc: dict[str, Any]) -> DatastoreBackend:
    """The datastore a document describes, through the registry of datastore kinds."""
    from jupyter_amlrun.core.registry import UnknownKindError, datastore_backends

    kind = str(doc.get("datastore_type"))
    try:
        cls = datastore_backends.load(kind)
    except UnknownKindError as exc:
        raise DatastoreException(
            f"Datastore {doc.get('name')!r} has type {kind!r}, which no installed package provides ({exc}). "
            "Install the package that provides it, or unregister the datastore and register it again."
        ) from None
    return cls.from_doc(workspace, doc)


def open_datastore(workspace: Workspace, name: str) -> DatastoreBackend:
    """The datastore registered as ``name``."""
    return build(workspace, read_doc(workspace, name))


def default_name(workspace: Workspace) -> str:
    """The default datastore's name (``workspaceblobstore`` unless changed, or when the default went away)."""
    doc = read_json(folder(workspace) / DEFAULT_DOC) or {}
    name = doc.get("name") if isinstance(doc, dict) else None
    if isinstance(name, str) and name in names(workspace):
        return name
    return EMBEDDED_NAME


def set_default(workspace: Workspace, name: str) -> None:
    """Make ``name`` (a registered datastore) the default."""
    read_doc(workspace, name)
    write_json_atomic(folder(workspace) / DEFAULT_DOC, {"name": name})
