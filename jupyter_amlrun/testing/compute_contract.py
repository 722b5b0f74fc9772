"""The compute backend contract suite (the fsspec pattern).

A backend's test module subclasses :class:`ComputeBackendContract` (as ``TestMyBackend``) and provides two
fixtures: ``ws``, a workspace, and ``target``, the name of a compute target of its kind (usable in
``ScriptRunConfig(compute_target=...)``). ``backend``, the target's
:class:`~jupyter_amlrun.core.contracts.ComputeBackend` through the registry, comes from here. Needs pytest.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlrun._util.procs import process_alive
from jupyter_amlrun.core.experiment import Experiment
from jupyter_amlrun.core.runconfig import PyTorchConfiguration, ScriptRunConfig
from jupyter_amlrun.runtime.runfolder import RunFolder
from jupyter_amlrun.testing.helpers import wait_for, write_tree

LONG_SCRIPT = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
open("pids.txt", "w").write(f"{os.getpid()} {child.pid}")
print("started", flush=True)
time.sleep(600)
"""
RANKS_SCRIPT = """
import os
print("RANK", os.environ["RANK"], "WORLD", os.environ["WORLD_SIZE"], flush=True)
"""


class ComputeBackendContract:
    """What every compute backend must do."""

    @pytest.fixture
    def target(self) -> str:
        raise NotImplementedError

    @pytest.fixture
    def make_source(self, tmp_path: Path) -> Callable[..., Path]:
        """``make_source({"train.py": "..."}, name="src")`` writes a source folder (text is dedented)."""

        def make(files: dict[str, str], name: str = "src") -> Path:
            return write_tree(tmp_path / name, files)

        return make

    @pytest.fixture
    def backend(self, ws: Any, target: str) -> Any:
        from jupyter_amlrun.core.computetarget import resolve_backend

        return resolve_backend(ws, target)

    def _submit(self, ws: Any, make_source: Any, target: str, script: str, **kw: Any) -> Any:
        src = make_source({"train.py": script}, name=kw.pop("name", "src"))
        cfg = ScriptRunConfig(source_directory=src, script="train.py", compute_target=target, **kw)
        return Experiment(ws, "contract").submit(cfg)

    def test_describe_is_plain_data(self, backend: Any, target: str) -> None:
        info = backend.describe()
        assert info["name"] == target
        assert isinstance(info["type"], str)

    def test_launch_runs_to_completion(self, ws: Any, make_source: Any, target: str, backend: Any) -> None:
        run = self._submit(ws, make_source, target, "print('hello from the target')\n")
        details = run.wait_for_completion()
        assert details["status"] == "Completed"
        assert backend.status(RunFolder(ws.path, run.id)) == "Completed"
        assert "logs/user_logs/std_log.txt" in run.get_file_names()

    def test_log_sources_are_live(self, ws: Any, make_source: Any, target: str, backend: Any) -> None:
        run = self._submit(ws, make_source, target, LONG_SCRIPT)
        rf = RunFolder(ws.path, run.id)
        try:
            assert wait_for(lambda: "started" in _read(backend.log_sources(rf).get("logs/user_logs/std_log.txt")))
            assert "logs/azureml/driver_log.txt" in backend.log_sources(rf)
        finally:
            backend.cancel(rf)
            assert wait_for(lambda: backend.status(rf) == "Canceled", timeout=30)

    def test_cancel_ends_the_whole_tree(self, ws: Any, make_source: Any, target: str, backend: Any) -> None:
        run = self._submit(ws, make_source, target, LONG_SCRIPT)
        rf = RunFolder(ws.path, run.id)
        pids_file = rf.workdir / "pids.txt"
        assert wait_for(lambda: pids_file.exists() and len(pids_file.read_text().split()) == 2, timeout=60)
        pids = [int(p) for p in pids_file.read_text().split()]
        backend.cancel(rf)
        assert wait_for(lambda: backend.status(rf) == "Canceled", timeout=30)
        assert wait_for(lambda: not any(process_alive(p) for p in pids), timeout=10)
        assert run.get_details()["error"]["error"]["message"] == "Canceled by user"

    def test_cancel_keeps_its_reason(self, ws: Any, make_source: Any, target: str, backend: Any) -> None:
        run = self._submit(ws, make_source, target, LONG_SCRIPT)
        rf = RunFolder(ws.path, run.id)
        assert wait_for(lambda: rf.read_state().status == "Running", timeout=60)
        backend.cancel(rf, "early termination by a test policy")
        assert wait_for(lambda: backend.status(rf) == "Canceled", timeout=30)
        assert run.get_details()["error"]["error"]["message"] == "early termination by a test policy"

    def test_failure_reports_exit_code(self, ws: Any, make_source: Any, target: str, backend: Any) -> None:
        run = self._submit(ws, make_source, target, "import sys\nprint('about to fail')\nsys.exit(3)\n")
        details = run.wait_for_completion(raise_on_error=False)
        assert details["status"] == "Failed"
        assert details["exitCode"] == 3
        assert "about to fail" in details["error"]["error"]["message"]

    def test_distributed_ranks_get_their_rank(self, ws: Any, make_source: Any, target: str, backend: Any) -> None:
        """``launch_ranks`` starts every rank with its RANK and WORLD_SIZE, each writing its own log."""
        pytest.importorskip("torch", reason="the ranks are started by torch's launcher (torch.distributed.run)")
        dist = PyTorchConfiguration(process_count=2, node_count=1)
        run = self._submit(ws, make_source, target, RANKS_SCRIPT, distributed_job_config=dist)
        details = run.wait_for_completion(raise_on_error=False)
        assert details["status"] == "Completed", details
        rf = RunFolder(ws.path, run.id)
        for rank in (0, 1):
            assert f"RANK {rank} WORLD 2" in _read(rf.rank_log(rank))


def _read(path: Path | None) -> str:
    try:
        return path.read_text() if path else ""
    except FileNotFoundError:
        return ""
