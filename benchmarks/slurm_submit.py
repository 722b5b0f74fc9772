"""Submit-to-Running on the Slurm target vs a bare ``sbatch`` of the same script on the same cluster (issue 24).

* **jupyter_amlrun on Slurm** — ``exp.submit(ScriptRunConfig(..., compute_target="hpc"))`` until the script's first
  line has run (it writes the wall-clock time), and until ``run.get_status() == "Running"``.
* **bare sbatch** — ``sbatch --wrap "<python> train.py"`` until the same first line has run.

Slurm schedules in passes (here ``sched_interval=2``), so both sides include the scheduler's wait: a job submitted
to an idle cluster waits for the next pass (up to ~2 s), one submitted while another job ends is placed at once by
that job's completion (measured: the same for ``sbatch --wrap`` and for our job's options). Each side therefore
starts from an empty queue. That wait is noise for the comparison, so each side is also
measured from the job's start (its first shell line, ``date +%s.%N``) to the script's first line: the part that is
ours (the driver's start) and the submit before ``sbatch`` (MLflow run, snapshot, spec). Then: cancel of a
running run until its job is gone from ``squeue``. The cluster is the one-node test cluster on 127.0.0.1
(jupyter_amlrun/testing/slurm_cluster.py: needs root and the packages of scripts/install-test-tools.sh), started and
stopped here.

    .venv/bin/python benchmarks/slurm_submit.py [--reps 4]
"""

from __future__ import annotations

import argparse
import os
import re
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
    parser.add_argument(
        "--no-bytecode",
        action="store_true",
        help="keep PYTHONDONTWRITEBYTECODE for the jobs (every driver then compiles its modules from source)",
    )
    args = parser.parse_args()
    if not args.no_bytecode and os.environ.pop("PYTHONDONTWRITEBYTECODE", None):
        # The jobs inherit this environment (sbatch --export=ALL). An installed package has its .pyc files; with
        # bytecode off each driver compiles ~30 modules from source (0.2-0.5 s here), which no user pays.
        print("PYTHONDONTWRITEBYTECODE removed for the jobs (--no-bytecode keeps it); one warm-up run first")
    from jupyter_amlrun import ComputeTarget, Experiment, ScriptRunConfig, Workspace
    from jupyter_amlrun.compute.slurm import JOB_LOG
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
        ours_in_job, bare_in_job, ours_submit = [], [], []

        def queue_empty() -> bool:
            return subprocess.run(["squeue", "-h"], env=cluster.env(), capture_output=True, text=True).stdout == ""

        warm = exp.submit(ScriptRunConfig(source_directory=src, script="train.py", compute_target="hpc"))
        warm.wait_for_completion()  # not measured: the first driver writes the .pyc files the others read
        for _ in range(args.reps):
            t0 = time.time()
            run = exp.submit(ScriptRunConfig(source_directory=src, script="train.py", compute_target="hpc"))
            ours_submit.append(time.time() - t0)
            rf = RunFolder(ws.path, run.id)
            _wait(lambda rf=rf: rf.read_state().status == "Running" or rf.read_state().terminal)
            ours_running.append(time.time() - t0)
            first = _first_line(rf.workdir / "first_line.txt")
            ours.append(first - t0)
            started = re.search(r"started at (\d+\.\d+)", (rf.root / JOB_LOG).read_text())
            assert started, "the job log has no start line"
            ours_in_job.append(first - float(started.group(1)))
            run.wait_for_completion()
            # Both sides start from an empty queue: a job submitted while another ends is placed by that job's
            # completion (Slurm schedules then), one submitted to an idle cluster waits for the next pass.
            _wait(queue_empty)

            out = root / f"bare-{len(bare)}"
            out.mkdir()
            t0 = time.time()
            subprocess.run(
                ["sbatch", "--parsable", f"--chdir={out}", f"--output={out}/log.txt", "--wrap",
                 f"date +%s.%N > {out}/job_start.txt; {sys.executable} {src / 'train.py'}"],
                env=cluster.env(), check=True, capture_output=True,
            )  # fmt: skip
            first = _first_line(out / "first_line.txt")
            bare.append(first - t0)
            bare_in_job.append(first - float((out / "job_start.txt").read_text()))
            _wait(queue_empty)

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
    print(f"jupyter_amlrun: submit() {med(ours_submit):.3f} s; job start -> 1st line median {med(ours_in_job):.3f} s "
          f"(min {min(ours_in_job):.3f}, max {max(ours_in_job):.3f})")  # fmt: skip
    print(f"bare sbatch:    job start -> 1st line median {med(bare_in_job):.3f} s (min {min(bare_in_job):.3f}, "
          f"max {max(bare_in_job):.3f})")  # fmt: skip
    ours_fixed, bare_fixed = med(ours_submit) + med(ours_in_job), med(bare_in_job)
    print(f"overhead outside Slurm's wait (submit + job start -> 1st line): {ours_fixed:.3f} s vs {bare_fixed:.3f} s, "
          f"+{ours_fixed - bare_fixed:.3f} s")  # fmt: skip
    print(f"cancel -> job gone: {', '.join(f'{c:.3f} s' for c in cancels)}")


if __name__ == "__main__":
    main()
