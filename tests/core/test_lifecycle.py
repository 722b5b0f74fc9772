"""Issue 25: faults that end cleanly on their own, with nobody reading the run.

Real drivers, real pip builds (offline: a local project whose in-tree build backend is slow), real SIGKILLs and a
run folder deleted under a live run. What is checked is the state on disk, the processes and the MLflow record
itself (never a reader's answer: a reader must not be what ends a run). Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlrun import CondaDependencies, Environment, Experiment, ScriptRunConfig, Workspace
from jupyter_amlrun.core.envcache import BUILDING_FILE, cache_root
from jupyter_amlrun.core.runfolder import DRIVER_LOG, RunFolder
from tests.conftest import process_alive, wait_for

pytestmark = pytest.mark.integration

# A project whose build backend (in-tree, no build requirements: pip needs no index) takes minutes: the
# hook writes its own pid and its parent's (pip) first, so the test knows which processes the build is made of.
SLOW_PYPROJECT = """
[build-system]
requires = []
build-backend = "slow_backend"
backend-path = ["."]

[project]
name = "amlrun-slowpkg"
version = "0.1"
"""
SLOW_BACKEND = """
import os, time
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pids.txt")
    with open(path + ".tmp", "w") as fh:
        fh.write(f"{os.getpid()} {os.getppid()}\\n")
    os.replace(path + ".tmp", path)
    time.sleep(300)
    raise RuntimeError("never built")
"""


def _state(ws: Workspace, run_id: str) -> dict[str, Any]:
    try:
        return dict(json.loads((ws.path / "runs" / run_id / "state.json").read_text()))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _read_pids(path: Path) -> list[int]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    return [int(p) for p in text.split()] if text.endswith("\n") else []


def _kill_all(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def _half_builds(ws: Workspace) -> list[Path]:
    builds = cache_root(ws.path) / ".builds"
    return sorted(builds.iterdir()) if builds.is_dir() else []


def test_a_driver_killed_during_an_environment_build_takes_pip_with_it(
    ws: Workspace, make_source: Any, tmp_path: Path
) -> None:
    project = make_source({"pyproject.toml": SLOW_PYPROJECT, "slow_backend.py": SLOW_BACKEND}, "slowpkg")
    pids_file = project / "pids.txt"
    env = Environment("slow-build")
    deps = CondaDependencies.create(pip_packages=[str(project)])
    deps.set_pip_option("--no-index")
    env.python.conda_dependencies = deps
    src = make_source({"train.py": "print('never runs')\n"})
    run = Experiment(ws, "envkill").submit(ScriptRunConfig(source_directory=src, script="train.py", environment=env))
    rf = RunFolder(ws.path, run.id)
    build: list[int] = []
    try:
        # pip is in the backend's hook (the build is under way, its half folder on disk)
        assert wait_for(lambda: bool(_read_pids(pids_file)), timeout=120), rf.driver_log.read_text()
        build = _read_pids(pids_file)
        assert all(process_alive(p) for p in build)
        assert _half_builds(ws) and (rf.root / BUILDING_FILE).exists()
        driver = int(_state(ws, run.id)["owner_pid"])
        os.kill(driver, signal.SIGKILL)
        # Nobody reads the run: the guard (or the watchdog) ends pip and its backend and removes the half build.
        assert wait_for(lambda: not any(process_alive(p) for p in build), timeout=60), f"pip lives on: {build}"
        assert wait_for(lambda: not _half_builds(ws), timeout=30), _half_builds(ws)
        assert wait_for(lambda: _state(ws, run.id).get("status") == "Failed", timeout=60)
        assert not (rf.root / BUILDING_FILE).exists()
        assert "environment build" in (rf.root / DRIVER_LOG).read_text()
    finally:
        _kill_all(build)
        shutil.rmtree(cache_root(ws.path), ignore_errors=True)
