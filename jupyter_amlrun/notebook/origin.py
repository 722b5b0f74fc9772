"""The notebook a ``%%submit`` run came from: recorded in the run's properties, and a copy of the notebook as it was
at submit kept under the run's ``outputs/notebook/``.

The kernel finds its notebook through ``JPY_SESSION_NAME``, which jupyter_server sets for the kernels it starts (the
session's path, relative to the server's root; the kernel starts in the notebook's folder).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

SESSION_ENV = "JPY_SESSION_NAME"
MAX_COPY_ENV = "AMLRUN_NOTEBOOK_COPY_MAX_BYTES"
MAX_COPY_BYTES = 20 * 1024 * 1024
MAX_SOURCE_CHARS = 4000  # a property is an MLflow tag: its value is bounded
COPY_FOLDER = "outputs/notebook"


def notebook_path() -> Path | None:
    """The kernel's notebook file, or None outside a jupyter_server session (a console, a script)."""
    name = os.environ.get(SESSION_ENV)
    if not name:
        return None
    path = Path(name)
    candidates = [path] if path.is_absolute() else [Path.cwd() / path.name, Path.cwd() / path]
    try:
        from jupyter_amlrun._util.portal import find_server

        server = find_server()
        if server is not None and not path.is_absolute():
            candidates.append(Path(server.root_dir) / path)
    except Exception:  # no server found: the candidates above stand
        pass
    return next((c.resolve() for c in candidates if c.is_file()), None)


def jupyter_root() -> str | None:
    """The root folder of the Jupyter server this kernel belongs to (resolved), or None when none is found."""
    try:
        from jupyter_amlrun._util.portal import find_server

        server = find_server()
    except Exception:  # no runtime folder, unreadable server files: no root, the origin shows without a link
        return None
    return str(Path(server.root_dir).resolve()) if server is not None else None


def _cell_index(notebook: Path, source: str) -> int | None:
    """The index of the cell with ``source`` in the notebook as saved (None when not saved with it yet)."""
    try:
        cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError):
        return None
    for i, cell in enumerate(cells):
        text = cell.get("source", "")
        if ("".join(text) if isinstance(text, list) else str(text)).strip() == source.strip():
            return i
    return None


def record_notebook(run: Any, line: str, cell: str, execution_count: int | None = None) -> dict[str, str]:
    """Record where the ``%%submit`` cell (``line`` and ``cell``) came from in ``run``'s properties and upload a copy
    of the notebook (at most ``AMLRUN_NOTEBOOK_COPY_MAX_BYTES``, 20 MB by default) to ``outputs/notebook/``.

    Returns the properties added. A notebook too large to copy is said in the cell's output and in the property
    ``notebook_copy``.
    """
    source = f"%%submit {line}\n{cell}".rstrip("\n")
    props: dict[str, str] = {
        "notebook_cell_source": source[:MAX_SOURCE_CHARS],
        "notebook_python": f"{sys.executable} ({sys.version.split()[0]})",
    }
    if execution_count is not None:
        props["notebook_execution_count"] = str(execution_count)
    path = notebook_path()
    if path is not None:
        props["notebook_path"] = str(path)
        index = _cell_index(path, source)
        if index is not None:
            props["notebook_cell_index"] = str(index)
        cap = int(os.environ.get(MAX_COPY_ENV) or MAX_COPY_BYTES)
        size = path.stat().st_size
        if size > cap:
            note = f"skipped: the notebook is {size} bytes, over the {cap}-byte cap ({MAX_COPY_ENV})"
            props["notebook_copy"] = note
            print(f"Run {run.id}: the copy of {path.name} was {note}.")
        else:
            run.upload_file(f"{COPY_FOLDER}/{path.name}", str(path))
            props["notebook_copy"] = f"{COPY_FOLDER}/{path.name}"
    run.add_properties(props)
    return props
