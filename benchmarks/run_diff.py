"""Run diff: ``run_a.diff(run_b)`` of two runs whose 2,000-file snapshots differ in 3 files (goal < 0.5 s).

Two interactive runs (``exp.start_logging(snapshot_directory=src)``) snapshot a 2,000-file source folder (the v1 file
limit), the second after 3 files were changed. Timed: the code part alone (``diff_snapshots``: two manifests read,
3 object pairs diffed) and the whole ``run.diff`` (params, metrics, code, environment, inputs).

    .venv/bin/python benchmarks/run_diff.py [repetitions]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["AMLRUN_HOME"] = str(Path(tmp) / "home")
        from jupyter_amlrun import Experiment, Workspace
        from jupyter_amlrun.runtime.diff import diff_snapshots

        ws = Workspace.create("bench", path=Path(tmp) / "ws")
        src = Path(tmp) / "src"
        for i in range(2000):
            p = src / f"pkg{i % 20}" / f"mod{i}.py"
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text("".join(f"value_{j} = {i * j}\n" for j in range(60)))
        exp = Experiment(ws, "bench-diff")
        with exp.start_logging(snapshot_directory=str(src)) as run_a:
            run_a.log("acc", 0.5)
        for i in (3, 500, 1999):
            p = src / f"pkg{i % 20}" / f"mod{i}.py"
            p.write_text(p.read_text().replace("value_30 =", "value_30 = 1 +"))
        with exp.start_logging(snapshot_directory=str(src)) as run_b:
            run_b.log("acc", 0.7)
        sa, sb = run_a.get_snapshot_id(), run_b.get_snapshot_id()
        code_times, full_times = [], []
        for _ in range(reps):
            t0 = time.perf_counter()
            code = diff_snapshots(Path(ws.path), sa, sb)
            code_times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            full = run_a.diff(run_b)
            full_times.append(time.perf_counter() - t0)
        assert len(code["changed"]) == 3 and code["unchanged"] == 1997, code
        assert len(full["code"]["changed"]) == 3
        load = os.getloadavg()[0]
        print(f"2,000-file snapshots, 3 files changed; {reps} repetitions; load average {load:.1f}")
        print(f"{'part':<32}{'median s':>10}{'max s':>10}{'goal s':>8}")
        for label, times in (("code (diff_snapshots)", code_times), ("whole run.diff", full_times)):
            print(f"{label:<32}{statistics.median(times):>10.3f}{max(times):>10.3f}{0.5:>8.1f}")


if __name__ == "__main__":
    main()
