"""Which Jupyter server this process belongs to, and the URL that opens a run in its AML sidebar.

A Jupyter server writes ``jpserver-<pid>.json`` (url, base_url, port, pid, root_dir, and its token, which is never
read here) into the Jupyter runtime folder while it runs. A kernel is a child process of its server, so the server
whose pid is an ancestor of this process is the one. When none is (a script of a submitted run: its supervisor is
detached), a running server whose ``root_dir`` holds the current folder or the workspace is taken; else none.

This module imports no jupyter_server; ``jupyter_core`` (for the runtime folder) only when it is installed.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PORTAL_ENV = "AMLRUN_PORTAL_URL"  # a lab URL (``http://host:port/base/lab``) that wins over the discovery
DEFAULT_LAB = "http://localhost:8888/lab"  # what `jupyter lab` serves by default
RUN_PARAM = "amlrun-run"
EXPERIMENT_PARAM = "amlrun-experiment"
HOW_TO_OPEN = (
    "no Jupyter server found for this process; start `jupyter lab` (default port 8888) and open the AML tab in the "
    "left sidebar"
)


@dataclass(frozen=True)
class JupyterServer:
    """A running Jupyter server, as its runtime file describes it (no token)."""

    pid: int
    url: str  # scheme://host:port/ (base_url applied by :attr:`base`)
    base_url: str
    root_dir: str
    info_file: Path

    @property
    def base(self) -> str:
        """``scheme://host:port{base_url}``, ending in ``/``."""
        parts = urllib.parse.urlsplit(self.url)
        base_url = "/" + self.base_url.strip("/") + "/" if self.base_url.strip("/") else "/"
        return f"{parts.scheme}://{parts.netloc}{base_url}"

    def lab_url(self) -> str:
        return f"{self.base}lab"


def runtime_dir() -> Path:
    """The Jupyter runtime folder (``jupyter --runtime-dir``)."""
    try:
        from jupyter_core.paths import jupyter_runtime_dir
    except ImportError:  # jupyter_core absent: its rule (JUPYTER_RUNTIME_DIR, else <data dir>/runtime)
        if os.environ.get("JUPYTER_RUNTIME_DIR"):
            return Path(os.environ["JUPYTER_RUNTIME_DIR"])
        data = os.environ.get("JUPYTER_DATA_DIR")
        if data:
            return Path(data) / "runtime"
        if sys.platform == "darwin":
            return Path.home() / "Library" / "Jupyter" / "runtime"
        xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        return Path(xdg) / "jupyter" / "runtime"
    return Path(jupyter_runtime_dir())


def _pid_alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _read_server(path: Path) -> JupyterServer | None:
    try:
        doc: Any = json.loads(path.read_text(encoding="utf-8"))
        pid = int(doc["pid"])
        url = str(doc["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # half-written, or not a server's file
    return JupyterServer(pid, url, str(doc.get("base_url") or "/"), str(doc.get("root_dir") or ""), path)


def running_servers(folder: Path | None = None) -> list[JupyterServer]:
    """The servers whose runtime files are in ``folder`` (default: :func:`runtime_dir`) and whose process lives,
    newest file first."""
    folder = runtime_dir() if folder is None else folder
    try:
        files = [p for p in folder.glob("jpserver-*.json") if p.name[len("jpserver-") : -len(".json")].isdigit()]
    except OSError:
        return []
    files.sort(key=lambda p: p.stat().st_mtime if p.exists() else 0.0, reverse=True)
    servers = [s for s in map(_read_server, files) if s is not None]
    return [s for s in servers if _pid_alive(s.pid)]


def ancestors(pid: int | None = None) -> list[int]:
    """The pids of the parents of ``pid`` (default: this process), nearest first."""
    import psutil

    try:
        return [p.pid for p in psutil.Process(os.getpid() if pid is None else pid).parents()]
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return []


def _inside(path: Path, root: str) -> bool:
    if not root:
        return False
    try:
        return path.resolve().is_relative_to(Path(root).resolve())
    except OSError:
        return False


def find_server(
    pid: int | None = None,
    cwd: Path | None = None,
    folder: Path | None = None,
    near: Sequence[Path] = (),
) -> JupyterServer | None:
    """The Jupyter server that process ``pid`` (default: this one) belongs to, or ``None``.

    The server that is an ancestor of the process wins; else a server whose root_dir holds ``cwd`` (default: the
    current folder) or one of the ``near`` folders (the workspace), the deepest root first. No other guess: a link to
    an unrelated server would open the wrong workspace.
    """
    servers = running_servers(folder)
    if not servers:
        return None
    by_pid = {s.pid: s for s in servers}
    for parent in ancestors(pid):
        if parent in by_pid:
            return by_pid[parent]
    for place in (Path.cwd() if cwd is None else cwd, *near):
        holding = [s for s in servers if _inside(place, s.root_dir)]
        if holding:
            return max(holding, key=lambda s: len(Path(s.root_dir).resolve().parts))
    return None


@dataclass(frozen=True)
class PortalLink:
    """A URL that opens something in the sidebar; ``found`` is false when no Jupyter server was found (the URL then
    assumes `jupyter lab`'s default port and :data:`HOW_TO_OPEN` says what to do)."""

    url: str
    found: bool

    def text(self) -> str:
        """The URL, with the advice of :data:`HOW_TO_OPEN` when no server was found (for printed lines)."""
        return self.url if self.found else f"{self.url} ({HOW_TO_OPEN})"


def lab_link(param: str, value: str, near: Sequence[Path] = ()) -> PortalLink:
    """``<lab url>?<param>=<value>`` of this process's Jupyter server (``$AMLRUN_PORTAL_URL`` wins), never with a
    token; ``near``: folders (the workspace) a server's root may hold when the process is not the server's child."""
    query = urllib.parse.urlencode({param: value})
    override = os.environ.get(PORTAL_ENV)
    if override:
        return PortalLink(f"{override.split('?', 1)[0].rstrip('/')}?{query}", True)
    server = find_server(near=near)
    if server is not None:
        return PortalLink(f"{server.lab_url()}?{query}", True)
    return PortalLink(f"{DEFAULT_LAB}?{query}", False)


def run_link(run_id: str, near: Sequence[Path] = ()) -> PortalLink:
    """The link that opens run ``run_id`` in the sidebar."""
    return lab_link(RUN_PARAM, run_id, near)


def experiment_link(name: str, near: Sequence[Path] = ()) -> PortalLink:
    """The link that opens experiment ``name``'s runs in the sidebar."""
    return lab_link(EXPERIMENT_PARAM, name, near)
