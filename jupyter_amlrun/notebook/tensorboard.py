"""TensorBoard over the logs of runs (v1's ``azureml.tensorboard.Tensorboard``).

A run's script writes event files under ``./logs`` (v1's convention). While the run is live on this machine,
TensorBoard reads that folder in place, so new points show as the script writes them; once the run has ended, the
files uploaded as the run's ``logs/`` artifacts are downloaded into ``local_root`` first. TensorBoard itself runs as
a subprocess bound to 127.0.0.1 and ends with :meth:`Tensorboard.stop` (or when this Python process exits).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from jupyter_amlrun._util.procs import kill_tree
from jupyter_amlrun.runtime.errors import UserErrorException
from jupyter_amlrun.runtime.runfolder import RunFolder
from jupyter_amlrun.runtime.status import is_terminal

if TYPE_CHECKING:
    from jupyter_amlrun.core.run import Run

__all__ = ["Tensorboard", "TensorboardException"]

START_TIMEOUT_SECONDS = 60.0
_started: list[Tensorboard] = []


class TensorboardException(UserErrorException):
    """TensorBoard is missing, was given no runs, or did not start."""


class Tensorboard:
    LOGS_ARTIFACT_PREFIX = "logs/"  # v1's: the run files TensorBoard reads (each run's logs/ folder)

    """TensorBoard for one or more runs.

    Parameters
    ----------
    runs:
        The runs whose ``logs/`` folders to show (each one is a TensorBoard "run", named by its run id).
    local_root:
        Where the logs of finished runs are downloaded (default: a temporary folder, removed by :meth:`stop`).
    port:
        The port on 127.0.0.1; ``None`` picks a free one (v1's default 6006 is used when it is free).

    Examples
    --------
    >>> tb = Tensorboard([run])           # doctest: +SKIP
    >>> tb.start()                        # doctest: +SKIP
    'http://127.0.0.1:6006/'
    >>> tb.stop()                         # doctest: +SKIP
    """

    def __init__(self, runs: Sequence[Run], local_root: str | None = None, port: int | None = 6006) -> None:
        runs = list(runs) if not hasattr(runs, "id") else [runs]  # type: ignore[list-item]
        if not runs:
            raise TensorboardException("Tensorboard needs at least one run: Tensorboard([run]).")
        for run in runs:
            if not hasattr(run, "download_files") or not hasattr(run, "id"):
                raise TensorboardException(f"Tensorboard takes runs, got {type(run).__name__}.")
        self.runs = runs
        self.port = port
        self._own_root = local_root is None
        self.local_root = Path(local_root or tempfile.mkdtemp(prefix="amlrun-tensorboard-"))
        self._proc: subprocess.Popen[bytes] | None = None
        self.url: str | None = None

    def log_dirs(self) -> dict[str, Path]:
        """The folder TensorBoard reads for each run: the live ``./logs`` of a running run, else its downloaded logs."""
        out: dict[str, Path] = {}
        for run in self.runs:
            live = RunFolder(run.experiment.workspace.path, run.id).workdir / "logs"
            if live.is_dir() and not is_terminal(run.get_status()):
                out[run.id] = live
                continue
            target = self.local_root / run.id
            target.mkdir(parents=True, exist_ok=True)
            run.download_files(prefix="logs", output_directory=str(target), append_prefix=False)
            out[run.id] = target
        return out

    def start(self, start_browser: bool = False) -> str:
        """Start TensorBoard and return its URL (once it answers).

        Raises
        ------
        TensorboardException
            TensorBoard is not installed, or it did not answer within a minute (its output is in the message).
        """
        if self._proc is not None and self._proc.poll() is None:
            assert self.url is not None
            return self.url
        if importlib.util.find_spec("tensorboard") is None:
            raise TensorboardException(
                "TensorBoard is not installed. Install it with: pip install 'jupyter_amlrun[tensorboard]'"
            )
        spec = ",".join(f"{name}:{path}" for name, path in self.log_dirs().items())
        port = self.port if self.port and _free(self.port) else _free_port()
        log = open(self.local_root / "tensorboard.log", "wb")  # noqa: SIM115 - the subprocess writes it
        cmd = [
            sys.executable,
            "-m",
            "tensorboard.main",
            "--logdir_spec",
            spec,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--reload_interval",
            "2",
        ]
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        self._proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        log.close()
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                break
            with contextlib.suppress(OSError), urllib.request.urlopen(url + "data/environment", timeout=2):
                self.url = url
                break
            time.sleep(0.3)
        if self.url is None:
            output = (self.local_root / "tensorboard.log").read_text(errors="replace")[-2000:]
            self.stop()
            raise TensorboardException(f"TensorBoard did not start on {url}. Its output:\n{output}")
        _started.append(self)
        print(f"TensorBoard for {len(self.runs)} run(s) at {self.url}")
        if start_browser:
            import webbrowser

            webbrowser.open(self.url)
        return self.url

    def stop(self) -> None:
        """Stop TensorBoard (and remove the downloaded logs when the folder was a temporary one)."""
        if self._proc is not None:
            kill_tree(self._proc.pid, [self._proc.pid], grace=3.0)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=5)
            self._proc = None
        self.url = None
        if self in _started:
            _started.remove(self)
        if self._own_root:
            import shutil

            shutil.rmtree(self.local_root, ignore_errors=True)

    def __repr__(self) -> str:
        return f"Tensorboard(runs={[r.id for r in self.runs]!r}, url={self.url!r})"


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@atexit.register
def _stop_all() -> None:
    for tb in list(_started):
        tb.stop()
