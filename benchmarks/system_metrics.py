"""System-metrics sampling overhead: the same CPU-bound script with the driver's sampling on and off (goal < 2%).

The script does a fixed amount of pure-Python work and logs how long it took (its own wall clock and CPU time, so the
submit and environment steps do not count). Runs alternate off/on (interval ``--interval``, default 1 s: five times
the default rate, to make any cost visible) so that a change of the machine's load hits both sides alike.

    .venv/bin/python benchmarks/system_metrics.py [--reps 5] [--interval 1] [--work 30000000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

SCRIPT = """\
import sys, time
from jupyter_amlrun import Run
n = int(sys.argv[1])
t0, c0 = time.perf_counter(), time.process_time()
acc = 0
for i in range(n):
    acc += i * i % 7
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
run = Run.get_context()
run.log("work_seconds", wall)
run.log("work_cpu_seconds", cpu)
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--work", type=int, default=30_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["AMLRUN_HOME"] = str(Path(tmp) / "home")
        from jupyter_amlrun import Experiment, ScriptRunConfig, Workspace
        from jupyter_amlrun.compute.sysmetrics import INTERVAL_ENV

        ws = Workspace.create("bench", path=Path(tmp) / "ws")
        src = Path(tmp) / "src"
        src.mkdir()
        (src / "work.py").write_text(SCRIPT)
        exp = Experiment(ws, "bench-sys")
        results: dict[str, list[tuple[float, float]]] = {"off": [], "on": []}
        samples = 0
        for _ in range(args.reps):
            for mode in ("off", "on"):
                config = ScriptRunConfig(str(src), "work.py", arguments=[str(args.work)])
                config.run_config.environment_variables = {INTERVAL_ENV: "0" if mode == "off" else str(args.interval)}
                run = exp.submit(config)
                run.wait_for_completion(raise_on_error=True)
                m = run.get_metrics()
                results[mode].append((float(m["work_seconds"]), float(m["work_cpu_seconds"])))
                if mode == "on":
                    samples += len(run.get_system_metrics().get("system/cpu_utilization_percentage", []))
        load = os.getloadavg()[0]
        print(f"{args.reps} runs each side, interval {args.interval} s, {samples} CPU samples taken; load {load:.1f}")
        print(f"{'sampling':<10}{'median wall s':>15}{'median CPU s':>15}")
        med = {}
        for mode in ("off", "on"):
            wall = statistics.median(w for w, _ in results[mode])
            cpu = statistics.median(c for _, c in results[mode])
            med[mode] = (wall, cpu)
            print(f"{mode:<10}{wall:>15.3f}{cpu:>15.3f}")
        print(f"on/off: wall {med['on'][0] / med['off'][0]:.3f}, CPU {med['on'][1] / med['off'][1]:.3f} (goal < 1.02)")


if __name__ == "__main__":
    main()
