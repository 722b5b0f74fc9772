"""Shipping a burst of logged values into MLflow's sqlite store (issue 13): jupyter_amlrun vs MLflow's log_batch.

What it measures:

* jupyter_amlrun end to end: a submitted script calls ``Run.get_context().log("value", i)`` N times (default
  1,000,000) as fast as it can, writes the wall-clock time it ended, and exits. Measured: from the script's end
  until the run reads Completed (finalising ships every value before the final status), and then that the store
  holds all N points (one sqlite ``COUNT``/``MIN``/``MAX`` query: reading 1M points back through ``get_metrics``
  takes longer than the shipping and is not what is measured).
* The shipping alone, in this process, on the same store and the same machine: the run's own journal (N records)
  shipped again into a fresh run with ``ship_journal`` (read + parse + checks + the bulk insert), and the bulk insert
  alone (``TrackingStore.log_metric_points`` of already parsed points).
* The raw library: ``MlflowClient.log_batch`` of 1,000 metrics per call (MLflow's per-call limit) of the same points,
  B of them (default 200,000: at ~10,000/s a million would take minutes); compared by values/s.

Run: ``.venv/bin/python benchmarks/ship_rate.py [--n 1000000] [--batch-n 200000] [--e2e-only]``
(``--e2e-only`` runs just the first part, for measuring an older checkout whose tracking/ lacks the bulk path.)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# the same burst script and status wait as the in-script rate benchmark (this folder is on sys.path when run)
from log_rate import AMLRUN_SCRIPT, wait_until_terminal


def store_points(db: Path, run_id: str) -> tuple[int, float | None, float | None]:
    """``(count, min, max)`` of a run's points, straight from MLflow's ``metrics`` table (read-only)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=60)
    try:
        sql = "SELECT COUNT(*), MIN(value), MAX(value) FROM metrics WHERE run_uuid = ?"
        row = con.execute(sql, (run_id,)).fetchone()
    finally:
        con.close()
    return int(row[0]), row[1], row[2]


def bench_e2e(tmp: Path, n: int) -> dict[str, Any]:
    from jupyter_amlrun import Experiment, ScriptRunConfig, Workspace

    ws = Workspace.create("bench", path=tmp / "ws")
    src = tmp / "src"
    src.mkdir()
    (src / "burst.py").write_text(AMLRUN_SCRIPT)
    out = tmp / "burst-result.json"
    run = Experiment(ws, "ship-rate").submit(
        ScriptRunConfig(source_directory=str(src), script="burst.py", arguments=[n, str(out)])
    )
    status = wait_until_terminal(run, 1800)
    done_wall = time.time()
    if status != "Completed":
        raise RuntimeError(f"the run ended {status!r}: {run.get_details().get('error')}")
    inside = json.loads(out.read_text())
    count, lo, hi = store_points(ws.path / "mlflow.db", run.id)
    return {
        "ws": ws,
        "run_id": run.id,
        "journal": ws.path / "runs" / run.id / "journal.jsonl",
        "loop_s": float(inside["seconds"]),
        "after_end_s": done_wall - float(inside["end_wall"]),
        "count": count,
        "lossless": count == n and lo == 0.0 and hi == float(n - 1),
    }


def bench_in_process(ws: Any, journal: Path, n: int, batch_n: int) -> list[tuple[str, int, float]]:
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    from jupyter_amlrun.tracking import journal as J

    store = ws.store
    exp = store.get_or_create_experiment("ship-rate-in-process")
    rows: list[tuple[str, int, float]] = []

    run_dir = journal.parent.parent / "bench-reship"
    run_dir.mkdir()
    shutil.copyfile(journal, run_dir / "journal.jsonl")
    rid = store.create_run(exp, "ship_journal", {}).run_id
    t0 = time.perf_counter()
    shipped = J.ship_journal(store, rid, run_dir, final=True)
    rows.append(("ship_journal (read+parse+bulk)", shipped, time.perf_counter() - t0))
    assert store_points(ws.path / "mlflow.db", rid)[0] == n, "ship_journal lost values"

    records = J.read_all(journal)
    points = [(r["n"], float(r["v"]), r["t"], r["s"]) for r in records]
    rid = store.create_run(exp, "bulk", {}).run_id
    t0 = time.perf_counter()
    assert store.log_metric_points(rid, points) == []
    rows.append(("log_metric_points (bulk insert)", len(points), time.perf_counter() - t0))

    client = MlflowClient(tracking_uri=ws.get_mlflow_tracking_uri())
    rid = store.create_run(exp, "log_batch", {}).run_id
    sample = points[:batch_n]
    t0 = time.perf_counter()
    for start in range(0, len(sample), 1000):
        client.log_batch(rid, metrics=[Metric(k, v, ts, s) for k, v, ts, s in sample[start : start + 1000]])
    rows.append(("MlflowClient.log_batch(1000)", len(sample), time.perf_counter() - t0))
    assert store_points(ws.path / "mlflow.db", rid)[0] == len(sample), "log_batch lost values"
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="values the script logs in a burst")
    ap.add_argument("--batch-n", type=int, default=200_000, help="values shipped with raw log_batch")
    ap.add_argument("--e2e-only", action="store_true", help="only the submitted run (for an older checkout)")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="amlrun-bench-ship-"))
    os.environ["AMLRUN_HOME"] = str(tmp / "amlrun-home")
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    for var in ("AMLRUN_RUN_ID", "AMLRUN_WORKSPACE", "AMLRUN_TRACKING_URI", "MLFLOW_TRACKING_URI"):
        os.environ.pop(var, None)
    try:
        print(f"load average {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)", flush=True)
        print(f"a submitted script logs {args.n:,} values in a burst ...", flush=True)
        e2e = bench_e2e(tmp, args.n)
        rate = args.n / e2e["loop_s"]
        print(
            f"\n{'end to end':<34} {'values':>10} {'seconds':>9}\n"
            f"{'script loop (run.log)':<34} {args.n:>10,} {e2e['loop_s']:>9.2f}   ({rate:,.0f} values/s)\n"
            f"{'script end -> Completed':<34} {args.n:>10,} {e2e['after_end_s']:>9.2f}   "
            f"(store holds {e2e['count']:,} points, lossless: {'yes' if e2e['lossless'] else 'NO'})",
            flush=True,
        )
        print(
            f"Goal: every value in the store within 10 s of the script's end -> "
            f"{'met' if e2e['lossless'] and e2e['after_end_s'] <= 10 else 'MISSED'}",
            flush=True,
        )
        if not args.e2e_only:
            rows = bench_in_process(e2e["ws"], e2e["journal"], args.n, args.batch_n)
            base = rows[-1][1] / rows[-1][2]
            head = f"{'shipping in this process':<34} {'values':>10} {'seconds':>9} {'values/s':>10} {'vs raw':>8}"
            print("\n" + head)
            for side, count, seconds in rows:
                r = count / seconds
                print(f"{side:<34} {count:>10,} {seconds:>9.2f} {r:>10,.0f} {r / base:>7.1f}x")
        print(f"\nload average {os.getloadavg()[0]:.1f} at the end", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
