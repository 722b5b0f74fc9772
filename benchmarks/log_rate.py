"""In-script ``run.log`` rate vs ``mlflow.log_metric`` on the same sqlite store (issue 2).

What it measures:

* jupyter_amlrun: a submitted script calls ``Run.get_context().log("value", i)`` N times (default 100,000) and times
  the loop itself (values/s inside the script). The benchmark also times the whole trip: from ``exp.submit(...)``
  until the run is Completed and ``run.get_metrics()`` returns every value from MLflow (the driver ships the journal in
  batches), and checks that nothing was lost (count and values).
* MLflow: a plain script (same interpreter, same workspace sqlite store) calls ``mlflow.log_metric("value", i,
  step=i)`` once per value, M times (default 1,000: it manages ~120/s), timed the same way; then
  ``MlflowClient.get_metric_history`` must return all M values.
* For context, MLflow's best case: ``MlflowClient.log_batch`` of 1,000 metrics per call (B values, default 20,000).

Ratios compare values/s. Everything lives in a temp folder removed at the end.

Run: ``.venv/bin/python benchmarks/log_rate.py [--n 100000] [--mlflow-n 1000] [--batch-n 20000]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

AMLRUN_SCRIPT = """\
import json
import sys
import time

from jupyter_amlrun import Run

n, out = int(sys.argv[1]), sys.argv[2]
run = Run.get_context()
t0 = time.perf_counter()
for i in range(n):
    run.log("value", i)
seconds = time.perf_counter() - t0
with open(out, "w") as fh:
    json.dump({"n": n, "seconds": seconds, "end_wall": time.time()}, fh)
"""

MLFLOW_SCRIPT = """\
import json
import sys
import time

import mlflow
from mlflow.entities import Metric

n, out, experiment, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
mlflow.set_experiment(experiment)
with mlflow.start_run() as active:
    run_id = active.info.run_id
    client = mlflow.MlflowClient()
    t0 = time.perf_counter()
    if mode == "log_metric":
        for i in range(n):
            mlflow.log_metric("value", i, step=i)
    else:
        for start in range(0, n, 1000):
            now = int(time.time() * 1000)
            batch = [Metric("value", float(i), now, i) for i in range(start, min(n, start + 1000))]
            client.log_batch(run_id, metrics=batch)
    seconds = time.perf_counter() - t0
with open(out, "w") as fh:
    json.dump({"n": n, "seconds": seconds, "run_id": run_id, "end_wall": time.time()}, fh)
