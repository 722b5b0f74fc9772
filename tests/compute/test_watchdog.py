"""Issue 25, runs end by themselves: the workspace's watchdog ends runs whose supervisor died, with nobody reading.

Real pools, real drivers and guards killed with SIGKILL, a real sweep controller killed. The test never reads a
run's status through the API while it waits (that read used to be what ended such a run): it reads ``state.json``.
Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from jupyter_amlrun import AmlCompute, ComputeTarget, Experiment, Run, ScriptRunConfig, Workspace
from jupyter_amlrun.runtime.runfolder import RunFolder
from jupyter_amlrun.runtime.watchdog import lock_path
from tests.compute.test_liveness import STAMP, STUBBORN, _kill_all, _read_pids  # the same scripts and helpers
from tests.conftest import process_alive, wait_for

pytestmark = pytest.mark.integration

TERMINAL = {"Completed", "Failed", "Canceled"}


def _state(ws: Workspace, run_id: str) -> dict[str, Any]:
    try:
        return dict(json.loads((ws.path / "runs" / run_id / "state.json").read_text()))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _guards(run_id: str) -> list[int]:
    """The pids of the run's guard process (found by its command line)."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmd = proc.info.get("cmdline") or []
        if "jupyter_amlrun.compute._guard" in cmd and run_id in cmd:
            found.append(int(proc.info["pid"]))
    return found


def _submit(ws: Workspace, src: Path, target: Any, args: list[Any]) -> Run:
    cfg = ScriptRunConfig(source_directory=src, script="train.py", compute_target=target, arguments=args)
    return Experiment(ws, "watchdog").submit(cfg)


def _kill_driver_and_guard(ws: Workspace, run_id: str) -> None:
    assert wait_for(lambda: bool(_guards(run_id)), timeout=30), "the run's guard never started"
    pids = [int(_state(ws, run_id)["owner_pid"]), *_guards(run_id)]
    _kill_all(pids)  # at once: no guard is left to see the driver go
    assert wait_for(lambda: not any(process_alive(p) for p in pids), timeout=10)


@contextlib.contextmanager
def _no_watchdog(ws: Workspace) -> Iterator[None]:
    """Hold the workspace's watchdog lock, so that no watchdog runs (every start sees one running and does nothing)."""
    path = lock_path(ws.path)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def test_driver_and_guard_killed_the_run_ends_and_the_pool_moves_with_nobody_reading(
    ws: Workspace, make_source: Any, tmp_path: Path
) -> None:
    pool = ComputeTarget.create(ws, "one-slot", AmlCompute.provisioning_configuration(max_nodes=1))
    pids_file, started_file = tmp_path / "pids.txt", tmp_path / "started.txt"
    first = _submit(ws, make_source({"train.py": STUBBORN}, "stubborn"), pool, [str(pids_file)])
    pids: list[int] = []
    try:
        assert wait_for(lambda: _read_pids(pids_file) is not None, timeout=60)
        pids = _read_pids(pids_file) or []
        second = _submit(ws, make_source({"train.py": STAMP}, "stamp"), pool, [str(started_file)])
        assert wait_for(lambda: _state(ws, second.id).get("status") == "Queued", timeout=60)
        _kill_driver_and_guard(ws, first.id)
        # Nobody reads: only state.json and the processes are looked at.
        assert wait_for(lambda: _state(ws, first.id).get("status") in TERMINAL, timeout=60, interval=0.2)
        state = _state(ws, first.id)
        assert state["status"] == "Failed"
        assert "without finishing it" in state["error"]
        assert not any(process_alive(p) for p in pids), "the dead run's scripts still hold its slot"
        assert wait_for(lambda: started_file.exists(), timeout=60), "the queued run never started"
        assert "ending the run" in (ws.path / "logs" / "watchdog.log").read_text()
    finally:
        _kill_all(pids)
        with contextlib.suppress(Exception):
            second.cancel()


def test_a_status_read_never_ends_a_run_the_watchdog_does(ws: Workspace, make_source: Any, tmp_path: Path) -> None:
    pids_file = tmp_path / "pids.txt"
    pids: list[int] = []
    with _no_watchdog(ws):
        run = _submit(ws, make_source({"train.py": STUBBORN}, "stubborn"), "local", [str(pids_file)])
        try:
            assert wait_for(lambda: _read_pids(pids_file) is not None, timeout=60)
            pids = _read_pids(pids_file) or []
            _kill_driver_and_guard(ws, run.id)
            assert not RunFolder(ws.path, run.id).owner_alive()
            # Reads (the widget's, the REST server's) only read: the run's scripts live on, its status is as it was.
            for _ in range(3):
                assert run.get_status() == "Running"
            assert all(process_alive(p) for p in pids)
            assert _state(ws, run.id)["status"] == "Running"
        except BaseException:
            _kill_all(pids)
            raise
    try:
        # The lock is free: the read's start of a watchdog ends the run.
        run.get_status()
        assert wait_for(lambda: _state(ws, run.id).get("status") in TERMINAL, timeout=60, interval=0.2)
        assert _state(ws, run.id)["status"] == "Failed"
        assert wait_for(lambda: not any(process_alive(p) for p in pids), timeout=30)
    finally:
        _kill_all(pids)


SWEEP_TRAIN = """
import argparse, time
from jupyter_amlrun import Run
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float)
a = p.parse_args()
run = Run.get_context()
run.log("accuracy", a.lr)
time.sleep(600)
"""


def test_a_killed_sweep_controller_ends_its_children_with_nobody_reading(ws: Workspace, make_source: Any) -> None:
    from jupyter_amlrun.train.hyperdrive import GridParameterSampling, HyperDriveConfig, PrimaryMetricGoal, choice

    src = make_source({"train.py": SWEEP_TRAIN}, "sweep")
    hd = HyperDriveConfig(
        run_config=ScriptRunConfig(source_directory=src, script="train.py", compute_target="local"),
        hyperparameter_sampling=GridParameterSampling({"--lr": choice(0.1, 0.2)}),
        primary_metric_name="accuracy",
        primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
        max_concurrent_runs=2,
    )
    parent = Experiment(ws, "sweep").submit(hd)

    def children() -> list[str]:
        return [p.name for p in (ws.path / "runs").iterdir() if p.name != parent.id]

    assert wait_for(
        lambda: len(children()) == 2 and all(_state(ws, c).get("status") == "Running" for c in children()),
        timeout=120,
    )
    os.kill(int(_state(ws, parent.id)["owner_pid"]), signal.SIGKILL)
    assert wait_for(lambda: _state(ws, parent.id).get("status") in TERMINAL, timeout=60, interval=0.2)
    assert _state(ws, parent.id)["status"] == "Failed"
    assert wait_for(lambda: all(_state(ws, c).get("status") in TERMINAL for c in children()), timeout=90)
    for child in children():
        state = _state(ws, child)
        assert state["status"] == "Canceled"
        assert "its controller died" in state["error"]
