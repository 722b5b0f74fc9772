"""Submit-to-Running on the Slurm target vs a bare ``sbatch`` of the same script on the same cluster (issue 24).

* **jupyter_amlrun on Slurm** — ``exp.submit(ScriptRunConfig(..., compute_target="hpc"))`` until the script's first
  line has run (it writes the wall-clock time), and until ``run.get_status() == "Running"``.
* **bare sbatch** — ``sbatch --wrap "<python> train.py"`` until the same first line has run.

Slurm schedules in passes (here ``sched_interval=2``), so both sides include the scheduler's wait. Then: cancel of a
running run until its job is gone from ``squeue``. The cluster is the one-node test cluster on 127.0.0.1
(jupyter_amlrun/testing/slurm_cluster.py: needs root and the packages of scripts/install-test-tools.sh), started and
stopped here.

    .venv/bin/python benchmarks/slurm_submit.py [--reps 4]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SCRIPT = """
import time, os
open(os.environ.get("FIRST_LINE_FILE", "first_line.txt"), "w").write(repr(time.time()))
time.sleep(1)
"""


def _wait(predicate: Any, timeout: float = 180.0, interval: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError("condition not met in time")


def _first_line(path: Path) -> float:
    _wait(lambda: path.exists() and path.read_text().strip() != "")
    return float(path.read_text())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=4)
    args = parser.parse_args()
    from jupyter_amlrun import ComputeTarget, Experiment, ScriptRunConfig, Workspace
    from jupyter_amlrun.compute.slurmcompute import SlurmCompute
    from jupyter_amlrun.runtime.runfolder import RunFolder
    from jupyter_amlrun.testing import slurm_cluster as sc

    root = Path(tempfile.mkdtemp(prefix="slurm-bench-"))
    os.environ["AMLRUN_HOME"] = str(root / "home")
    cluster = sc.start(cpus=2)
    try:
        ws = Workspace.create("bench", path=root / "ws")
        ComputeTarget.attach(ws, "hpc", SlurmCompute.attach_configuration(slurm_conf=str(cluster.conf)))
        src = root / "src"
        src.mkdir()
        (src / "train.py").write_text(SCRIPT)
        exp = Experiment(ws, "bench")
        ours, ours_running, bare, cancels = [], [], [], []
        for _ in range(args.reps):
            t0 = time.time()
            run = exp.submit(ScriptRunConfig(source_directory=src, script="train.py", compute_target="hpc"))
            rf = RunFolder(ws.path, run.id)
            _wait(lambda rf=rf: rf.read_state().status == "Running" or rf.read_state().terminal)
            ours_running.append(time.time() - t0)
            ours.append(_first_line(rf.workdir / "first_line.txt") - t0)
            run.wait_for_completion()

            out = root / f"bare-{len(bare)}"
            out.mkdir()
            t0 = time.time()
            subprocess.run(
                ["sbatch", "--parsable", f"--chdir={out}", f"--output={out}/log.txt", "--wrap",
                 f"{sys.executable} {src / 'train.py'}"],
                env=cluster.env(), check=True, capture_output=True,
            )  # fmt: skip
            bare.append(_first_line(out / "first_line.txt") - t0)
            _wait(
                lambda: subprocess.run(["squeue", "-h"], env=cluster.env(), capture_output=True, text=True).stdout == ""
            )

        for _ in range(2):  # cancel of a running run until its Slurm job is gone
            src2 = root / "long"
            src2.mkdir(exist_ok=True)
            (src2 / "train.py").write_text("import time\nprint('up', flush=True)\ntime.sleep(600)\n")
            run = exp.submit(ScriptRunConfig(source_directory=src2, script="train.py", compute_target="hpc"))
            rf = RunFolder(ws.path, run.id)
            _wait(lambda rf=rf: rf.read_state().status == "Running")
            job = str((rf.read_state().handle or {}).get("data", {}).get("job_id"))
            t0 = time.time()
            run.cancel()

            def gone(job: str = job) -> bool:
                out = subprocess.run(["squeue", "-h", "-j", job], env=cluster.env(), capture_output=True, text=True)
                return out.stdout.strip() == ""

            _wait(gone)
            cancels.append(time.time() - t0)
    finally:
        sc.stop(cluster)
    med = statistics.median
    print(f"reps {args.reps}; load avg {os.getloadavg()[0]:.1f}")
    print(f"jupyter_amlrun: to 1st line median {med(ours):.3f} s (min {min(ours):.3f}, max {max(ours):.3f}); "
          f"to Running median {med(ours_running):.3f} s")  # fmt: skip
    print(f"bare sbatch:    to 1st line median {med(bare):.3f} s (min {min(bare):.3f}, max {max(bare):.3f})")
    print(f"ratio (1st line, medians): {med(ours) / med(bare):.2f}x")
    print(f"cancel -> job gone: {', '.join(f'{c:.3f} s' for c in cancels)}")


if __name__ == "__main__":
    main()
