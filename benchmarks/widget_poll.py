"""Kernel CPU per RunDetails poll tick: 10 metrics x 100k points already shown, 1 new point per tick (issue 3).

What it measures (CPU time of this process, ``time.process_time``, and wall time):

* ours: ``RunWatcher.tick()`` (status, new journal records by byte offset, new log bytes, children when due) plus the
  widget adapter turning the delta into traitlet updates and one comm message (``RunDetails._on_delta``; the comm has
  no front end here, so the websocket send itself is not counted).
* baseline "re-read": what a widget that reloads the run each poll pays: ``run.get_metrics()`` (parses the whole
  journal of a live run) per tick.
* for context, MLflow's history for ONE of the metrics (``get_metric_history`` of 100k points), which a widget
  polling the tracking store would pay for each metric on each tick.

The run is a real interactive run (``Experiment.start_logging``) whose journal is pre-filled with 1,000,000 records.
Goal: < 5 ms CPU per tick, independent of the history. Everything lives in a temp folder removed at the end.

Run: ``.venv/bin/python benchmarks/widget_poll.py [--metrics 10] [--points 100000] [--ticks 200]``
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def fill_journal(path: Path, metrics: int, points: int) -> None:
    now = int(time.time() * 1000)
    with open(path, "a", encoding="utf-8") as fh:
        for step in range(points):
            fh.write(
                "".join(
                    json.dumps(
                        {"t": now, "k": "scalar", "n": f"metric_{m}", "v": 1.0 / (step + 1), "s": step},
                        separators=(",", ":"),
                    )
                    + "\n"
                    for m in range(metrics)
                )
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--metrics", type=int, default=10)
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--ticks", type=int, default=200)
    ap.add_argument("--baseline-ticks", type=int, default=3)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="amlrun-bench-poll-"))
    os.environ["AMLRUN_HOME"] = str(tmp / "home")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from jupyter_amlrun import Experiment, Workspace
    from jupyter_amlrun.notebook.widget import RunDetails
    from jupyter_amlrun.tracking.journal import SCALAR, JournalWriter
    from jupyter_amlrun.view.watch import RunWatcher

    run = None
    try:
        ws = Workspace.create("bench", path=tmp / "ws")
        run = Experiment(ws, "widget-poll").start_logging(snapshot_directory=None)
        journal = run.folder.journal_path
        total = args.metrics * args.points
        t0 = time.perf_counter()
        fill_journal(journal, args.metrics, args.points)
        print(
            f"journal: {total:,} records, {journal.stat().st_size / 1e6:.0f} MB (written in "
            f"{time.perf_counter() - t0:.1f} s)"
        )

        widget = RunDetails(run)
        watcher: RunWatcher = widget.watcher
        t0 = time.perf_counter()
        shown = 0
        while True:  # the history loads in pieces of at most 64 MB of journal per tick
            delta = watcher.tick()
            widget._on_delta(delta)
            if not delta.point_count():
                break
            shown += delta.point_count()
        print(f"first ticks (show the whole history once): {time.perf_counter() - t0:.2f} s, {shown:,} points")
        writer = JournalWriter(journal)
        step = args.points
        cpu: list[float] = []
        wall: list[float] = []
        for i in range(args.ticks):
            writer.append(SCALAR, f"metric_{i % args.metrics}", 0.5, step=step)
            step += 1
            c0, w0 = time.process_time(), time.perf_counter()
            delta = watcher.tick()
            widget._on_delta(delta)
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
            assert delta.point_count() == 1, delta.point_count()

        # Every children_interval (5 s) a tick also asks the tracking store for child runs: measure those apart.
        kids_cpu: list[float] = []
        for _ in range(10):
            watcher._children_due = 0.0
            c0 = time.process_time()
            widget._on_delta(watcher.tick())
            kids_cpu.append(time.process_time() - c0)

        base_cpu: list[float] = []
        for _ in range(args.baseline_ticks):
            c0 = time.process_time()
            metrics = run.get_metrics()
            base_cpu.append(time.process_time() - c0)
        assert len(metrics["metric_0"]) >= args.points

        # MLflow: one metric's 100k-point history (what polling the tracking store costs per metric per tick).
        from jupyter_amlrun.tracking.store import TrackingStore

        store: TrackingStore = ws.store
        hist_points = min(args.points, 100_000)
        store.log_metrics(run.id, [("mlflow_metric", float(s), 0, s) for s in range(hist_points)])
        c0, w0 = time.process_time(), time.perf_counter()
        history = store.metric_history(run.id, "mlflow_metric")
        mlflow_cpu, mlflow_wall = time.process_time() - c0, time.perf_counter() - w0
        assert len(history) == hist_points

        ours = statistics.median(cpu) * 1000
        p95 = sorted(cpu)[int(len(cpu) * 0.95) - 1] * 1000
        reread = statistics.median(base_cpu) * 1000
        print()
        print(f"Kernel cost per poll tick, {args.metrics} metrics x {args.points:,} points shown, 1 new point:")
        print(f"{'approach':<58}{'CPU ms/tick':>14}{'ratio':>10}")
        print(f"{'RunDetails: RunWatcher.tick + adapter (median)':<58}{ours:>14.2f}{1.0:>10.2f}")
        print(f"{'RunDetails: same, p95':<58}{p95:>14.2f}{p95 / ours:>10.2f}")
        kids = statistics.median(kids_cpu) * 1000
        print(f"{'RunDetails: a tick with the child-run query (every 5 s)':<58}{kids:>14.2f}{kids / ours:>10.2f}")
        print(f"{'  wall time median':<58}{statistics.median(wall) * 1000:>14.2f}")
        print(f"{'re-read the run each tick (run.get_metrics, journal)':<58}{reread:>14.1f}{reread / ours:>10.0f}")
        print(
            f"{f'MLflow get_metric_history, 1 metric of {hist_points:,} pts':<58}{mlflow_cpu * 1000:>14.1f}"
            f"{mlflow_cpu * 1000 / ours:>10.0f}   (wall {mlflow_wall:.2f} s; x{args.metrics} metrics per tick)"
        )
        print(f"goal < 5 ms CPU per tick: {'met' if ours < 5 else 'NOT met'} ({ours:.2f} ms)")
    finally:
        if run is not None:
            # Drop the synthetic journal first: finishing the run would ship a million points to MLflow.
            run.folder.journal_path.write_text("")
            try:
                run.complete()
            except Exception:
                pass
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
