"""2-rank vs 1-rank wall time of the same gloo job on this machine (issue 9).

The job trains a small MLP for a fixed number of steps on a fixed global batch (each rank takes batch / world_size
rows, gradients all_reduce'd every step), so both sides do the same total work. Measured for each side:

* **run** -- ``exp.submit(ScriptRunConfig(..., distributed_job_config=PyTorchConfiguration("Gloo", ...)))`` until
  ``wait_for_completion`` returns (launcher start, rendezvous, training, finalising);
* **train** -- the training loop alone, as rank 0 measured it (printed into ``std_log_process_0.txt``);
* **bare torchrun** -- ``python -m torch.distributed.run --standalone --nproc-per-node 2`` of the same script as a
  plain process (the floor for the 2-rank launch, no run bookkeeping).

Every process gets ``OMP_NUM_THREADS=<--threads>`` (default 1) so that the ranks, not the threads, are compared.

    .venv/bin/python benchmarks/distributed_ranks.py [--reps 3] [--steps 300] [--threads 1]
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

JOB = """
import os, time
import torch
import torch.distributed as dist
dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(512, 512), torch.nn.ReLU(), torch.nn.Linear(512, 1))
for p in model.parameters():
    dist.broadcast(p.data, 0)
opt = torch.optim.SGD(model.parameters(), lr=0.01)
steps, batch = int(os.environ["BENCH_STEPS"]), 2048 // world  # the same global batch on every side
x, y = torch.randn(batch, 512), torch.randn(batch, 1)
t0 = time.perf_counter()
for _ in range(steps):
    opt.zero_grad()
    ((model(x) - y) ** 2).mean().backward()
    for p in model.parameters():
        dist.all_reduce(p.grad)
        p.grad /= world
    opt.step()
if rank == 0:
    print(f"BENCH train={time.perf_counter() - t0:.4f}", flush=True)
dist.destroy_process_group()
"""
TRAIN = re.compile(r"BENCH train=([0-9.]+)")


def measure_ours(reps: int, base: Path, ranks: int, env: dict[str, str]) -> tuple[list[float], list[float]]:
    from jupyter_amlrun import Experiment, PyTorchConfiguration, ScriptRunConfig, Workspace

    ws = Workspace.create("bench", path=base / "ws")
    src = base / "src"
    src.mkdir(exist_ok=True)
    (src / "job.py").write_text(JOB)
    exp = Experiment(ws, f"ranks-{ranks}")
    walls, trains = [], []
    for _ in range(reps):
        cfg = ScriptRunConfig(
            source_directory=src,
            script="job.py",
            distributed_job_config=PyTorchConfiguration("Gloo", process_count=ranks, node_count=1),
        )
        cfg.run_config.environment_variables = dict(env)
        t0 = time.perf_counter()
        run = exp.submit(cfg)
        details = run.wait_for_completion(raise_on_error=False)
        walls.append(time.perf_counter() - t0)
        if details["status"] != "Completed":
            raise RuntimeError(f"the {ranks}-rank run ended {details['status']}: {details.get('error')}")
        log = (ws.path / "runs" / run.id / "logs/user_logs/std_log_process_0.txt").read_text()
        found = TRAIN.search(log)
        if not found:
            raise RuntimeError(f"rank 0 printed no timing:\n{log[-2000:]}")
        trains.append(float(found.group(1)))
    return walls, trains


def measure_bare(reps: int, base: Path, env: dict[str, str]) -> tuple[list[float], list[float]]:
    job = base / "bare_job.py"
    job.write_text(JOB)
    walls, trains = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", str(job)],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        )
        walls.append(time.perf_counter() - t0)
        found = TRAIN.search(out.stdout + out.stderr)
        if not found:
            raise RuntimeError(f"bare torchrun printed no timing:\n{(out.stdout + out.stderr)[-2000:]}")
        trains.append(float(found.group(1)))
    return walls, trains


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--steps", type=int, default=300)  # ~7 min in all under load
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    env = {"BENCH_STEPS": str(args.steps), "OMP_NUM_THREADS": str(args.threads)}
    with tempfile.TemporaryDirectory(prefix="amlrun-bench-ranks-") as tmp:
        base = Path(tmp)
        os.environ["AMLRUN_HOME"] = str(base / "home")
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        one = measure_ours(args.reps, base / "one", 1, env)
        two = measure_ours(args.reps, base / "two", 2, env)
        bare = measure_bare(args.reps, base, env)
    med = {name: (statistics.median(w), statistics.median(t)) for name, (w, t) in
           (("1 rank", one), ("2 ranks", two), ("bare torchrun, 2", bare))}  # fmt: skip
    print(f"gloo job: {args.steps} steps, global batch 2048, OMP_NUM_THREADS={args.threads}, {args.reps} reps each, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"{'side':22}{'run wall (median)':>20}{'train (median)':>18}{'train vs 1 rank':>18}")
    for name, (wall, train) in med.items():
        print(f"{name:22}{wall:>18.3f} s{train:>16.3f} s{train / med['1 rank'][1]:>17.2f}x")
    print(
        f"ratio 2 ranks / 1 rank: run wall {med['2 ranks'][0] / med['1 rank'][0]:.2f}x, "
        f"train {med['2 ranks'][1] / med['1 rank'][1]:.2f}x; "
        f"2-rank launch overhead vs bare torchrun: {med['2 ranks'][0] - med['bare torchrun, 2'][0]:+.3f} s"
    )


if __name__ == "__main__":
    main()
