"""The ``jupyter_amlrun`` Jupyter server extension: the REST API under ``{base_url}amlrun/api/``.

The workspace is found from the server's ``root_dir`` like ``Workspace.from_config(path=root_dir)`` (the embedded
default when there is no config), unless configured::

    # jupyter_server_config.py, or: jupyter lab --AmlrunExtension.workspace_path=/data/ws
    c.AmlrunExtension.workspace_path = "/data/ws"  # a workspace folder, or a folder to search for config.json
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Float, Int, Unicode

from jupyter_amlrun.core.workspace import WORKSPACE_FILE, Workspace


def open_workspace(path: str | Path) -> Workspace:
    """The workspace at ``path`` when it is one, else the one ``from_config`` finds from ``path``."""
    folder = Path(path).expanduser()
    if (folder / WORKSPACE_FILE).is_file():
        return Workspace(path=folder)
    return Workspace.from_config(path=folder)


class AmlrunExtension(ExtensionApp):
    """Serves the sidebar's REST API over the workspace of the server's root folder."""

    name = "jupyter_amlrun"
    load_other_extensions = True

    workspace_path = Unicode(
        "",
        config=True,
        help=(
            "The workspace the sidebar shows: a workspace folder, or a folder where the search for "
            ".amlrun/config.json (then .azureml/config.json, then config.json, walking up) starts. Empty: the "
            "server's root_dir."
        ),
    )

    workers = Int(
        4,
        config=True,
        help=(
            "Threads that serve the API's requests (they read files and the tracking store). Bounded and apart from "
            "the server's own threads, so a burst of slow requests never holds the rest of Jupyter."
        ),
    )
    heavy_workers = Int(
        2,
        config=True,
        help="Threads of a separate pool for the slow routes (metric series, run views): light routes never wait.",
    )
    request_timeout = Float(
        20.0,
        config=True,
        help=(
            "Seconds a request may wait and work before it answers 503 (busy: retry); a request still queued then "
            "is dropped, one already working finishes in its thread."
        ),
    )

    def initialize_settings(self) -> None:
        self._workspace: Workspace | None = None
        self._lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max(1, self.workers), thread_name_prefix="amlrun-rest")
        self.heavy_pool = ThreadPoolExecutor(max(1, self.heavy_workers), thread_name_prefix="amlrun-rest-heavy")

    async def stop_extension(self) -> None:
        for pool in (self.pool, self.heavy_pool):
            pool.shutdown(wait=False, cancel_futures=True)

    def initialize_handlers(self) -> None:
        from jupyter_amlrun.server.handlers import routes

        self.handlers.extend(routes())

    @property
    def root_dir(self) -> Path:
        """The Jupyter server's root folder (model downloads land inside it)."""
        server: Any = self.serverapp
        return Path(server.root_dir if server is not None else ".").expanduser().resolve()

    def workspace(self) -> Workspace:
        """The workspace, opened on first use (so a bad config shows as an API error, not a failed server start)."""
        with self._lock:
            if self._workspace is None:
                ws = open_workspace(self.workspace_path or self.root_dir)
                # the tracking client (and mlflow's import) made once here: the first burst of requests would
                # otherwise import mlflow in several threads at once, and some see it half imported (ImportError)
                ws.store.client  # noqa: B018
                self._workspace = ws
            return self._workspace
