"""Submit-to-Running on the Ray target vs a plain Ray job submission of the same script on the same head (issue 9).

* **jupyter_amlrun on Ray** — ``exp.submit(ScriptRunConfig(..., compute_target="ray"))`` until
  ``run.get_status() == "Running"`` (the driver, itself the Ray job, has started the script).
* **plain Ray job** — ``JobSubmissionClient.submit_job(entrypoint="<python> train.py",
  runtime_env={"working_dir": src})`` until ``get_job_status() == RUNNING`` (what ``ray job submit`` does).

Both sides also report "1st line": when the script's first line actually ran (it writes the wall-clock time), since
Ray says RUNNING when it starts the entrypoint and we say Running when the script starts. Goal: within 1.2x. The head
is a development head started here on 127.0.0.1 (``RayCompute.provisioning_configuration``) and stopped at the end.

    .venv/bin/python benchmarks/ray_submit.py [--reps 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

SCRIPT = """
import time, os
open(os.environ.get("FIRST_LINE_FILE", "first_line.txt"), "w").write(repr(time.time()))
time.sleep(1)
"""


def _wait(predicate: Any, timeout: float = 120.0, interval: float = 0.005) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError("condition not met in time")


def _first_line(path: Path) -> float:
    _wait(lambda: path.exists() and path.read_text().strip() != "", timeout=60, interval=0.02)
    return float(path.read_text())


def measure_ours(ws: Any, src: Path, reps: int) -> tuple[list[float], list[float]]:
    from jupyter_amlrun import Experiment, ScriptRunConfig

    exp = Experiment(ws, "ray-bench")
    running, first = [], []
    for i in range(reps + 1):  # the first is a cold start, left out of the medians
        marker = src.parent / f"ours-{uuid.uuid4().hex}.txt"
        cfg = ScriptRunConfig(source_directory=src, script="train.py", compute_target="ray")
        cfg.run_config.environment_variables = {"FIRST_LINE_FILE": str(marker)}
        t0 = time.time()
        run = exp.submit(cfg)
        _wait(lambda run=run: run.get_status() in ("Running", "Finalizing", "Completed", "Failed"))
        t1 = time.time()
        line = _first_line(marker)
        run.wait_for_completion()
        if i:
            running.append(t1 - t0)
            first.append(line - t0)
    return running, first


def measure_plain(address: str, src: Path, reps: int) -> tuple[list[float], list[float]]:
    from ray.job_submission import JobSubmissionClient

    client = JobSubmissionClient(address)
    running, first = [], []
    for i in range(reps + 1):
        marker = src.parent / f"plain-{uuid.uuid4().hex}.txt"
        t0 = time.time()
        sid = client.submit_job(
            entrypoint=f"{sys.executable} train.py",
            runtime_env={"working_dir": str(src), "env_vars": {"FIRST_LINE_FILE": str(marker)}},
        )
        _wait(lambda sid=sid: str(client.get_job_status(sid)) in ("RUNNING", "SUCCEEDED", "FAILED"))
        t1 = time.time()
        line = _first_line(marker)
        _wait(lambda sid=sid: str(client.get_job_status(sid)) in ("SUCCEEDED", "FAILED", "STOPPED"), interval=0.05)
        if i:
            running.append(t1 - t0)
            first.append(line - t0)
    return running, first


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=5, help="warm rounds per side (median of these)")
    args = parser.parse_args()
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    with tempfile.TemporaryDirectory(prefix="amlrun-raybench-") as tmp:
        base = Path(tmp)
        os.environ["AMLRUN_HOME"] = str(base / "home")
        from jupyter_amlrun import ComputeTarget, RayCompute, Workspace

        ws = Workspace.create("bench", path=base / "ws")
        src = base / "src"
        src.mkdir()
        (src / "train.py").write_text(SCRIPT)
        t0 = time.time()
        head = ComputeTarget.create(ws, "ray", RayCompute.provisioning_configuration(num_cpus=2))
        print(f"development head {head.address} up in {time.time() - t0:.1f} s; load average {os.getloadavg()}")
        try:
            # Alternate the sides so that a change in the machine's load hits both.
            ours_r: list[float] = []
            ours_f: list[float] = []
            plain_r: list[float] = []
            plain_f: list[float] = []
            for _ in range(2):
                r, f = measure_plain(head.address, src, max(1, args.reps // 2))
                plain_r += r
                plain_f += f
                r, f = measure_ours(ws, src, max(1, args.reps // 2))
                ours_r += r
                ours_f += f
        finally:
            head.delete()
    rows = [("jupyter_amlrun on Ray", ours_r, ours_f), ("plain Ray job (SDK)", plain_r, plain_f)]
    base_r, base_f = statistics.median(plain_r), statistics.median(plain_f)
    print(f"\nSubmit-to-Running, {len(ours_r)} warm rounds per side, load average now {os.getloadavg()}")
    print("| side | to Running (median) | min | max | 1st line (median) | Running vs plain | 1st line vs plain |")
    print("|---|---|---|---|---|---|---|")
    for name, r, f in rows:
        print(
            f"| {name} | {statistics.median(r):.3f} s | {min(r):.3f} s | {max(r):.3f} s | "
            f"{statistics.median(f):.3f} s | {statistics.median(r) / base_r:.2f}x | "
            f"{statistics.median(f) / base_f:.2f}x |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
