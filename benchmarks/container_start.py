"""Runs in a container vs the same runs without one (issue 22).

Three measurements, each side with the same tiny script, alternating sides so that the machine's load hits both:

* submit -> ``Running`` (``run.get_status()`` polled every 5 ms) and submit -> the script's first line (the script
  writes the wall-clock time into a file of the workspace, which the container sees at the same path);
* Preparing of a run whose environment's derived image is cached (pip package ``six`` on the base image; the first,
  cold build is reported on its own row), from the run's status history; and of a container run without packages;
* the cost of one ``run.log()`` call inside the container vs outside (N calls timed in the script);
* ``run.cancel()`` -> ``Canceled`` of a sleeping script, inside vs outside.

Needs a container engine and the test image (``scripts/build-test-image.sh``); the derived image needs the package
index reachable from a container. Everything lives in a temp folder removed at the end (the derived image is removed
with ``Environment.prune_cache``).

Run: ``.venv/bin/python benchmarks/container_start.py [--reps 8] [--logs 20000] [--image IMAGE]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

POLL = 0.005

SCRIPT = """\
import time
T0 = time.time()  # the first line of the user's script
import json, sys
from jupyter_amlrun import Run
marker, logs = sys.argv[1], int(sys.argv[2])
run = Run.get_context()
t = time.perf_counter()
for i in range(logs):
    run.log("x", i)
per_log = (time.perf_counter() - t) / max(logs, 1)
with open(marker, "w") as fh:
    json.dump({"first_line": T0, "per_log": per_log}, fh)
"""


def wait_status(run: Any, wanted: str, timeout: float = 120.0) -> float | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = run.get_status()
        if status == wanted:
            return time.time()
        if status in ("Failed", "Canceled", "Completed"):
            return None
        time.sleep(POLL)
    return None


def phase(history: list[list[Any]], start: str, end: str) -> float | None:
    times = {s: t for s, t in history}
    return float(times[end]) - float(times[start]) if start in times and end in times else None


def med(xs: list[float]) -> str:
    return f"{statistics.median(xs):.3f}" if xs else "n/a"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=8)
    ap.add_argument("--logs", type=int, default=20000, help="run.log calls per run for the per-call cost")
    ap.add_argument("--image", default="localhost/amlrun-test-python:bookworm")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="amlrun-bench-container-"))
    os.environ["AMLRUN_HOME"] = str(root / "home")
    from jupyter_amlrun import DockerConfiguration, Environment, Experiment, ScriptRunConfig, Workspace
    from jupyter_amlrun._util.engine import detect
    from jupyter_amlrun.runtime.runfolder import RunFolder

    engine = detect()
    if engine is None or engine("image", "inspect", args.image).returncode != 0:
        print(f"needs a container engine and the image {args.image} (scripts/build-test-image.sh)")
        return 1
    print(
        f"engine {engine.describe()}, image {args.image}, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    try:
        ws = Workspace.create("bench", path=root / "ws")
        src = root / "src"
        src.mkdir()
        (src / "train.py").write_text(SCRIPT)
        exp = Experiment(ws, "container-start")

        def config(side: str, packages: bool = False) -> ScriptRunConfig:
            marker = root / "ws" / f"marker-{time.time_ns()}.json"
            env = Environment(f"bench-{side}{'-pkg' if packages else ''}")
            if packages:
                env.python.conda_dependencies.add_pip_package("six==1.16.0")
            if side == "container":
                env.docker.base_image = args.image
            cfg = ScriptRunConfig(
                source_directory=str(src),
                script="train.py",
                arguments=[str(marker), str(args.logs)],
                environment=env,
                docker_runtime_config=DockerConfiguration(use_docker=side == "container"),
            )
            cfg._bench_marker = marker  # type: ignore[attr-defined]
            return cfg

        def one(side: str, packages: bool = False) -> dict[str, Any]:
            cfg = config(side, packages)
            t0 = time.time()
            run = exp.submit(cfg)
            running = wait_status(run, "Running")
            run.wait_for_completion(raise_on_error=False)
            marker: Path = cfg._bench_marker  # type: ignore[attr-defined]
            seen = json.loads(marker.read_text()) if marker.exists() else {}
            history = RunFolder(ws.path, run.id).read_state().history
            return {
                "status": run.get_status(),
                "running": running - t0 if running else None,
                "first_line": seen["first_line"] - t0 if seen else None,
                "per_log": seen.get("per_log"),
                "preparing": phase(history, "Preparing", "Starting"),
            }

        sides: dict[str, list[dict[str, Any]]] = {"plain": [], "container": []}
        for side in sides:  # cold starts (imports, the image's first use): not in the medians
            one(side)
        for _ in range(args.reps):
            for side in sides:
                sides[side].append(one(side))
        print(f"\nsubmit -> Running / -> script's first line, median of {args.reps} (s)")
        print(f"{'side':<12}{'Running':>10}{'1st line':>10}{'Preparing':>11}{'us/run.log':>12}")
        for side, rows in sides.items():
            ok = [r for r in rows if r["status"] == "Completed"]
            print(
                f"{side:<12}{med([r['running'] for r in ok if r['running']]):>10}"
                f"{med([r['first_line'] for r in ok if r['first_line']]):>10}"
                f"{med([r['preparing'] for r in ok if r['preparing'] is not None]):>11}"
                f"{statistics.median([r['per_log'] for r in ok if r['per_log']]) * 1e6 if ok else float('nan'):>12.2f}"
            )
        plain, cont = sides["plain"], sides["container"]
        for key in ("running", "first_line"):
            a = [r[key] for r in plain if r[key]]
            b = [r[key] for r in cont if r[key]]
            if a and b:
                print(f"container - plain, {key}: {statistics.median(b) - statistics.median(a):+.3f} s")
        cold = one("container", packages=True)
        cached = [one("container", packages=True) for _ in range(max(3, args.reps // 2))]
        print(f"\nderived image (pip six on {args.image}): cold build Preparing {cold['preparing']:.2f} s")
        print(f"cached derived image: Preparing median {med([r['preparing'] for r in cached if r['preparing']])} s")
        print(f"container without packages: Preparing median {med([r['preparing'] for r in cont if r['preparing']])} s")
        print(f"plain run: Preparing median {med([r['preparing'] for r in plain if r['preparing']])} s")
        Environment.prune_cache(ws)
        (src / "sleep.py").write_text("import time\nprint('started', flush=True)\ntime.sleep(600)\n")
        canceled: dict[str, list[float]] = {"plain": [], "container": []}
        for _ in range(3):
            for side in canceled:
                cfg = config(side)
                cfg.script = cfg.run_config.script = "sleep.py"
                run = exp.submit(cfg)
                log = RunFolder(ws.path, run.id).user_log
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline and not (log.exists() and "started" in log.read_text()):
                    time.sleep(0.02)
                t0 = time.time()
                run.cancel()
                if wait_status(run, "Canceled") is not None:
                    canceled[side].append(time.time() - t0)
        for side, xs in canceled.items():
            print(f"cancel -> Canceled, {side}: median {med(xs)} s of {len(xs)}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
