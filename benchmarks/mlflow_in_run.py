"""Cost of one ``mlflow.log_metric`` inside a submitted run, by route (issue 21): the design choice of
``jupyter_amlrun/tracking/runendpoint.py``.

One submitted script (local compute, the workspace's sqlite store) times N calls per route, each into its own metric:

* ``run.log`` - ``Run.get_context().log``: one journal append (the baseline).
* REST endpoint (chosen) - ``mlflow.log_metric`` with the environment the driver gives the script (the tracking URI is
  the driver's endpoint): one HTTP request per call, journaled by the driver. Also ``MlflowClient.log_metric`` (no
  fluent layer) and ``MlflowClient.log_batch`` of 1,000 points per call (what autologging and batching clients send).
* In-process plugin (the alternative) - a tracking store registered for a URI scheme of ours (what an entry point of
  group ``mlflow.tracking_store`` would load) whose ``log_metric`` appends to a journal: ``MlflowClient.log_metric``
  through it. Measured without packaging it as an entry point (the same class, registered in the script).
* sqlite direct (before) - ``MlflowClient.log_metric`` on the workspace's sqlite URI: the script's own MLflow writes the
  store (what the driver used to set up; it breaks when the run's MLflow differs from the workspace's).

The script writes its figures to outputs/bench.json; this prints microseconds per call and the ratio to ``run.log``.
Run: ``.venv/bin/python benchmarks/mlflow_in_run.py [--n 2000]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import json
    import os
    import sys
    import time
    from pathlib import Path

    import mlflow
    from mlflow.entities import Metric
    from mlflow.store.tracking.abstract_store import AbstractStore
    from mlflow.tracking import MlflowClient
    from mlflow.tracking._tracking_service.utils import _tracking_store_registry

    from jupyter_amlrun import Run
    from jupyter_amlrun.tracking.journal import JournalWriter

    n = int(sys.argv[1])
    sqlite_uri = sys.argv[2]
    run_id = os.environ["MLFLOW_RUN_ID"]
    out = {}

    def timed(name, fn, calls):
        t0 = time.perf_counter()
        fn()
        out[name] = (time.perf_counter() - t0) / calls * 1e6

    run = Run.get_context()
    timed("run.log", lambda: [run.log("a_runlog", float(i)) for i in range(n)], n)

    mlflow.start_run()
    timed("REST: mlflow.log_metric", lambda: [mlflow.log_metric("b_fluent", float(i), step=i) for i in range(n)], n)
    rest = MlflowClient()
    timed("REST: MlflowClient.log_metric", lambda: [rest.log_metric(run_id, "c_client", float(i), step=i)
                                                   for i in range(n)], n)
    batch = [Metric("d_batch", float(i), int(time.time() * 1000), i) for i in range(1000)]
    timed("REST: log_batch of 1,000 (per point)", lambda: rest.log_batch(run_id, metrics=batch), 1000)

    class JournalStore(AbstractStore):
        # What a tracking-store plugin would do for a metric: append it to the run's journal in this process.
        def __init__(self, store_uri=None, artifact_uri=None):
            super().__init__()
            self.writer = JournalWriter(Path("plugin_journal.jsonl"))

        def log_metric(self, run_id, metric):
            self.writer.append_points([(metric.key, metric.value, metric.timestamp, metric.step)])

    _tracking_store_registry.register("amlrunbench", lambda store_uri=None, artifact_uri=None: JournalStore())
    plugin = MlflowClient(tracking_uri="amlrunbench://run")
    timed("plugin: MlflowClient.log_metric", lambda: [plugin.log_metric(run_id, "e_plugin", float(i), step=i)
                                                     for i in range(n)], n)

    direct = MlflowClient(tracking_uri=sqlite_uri)
    m = max(1, n // 10)  # ~120/s: fewer calls
    timed("sqlite direct: MlflowClient.log_metric", lambda: [direct.log_metric(run_id, "f_sqlite", float(i), step=i)
                                                            for i in range(m)], m)
    Path("outputs").mkdir(exist_ok=True)
    Path("outputs/bench.json").write_text(json.dumps(out))
    """
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="calls per route (sqlite direct makes n/10)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="amlrun-bench-mlflow-"))
    os.environ["AMLRUN_HOME"] = str(tmp / "home")
    try:
        from jupyter_amlrun import Experiment, ScriptRunConfig, Workspace

        ws = Workspace.create("bench", path=tmp / "ws")
        src = tmp / "src"
        src.mkdir()
        (src / "bench.py").write_text(SCRIPT)
        run = Experiment(ws, "mlflow-in-run").submit(
            ScriptRunConfig(
                source_directory=str(src),
                script="bench.py",
                arguments=[str(args.n), ws.get_mlflow_tracking_uri()],
            )
        )
        run.wait_for_completion()
        run.download_file("outputs/bench.json", str(tmp / "bench.json"))
        figures = json.loads((tmp / "bench.json").read_text())
        base = figures["run.log"]
        print(f"load average (1 min): {os.getloadavg()[0]:.1f}; calls per route: {args.n}")
        print(f"{'route':45s} {'us/call':>10s} {'x run.log':>10s}")
        for name, us in figures.items():
            print(f"{name:45s} {us:10.1f} {us / base:10.1f}")
        # What reached the store: each route's metric once (the journal shipped, nothing doubled).
        metrics = run.get_metrics()
        counts = {k: len(v) if isinstance(v, list) else 1 for k, v in sorted(metrics.items())}
        print("points stored per metric:", counts)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
