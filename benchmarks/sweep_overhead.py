"""Sweep overhead (issue 11): 20 trials of a 2 s script with max_concurrent_runs=2, against the ideal and Optuna.

Three sides, the same objective (a Python script that sleeps ``--seconds`` and logs one value):

* **ideal** — 20 x 2 s / 2 = 20 s of wall time, nothing else;
* **Optuna** — ``study.optimize(objective, n_trials=20, n_jobs=2)``, the objective running the same script as a
  subprocess (``subprocess.run``) and reading its printed value: Optuna's own in-process loop, no tracking;
* **jupyter_amlrun** — ``exp.submit(HyperDriveConfig(RandomParameterSampling, max_total_runs=20,
  max_concurrent_runs=2))`` until the parent reads Completed: a detached controller, every trial a tracked run
  (snapshot, driver, journal, MLflow, outputs/logs upload).

    .venv/bin/python benchmarks/sweep_overhead.py [--trials 20] [--seconds 2] [--concurrent 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCRIPT = """
import argparse, time
p = argparse.ArgumentParser()
p.add_argument("--x", type=float, required=True)
p.add_argument("--seconds", type=float, default=2.0)
a = p.parse_args()
time.sleep(a.seconds)
value = -(a.x - 0.3) ** 2
try:
    from jupyter_amlrun import Run
    Run.get_context().log("score", value)
except Exception:
    pass
print(value)
"""


def optuna_side(src: Path, trials: int, seconds: float, concurrent: int) -> float:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        out = subprocess.run(
            [sys.executable, str(src / "train.py"), "--x", str(x), "--seconds", str(seconds)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "AMLRUN_OFFLINE_QUIET": "1"},
        )
        return float(out.stdout.strip().splitlines()[-1])

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    start = time.perf_counter()
    study.optimize(objective, n_trials=trials, n_jobs=concurrent)
    return time.perf_counter() - start


def amlrun_side(tmp: Path, src: Path, trials: int, seconds: float, concurrent: int) -> tuple[float, float]:
    from jupyter_amlrun import Experiment, ScriptRunConfig, Workspace
    from jupyter_amlrun.train.hyperdrive import HyperDriveConfig, PrimaryMetricGoal, RandomParameterSampling, uniform

    ws = Workspace.create("bench", path=tmp / "ws")
    hd = HyperDriveConfig(
        run_config=ScriptRunConfig(source_directory=src, script="train.py", arguments=["--seconds", seconds]),
        hyperparameter_sampling=RandomParameterSampling({"--x": uniform(0, 1)}, properties={"rngSeed": 0}),
        primary_metric_name="score",
        primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
        max_total_runs=trials,
        max_concurrent_runs=concurrent,
    )
    start = time.perf_counter()
    run = Experiment(ws, "bench").submit(hd)
    submitted = time.perf_counter() - start
    run.wait_for_completion(raise_on_error=True)
    total = time.perf_counter() - start
    assert len(run.get_children()) == trials and run.get_best_run_by_primary_metric() is not None
    return total, submitted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--concurrent", type=int, default=2)
    a = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="amlrun-bench-sweep-"))
    os.environ["AMLRUN_HOME"] = str(tmp / "home")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    try:
        src = tmp / "src"
        src.mkdir()
        (src / "train.py").write_text(SCRIPT)
        ideal = a.trials * a.seconds / a.concurrent
        load = os.getloadavg()[0]
        opt = optuna_side(src, a.trials, a.seconds, a.concurrent)
        aml, submit = amlrun_side(tmp, src, a.trials, a.seconds, a.concurrent)
        print(f"{a.trials} trials x {a.seconds:g} s, {a.concurrent} at once; 1-min load average {load:.1f}")
        print(f"{'side':<40}{'wall s':>10}{'x ideal':>10}{'per trial s':>14}")
        for name, wall in (
            ("ideal", ideal),
            ("Optuna study.optimize(n_jobs) + subprocess", opt),
            ("jupyter_amlrun sweep", aml),
        ):
            per = (wall - ideal) * a.concurrent / a.trials
            print(f"{name:<40}{wall:>10.1f}{wall / ideal:>10.2f}{per:>14.2f}")
        print(f"jupyter_amlrun vs Optuna: {aml / opt:.2f}x; exp.submit(hd) returned in {submit:.2f} s")
        print("per trial s: the overhead each trial adds beyond its 2 s, with the concurrency accounted for")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
