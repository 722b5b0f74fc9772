"""Supervisor death to Failed with nobody reading (issue 25): the workspace's watchdog ends the run.

A run on a one-node pool (a script and its grandchild, both ignoring SIGTERM) has its driver and its guard killed
together with SIGKILL, or its driver stopped with SIGSTOP and its guard killed; the benchmark then reads only
``state.json`` and the process table (never the run's status through the API, which used to be what ended such a
run) and reports the time until the run reads Failed, until its processes are gone, and until a run queued behind it
starts. Goal: under 15 s. Before the watchdog the run never ended (no reader: Running indefinitely).

    .venv/bin/python benchmarks/watchdog_latency.py [repetitions]
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

SCRIPT = """
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"])
open(sys.argv[1] + ".tmp", "w").write(f"{os.getpid()} {child.pid}\\n")
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(600)
"""
STAMP = """
import sys, time
open(sys.argv[1], "w").write(repr(time.time()))
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _wait(predicate: Any, timeout: float = 120.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise TimeoutError(f"{what} not met in {timeout:.0f} s")


def _state(ws_dir: Path, run_id: str) -> dict[str, Any]:
    try:
        return dict(json.loads((ws_dir / "runs" / run_id / "state.json").read_text()))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _guard(run_id: str) -> int | None:
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmd = proc.info.get("cmdline") or []
        if "jupyter_amlrun.compute._guard" in cmd and run_id in cmd:
            return int(proc.info["pid"])
    return None


def trial(base: Path, index: int, how: str) -> tuple[float, float, float]:
    from jupyter_amlrun import AmlCompute, ComputeTarget, Experiment, ScriptRunConfig, Workspace

    ws = Workspace.create(f"bench{index}", path=base / f"ws{index}")
    pool = ComputeTarget.create(ws, "one", AmlCompute.provisioning_configuration(max_nodes=1))
    src, stamp_src = base / f"src{index}", base / f"stamp{index}"
    src.mkdir()
    stamp_src.mkdir()
    (src / "train.py").write_text(SCRIPT)
    (stamp_src / "train.py").write_text(STAMP)
    pids_file, started_file = base / f"pids{index}", base / f"started{index}"
    exp = Experiment(ws, "bench")
    run = exp.submit(ScriptRunConfig(str(src), "train.py", compute_target=pool, arguments=[str(pids_file)]))
    _wait(lambda: pids_file.exists(), what="the script's start")
    pids = [int(p) for p in pids_file.read_text().split()]
    queued = exp.submit(ScriptRunConfig(str(stamp_src), "train.py", compute_target=pool, arguments=[str(started_file)]))
    _wait(lambda: _state(ws.path, queued.id).get("status") == "Queued", what="the second run's queue")
    _wait(lambda: _guard(run.id) is not None, what="the guard's start")
    driver, guard = int(_state(ws.path, run.id)["owner_pid"]), _guard(run.id)
    assert guard is not None
    t0 = time.monotonic()
    os.kill(guard, signal.SIGKILL)
    os.kill(driver, signal.SIGKILL if how == "kill" else signal.SIGSTOP)
    _wait(lambda: _state(ws.path, run.id).get("status") in ("Failed", "Canceled", "Completed"), what="the run's end")
    ended = time.monotonic() - t0
    _wait(lambda: not any(_alive(p) for p in pids), what="the processes' end")
    gone = time.monotonic() - t0
    _wait(lambda: started_file.exists(), what="the queued run's start")
    moved = time.monotonic() - t0
    assert _state(ws.path, run.id)["status"] == "Failed"
    queued.cancel()
    return ended, gone, moved


def main() -> int:
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    with tempfile.TemporaryDirectory(prefix="bench-watchdog-") as tmp:
        base = Path(tmp)
        os.environ["AMLRUN_HOME"] = str(base / "home")
        print(f"{reps} repetitions per case, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        for how, label in (("kill", "driver + guard SIGKILL"), ("stop", "driver SIGSTOP + guard SIGKILL")):
            rows = [trial(base, i + (100 if how == "stop" else 0), how) for i in range(reps)]
            for name, col in (("Failed", 0), ("processes gone", 1), ("queued run started", 2)):
                vals = [r[col] for r in rows]
                print(
                    f"{label:32s} -> {name:20s} median {statistics.median(vals):5.2f} s, max {max(vals):5.2f} s "
                    f"(goal < 15 s)"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