"""


@dataclass
class Row:
    side: str
    n: int
    in_script_s: float
    end_to_end_s: float
    readable: int
    lossless: bool

    @property
    def in_script_rate(self) -> float:
        return self.n / self.in_script_s

    @property
    def end_to_end_rate(self) -> float:
        return self.n / self.end_to_end_s


def wait_until_terminal(run: Any, timeout: float) -> str:
    """Poll ``run.get_status()`` until the run ends (bounded)."""
    deadline = time.monotonic() + timeout
    status = ""
    while time.monotonic() < deadline:
        status = run.get_status()
        if status in ("Completed", "Failed", "Canceled"):
            return status
        time.sleep(0.05)
    raise TimeoutError(f"run still {status} after {timeout} s")


def bench_amlrun(tmp: Path, n: int) -> tuple[Row, str]:
    from jupyter_amlrun import Experiment, ScriptRunConfig, Workspace

    ws = Workspace.create("bench", path=tmp / "ws")
    src = tmp / "src"
    src.mkdir()
    (src / "log_values.py").write_text(AMLRUN_SCRIPT)
    out = tmp / "amlrun-result.json"
    exp = Experiment(ws, "log-rate")
    t0 = time.perf_counter()
    run = exp.submit(ScriptRunConfig(source_directory=str(src), script="log_values.py", arguments=[n, str(out)]))
    status = wait_until_terminal(run, 900)
    t_done = time.perf_counter()
    if status != "Completed":
        raise RuntimeError(f"the run ended {status}: {run.get_details().get('error')}")
    values = run.get_metrics(name="value").get("value", [])
    t_read = time.perf_counter()
    values = values if isinstance(values, list) else [values]
    inside = json.loads(out.read_text())
    readable = len(values)
    lossless = readable == n and [float(v) for v in values] == [float(i) for i in range(n)]
    row = Row("jupyter_amlrun run.log", n, float(inside["seconds"]), t_read - t0, readable, lossless)
    print(
        f"  submit -> Completed {t_done - t0:.2f} s, get_metrics() {t_read - t_done:.2f} s, "
        f"{readable:,} of {n:,} values readable",
        flush=True,
    )
    return row, ws.get_mlflow_tracking_uri()


def bench_mlflow(tmp: Path, uri: str, n: int, mode: str) -> Row:
    import mlflow

    script = tmp / f"mlflow_{mode}.py"
    script.write_text(MLFLOW_SCRIPT)
    out = tmp / f"mlflow-{mode}.json"
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "MLFLOW_DISABLE_TELEMETRY": "true"}
    for var in ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "AMLRUN_RUN_ID"):
        env.pop(var, None)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(script), str(n), str(out), f"mlflow-{mode}", mode],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"mlflow {mode} script failed:\n{proc.stderr[-2000:]}")
    inside = json.loads(out.read_text())
    history = mlflow.MlflowClient(tracking_uri=uri).get_metric_history(inside["run_id"], "value")
    t_read = time.perf_counter()
    values = [m.value for m in sorted(history, key=lambda m: m.step)]
    lossless = len(values) == n and values == [float(i) for i in range(n)]
    label = "mlflow.log_metric" if mode == "log_metric" else "MlflowClient.log_batch(1000)"
    print(f"  {label}: {n:,} values, script {inside['seconds']:.2f} s, {len(values):,} readable", flush=True)
    return Row(label, n, float(inside["seconds"]), t_read - t0, len(values), lossless)


def report(rows: list[Row]) -> None:
    base = next(r for r in rows if r.side.startswith("mlflow.log_metric"))
    head = (
        f"{'side':<30} {'values':>8} {'in-script s':>11} {'values/s':>10} {'vs log_metric':>13} "
        f"{'end-to-end s':>12} {'e2e values/s':>12} {'e2e ratio':>9} {'readable':>9} {'lossless':>8}"
    )
    print("\nLogging rate (values/s; ratios are against one mlflow.log_metric call per value)")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r.side:<30} {r.n:>8,} {r.in_script_s:>11.3f} {r.in_script_rate:>10,.0f} "
            f"{r.in_script_rate / base.in_script_rate:>12,.0f}x {r.end_to_end_s:>12.2f} {r.end_to_end_rate:>12,.0f} "
            f"{r.end_to_end_rate / base.end_to_end_rate:>8,.1f}x {r.readable:>9,} {'yes' if r.lossless else 'NO':>8}"
        )
    print(
        "\nin-script: the logging loop alone, timed inside the script. end-to-end: from submitting / starting the "
        "script until every value is read back from MLflow (jupyter_amlrun: exp.submit -> Completed -> "
        "run.get_metrics(); MLflow: python start, import mlflow, the loop, then get_metric_history)."
    )
    aml = next(r for r in rows if r.side.startswith("jupyter_amlrun"))
    ratio = aml.in_script_rate / base.in_script_rate
    print(
        f"Goal: >= 100x mlflow.log_metric, lossless -> {'met' if ratio >= 100 and aml.lossless else 'MISSED'} "
        f"({ratio:,.0f}x in-script, {aml.end_to_end_rate / base.end_to_end_rate:,.1f}x end-to-end, "
        f"{aml.readable:,}/{aml.n:,} values readable)"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="values logged with run.log")
    ap.add_argument("--mlflow-n", type=int, default=1_000, help="values logged with mlflow.log_metric")
    ap.add_argument("--batch-n", type=int, default=20_000, help="values logged with log_batch (0: skip)")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="amlrun-bench-log-"))
    os.environ["AMLRUN_HOME"] = str(tmp / "amlrun-home")
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    for var in ("AMLRUN_RUN_ID", "AMLRUN_WORKSPACE", "AMLRUN_TRACKING_URI", "MLFLOW_TRACKING_URI"):
        os.environ.pop(var, None)
    try:
        print(f"load average {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)", flush=True)
        print(f"jupyter_amlrun: submitting a script that calls run.log {args.n:,} times ...", flush=True)
        aml, uri = bench_amlrun(tmp, args.n)
        assert aml.lossless, f"run.log lost values: {aml.readable} of {aml.n} readable"
        rows = [aml]
        print(f"MLflow on the same store ({uri}) ...", flush=True)
        rows.append(bench_mlflow(tmp, uri, args.mlflow_n, "log_metric"))
        assert rows[-1].lossless, "mlflow.log_metric lost values"
        if args.batch_n:
            rows.append(bench_mlflow(tmp, uri, args.batch_n, "log_batch"))
        report(rows)
        print(f"load average {os.getloadavg()[0]:.1f} at the end", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
