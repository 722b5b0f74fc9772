"""Environment materialisation during Preparing: first build vs reuse, and vs a plain venv + pip install (issue 8).

Everything is offline: a wheelhouse of small pure-Python wheels made in a temp folder, installed with
``--no-index --find-links``. Sides (each measured ``--reps`` times, the median shown):

* **jupyter_amlrun, first build**: a run whose environment has not been built yet (a fresh cache per rep,
  ``AMLRUN_ENV_CACHE``); Preparing time from the run's status history (Preparing -> Starting: build + snapshot).
* **jupyter_amlrun, reuse**: the same environment again (goal: < 0.2 s, a hash lookup).
* **jupyter_amlrun, packages already in the base**: ``pip_packages=["numpy"]`` (no venv at all).
* **plain venv + pip**: ``python -m venv X && X/bin/pip install ...`` of the same wheels, timed from outside.
* **uv venv + uv pip** (when ``uv`` is on PATH or given with ``--uv``): the same with uv, for reference. uv is not
  used by default: it ignores the base interpreter's site-packages seen through a ``.pth``, so it would re-install
  torch and friends (see runtime/envcache.py).

Run: ``.venv/bin/python benchmarks/env_build.py [--reps 3] [--packages 3] [--uv PATH]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def preparing_seconds(ws_path: Path, run_id: str) -> float:
    from jupyter_amlrun.runtime.runfolder import RunFolder

    times = {s: t for s, t in RunFolder(ws_path, run_id).read_state().history}
    return float(times["Starting"] - times["Preparing"])


def submit_and_wait(exp: Any, src: Path, env: Any) -> str:
    from jupyter_amlrun import ScriptRunConfig

    run = exp.submit(ScriptRunConfig(source_directory=src, script="train.py", environment=env))
    details = run.wait_for_completion(raise_on_error=False)
    if details["status"] != "Completed":
        raise SystemExit(f"run {run.id} ended {details['status']}: {details.get('error')}")
    return str(run.id)


def timed(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--packages", type=int, default=3, help="how many tiny wheels to install")
    parser.add_argument("--uv", default=shutil.which("uv"), help="a uv binary to compare with (default: on PATH)")
    args = parser.parse_args()
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    tmp = Path(tempfile.mkdtemp(prefix="amlrun-bench-env-"))
    os.environ["AMLRUN_HOME"] = str(tmp / "home")
    try:
        from jupyter_amlrun import CondaDependencies, Environment, Experiment, Workspace
        from jupyter_amlrun.runtime.envcache import CACHE_ENV
        from jupyter_amlrun.testing.helpers import make_wheel

        wheelhouse = tmp / "wheelhouse"
        names = [f"amlrun-bench-pkg{i}" for i in range(args.packages)]
        for name in names:
            make_wheel(wheelhouse, name, "1.0")
        reqs = [f"{n}==1.0" for n in names]
        ws = Workspace.create("bench", path=tmp / "ws")
        exp = Experiment(ws, "env-bench")
        src = tmp / "src"
        src.mkdir()
        (src / "train.py").write_text("import amlrun_bench_pkg0\nprint('ok')\n")
        env = Environment("bench-env")
        deps = CondaDependencies.create(pip_packages=reqs)
        deps.set_pip_option("--no-index")
        deps.set_pip_option(f"--find-links {wheelhouse}")
        env.python.conda_dependencies = deps
        plain_src = tmp / "plain-src"
        plain_src.mkdir()
        (plain_src / "train.py").write_text("print('ok')\n")
        submit_and_wait(exp, plain_src, Environment("warm-up"))  # one-time imports are not charged to a side

        first, reuse = [], []
        for rep in range(args.reps):
            os.environ[CACHE_ENV] = str(tmp / f"cache-{rep}")
            first.append(preparing_seconds(ws.path, submit_and_wait(exp, src, env)))
            reuse.append(preparing_seconds(ws.path, submit_and_wait(exp, src, env)))
        have = Environment("have-numpy")
        have.python.conda_dependencies = CondaDependencies.create(pip_packages=["numpy"])
        base = [preparing_seconds(ws.path, submit_and_wait(exp, plain_src, have)) for _ in range(args.reps)]

        plain = []
        for rep in range(args.reps):
            venv = tmp / f"plain-{rep}"
            t = timed([sys.executable, "-m", "venv", str(venv)])
            t += timed(
                [str(venv / "bin" / "pip"), "install", "-q", "--no-index", "--find-links", str(wheelhouse), *reqs]
            )
            plain.append(t)
        uv_times: list[float] = []
        if args.uv:
            for rep in range(args.reps):
                venv = tmp / f"uv-{rep}"
                t = timed([args.uv, "venv", "-q", "--python", sys.executable, str(venv)])
                python = str(venv / "bin" / "python")
                offline = ["--no-index", "--find-links", str(wheelhouse)]
                t += timed([args.uv, "pip", "install", "-q", "--python", python, *offline, *reqs])
                uv_times.append(t)

        ref = statistics.median(first)
        rows = [
            ("jupyter_amlrun first build (Preparing)", first),
            ("jupyter_amlrun reuse (Preparing)", reuse),
            ("jupyter_amlrun, packages in the base", base),
            ("plain python -m venv + pip install", plain),
        ]
        if uv_times:
            rows.append(("uv venv + uv pip install", uv_times))
        load = os.getloadavg()[0]
        print(f"{args.packages} tiny wheels, {args.reps} reps, {os.cpu_count()} cores, load average {load:.1f}")
        print(f"{'side':<42} {'median':>9} {'min':>9} {'max':>9}  vs first build")
        for label, values in rows:
            med = statistics.median(values)
            ratio = med / ref
            print(f"{label:<42} {med:>8.3f}s {min(values):>8.3f}s {max(values):>8.3f}s  {ratio:.3f}x")
        print(
            f"reuse goal < 0.2 s: {'met' if statistics.median(reuse) < 0.2 else 'NOT met'}; first build vs plain: "
            f"{statistics.median(plain) / ref:.2f}x (plain / ours; >= 1 means ours is no slower)"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
