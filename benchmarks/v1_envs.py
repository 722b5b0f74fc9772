"""Real v1 environment specs through Preparing: cold (empty cache) vs warm, and what asking pip about a pin costs
(issue 21). commandstep_train-conda_dependencies.yml is left out: under ``nearest`` it downloads tensorflow 2.12
(hundreds of MB) before horovod 0.19.5, a source-only package, fails to build.

For each spec in tests/runtime/data/v1_envs (from the public v1 notebooks repository), ``prepare_run_environment`` is
called as the driver calls it, first with an empty cache folder (cold), then again with the same folder (warm); the
outcome (how the interpreter was obtained, or the error's first line) is printed with the seconds. Then the two ways
to ask pip whether a pin can install here are timed: ``pip install --dry-run --no-deps --only-binary :all:`` (used)
and ``pip index versions`` (not used: it ignores ``--only-binary`` and lists sdists that cannot build on this Python).

Needs PyPI (pins are checked there; the pytorch spec downloads torchvision). Run:
``.venv/bin/python benchmarks/v1_envs.py [--reps 3]``
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "tests" / "runtime" / "data" / "v1_envs"
SPECS = [
    "tutorial-1st-experiment-sdk-train.yml",
    "mlflow-train-projects-local-conda.yaml",
    "pytorch-aml-env.yml",
]


def prepare(definition: dict[str, object], cache: Path) -> tuple[float, str]:
    from jupyter_amlrun.runtime.envcache import EnvironmentBuildError, prepare_run_environment

    run_root = Path(tempfile.mkdtemp(prefix="v1env-run-"))
    started = time.perf_counter()
    try:
        outcome = prepare_run_environment(cache, run_root, definition, lambda _m: None).how
    except EnvironmentBuildError as exc:
        outcome = "Failed: " + str(exc).split(". ", 1)[0][:110]
    return time.perf_counter() - started, outcome


def pip_seconds(args: list[str], reps: int) -> float:
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, check=False)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3, help="repetitions of the pip queries")
    opts = parser.parse_args()
    from jupyter_amlrun import Environment

    print("| spec | cold | outcome | warm | outcome |\n|---|---|---|---|---|")
    for name in SPECS:
        definition = Environment.from_conda_specification("v1", str(DATA / name))._build_definition()
        cache = Path(tempfile.mkdtemp(prefix="v1env-ws-"))
        cold, how_cold = prepare(definition, cache)
        warm, how_warm = prepare(definition, cache)
        print(f"| {name} | {cold:.2f} s | {how_cold} | {warm:.2f} s | {how_warm} |", flush=True)
    dry = ["install", "--dry-run", "--no-deps", "--only-binary", ":all:", "--ignore-installed", "scikit-learn==0.22.1"]
    index = ["index", "versions", "scikit-learn"]
    print(f"\npip dry-run --only-binary (one pin): {pip_seconds(dry, opts.reps):.2f} s median of {opts.reps}")
    print(f"pip index versions (one name):      {pip_seconds(index, opts.reps):.2f} s median of {opts.reps}")


if __name__ == "__main__":
    main()
