"""Cancel latency: from ``run.cancel()`` until the run reads Canceled and its whole process tree is gone.

The script under test starts a grandchild process and sleeps; the goal (issue 2) is under 5 s. Compared with a bare
``os.killpg`` of the same tree, which is the floor any supervisor pays.

    .venv/bin/python benchmarks/cancel_latency.py [repetitions]
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

SCRIPT = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
open("pids.txt", "w").write(f"{os.getpid()} {child.pid}")
time.sleep(600)
"""


def _gone(pids: list[int]) -> bool:
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                return False
        except psutil.NoSuchProcess:
            pass
    return True


def _wait(predicate: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.005)
    raise TimeoutError("condition not met in time")


def measure_ours(reps: int, base: Path) -> list[float]:
    os.environ["AMLRUN_HOME"] = str(base / "home")
    from jupyter_amlrun import Experiment, ScriptRunConfig, Workspace

    ws = Workspace.create("bench", path=base / "ws")
    src = base / "src"
    src.mkdir()
    (src / "train.py").write_text(SCRIPT)
    exp = Experiment(ws, "cancel")
    times = []
    for _ in range(reps):
        run = exp.submit(ScriptRunConfig(source_directory=src, script="train.py"))
        pids_file = ws.path / "runs" / run.id / "wd" / "pids.txt"
        _wait(lambda f=pids_file: f.exists() and len(f.read_text().split()) == 2)  # type: ignore[misc]
        pids = [int(p) for p in pids_file.read_text().split()]
        t0 = time.perf_counter()
        run.cancel()
        _wait(lambda r=run, p=pids: r.get_status() == "Canceled" and _gone(p))  # type: ignore[misc]
        times.append(time.perf_counter() - t0)
    return times


def measure_killpg(reps: int, base: Path) -> list[float]:
    times = []
    for i in range(reps):
        wd = base / f"raw{i}"
        wd.mkdir()
        proc = subprocess.Popen([sys.executable, "-c", SCRIPT], cwd=wd, start_new_session=True)
        _wait(lambda f=wd / "pids.txt": f.exists() and len(f.read_text().split()) == 2)  # type: ignore[misc]
        pids = [int(p) for p in (wd / "pids.txt").read_text().split()]
        t0 = time.perf_counter()
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()
        _wait(lambda p=pids: _gone(p))  # type: ignore[misc]
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    with tempfile.TemporaryDirectory(prefix="amlrun-bench-cancel-") as tmp:
        base = Path(tmp)
        ours = measure_ours(reps, base)
        raw = measure_killpg(reps, base)
    med_ours, med_raw = statistics.median(ours), statistics.median(raw)
    print(f"cancel -> Canceled + tree gone, {reps} runs each")
    print(f"{'':28}{'median s':>10}{'max s':>10}")
    print(f"{'jupyter_amlrun run.cancel()':28}{med_ours:>10.3f}{max(ours):>10.3f}")
    print(f"{'bare os.killpg (floor)':28}{med_raw:>10.3f}{max(raw):>10.3f}")
    print(f"ratio ours/floor: {med_ours / med_raw:.1f}x; goal < 5 s: {'met' if max(ours) < 5 else 'MISSED'}")


if __name__ == "__main__":
    main()
