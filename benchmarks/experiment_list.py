"""The sidebar's experiment list (issue 25): the store's index against MLflow's search of every run.

A temporary workspace gets ``runs`` ended interactive runs over 5 experiments, each with ``metrics`` metrics, tags
and params (as a run of a real notebook has), and 2 live runs; then ``service.experiments`` (the index: one grouped
count and one join for the runs not ended) and ``service._experiments_searched`` (MLflow's ``search_runs`` of every
run, what the route did before) are timed ``repeat`` times each, alternating, and their answers compared; the same for
``service.runs`` (a page of 50 cut from the index, then one search by id for those 50) and ``_runs_searched``.

    .venv/bin/python benchmarks/experiment_list.py [runs] [metrics] [repeat]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    metrics = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    with tempfile.TemporaryDirectory(prefix="amlrun-bench-") as tmp:
        os.environ["AMLRUN_HOME"] = str(Path(tmp) / "home")
        from jupyter_amlrun import Experiment, Workspace
        from jupyter_amlrun.server import service

        ws = Workspace.create("bench", path=Path(tmp) / "ws")
        made = time.perf_counter()
        for i in range(runs):
            run = Experiment(ws, f"exp{i % 5}").start_logging()
            run.tag("kind", "bench")
            run.log_row("row", a=1, b=2)
            for m in range(metrics):
                run.log(f"m{m}", float(i * m))
            run.complete()
        live = [Experiment(ws, "exp0").start_logging(), Experiment(ws, "exp1").start_logging()]
        print(f"{runs} ended runs x {metrics} metrics, 2 live: made in {time.perf_counter() - made:.0f} s")
        query = service.PageQuery.parse(limit="50")  # the sidebar's run list asks for a page
        assert service.experiments(ws, query) == service._experiments_searched(ws, query)
        pairs = {
            "experiments": (service.experiments, service._experiments_searched),
            "runs (page of 50)": (service.runs, service._runs_searched),
        }
        for route, (indexed, searched) in pairs.items():
            timings: dict[str, list[float]] = {"index": [], "search": []}
            for _ in range(repeat):
                for name, fn in (("index", indexed), ("search", searched)):
                    start = time.perf_counter()
                    fn(ws, query)
                    timings[name].append(time.perf_counter() - start)
            print(route)
            for name, values in timings.items():
                print(
                    f"  {name:>6}: median {statistics.median(values) * 1000:7.1f} ms, max {max(values) * 1000:7.1f} ms"
                )
            ratio = statistics.median(timings["search"]) / statistics.median(timings["index"])
            print(f"  search / index: {ratio:.1f}x")
        for run in live:
            run.complete()


if __name__ == "__main__":
    main()
