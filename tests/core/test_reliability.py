"""Reliability: concurrency, crashes of every process involved, and a kernel that goes away mid-run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from jupyter_amlrun import Experiment, Run, ScriptRunConfig, Workspace
from tests.conftest import process_alive, wait_for

pytestmark = pytest.mark.integration


def test_eight_concurrent_runs_log_ten_thousand_values_each(ws: Workspace, make_source: Any) -> None:
    src = make_source(
        {
            "train.py": """
            import sys
            from jupyter_amlrun import Run
            run = Run.get_context()
            seed = int(sys.argv[1])
            for i in range(10_000):
                run.log("value", seed * 100_000 + i)
            run.log_row("summary", seed=seed, n=10_000)
            """
        }
    )
    exp = Experiment(ws, "stress")
    runs = [exp.submit(ScriptRunConfig(source_directory=src, script="train.py", arguments=[k])) for k in range(8)]
    for run in runs:
        assert run.wait_for_completion(raise_on_error=False)["status"] == "Completed", run.get_details()
    for k, run in enumerate(runs):
        metrics = run.get_metrics()  # finished: read back from MLflow, not the journal
        assert metrics["value"] == [float(k * 100_000 + i) for i in range(10_000)]
        assert metrics["summary"] == {"seed": k, "n": 10_000}
        driver_log = (ws.path / "runs" / run.id / "logs/azureml/driver_log.txt").read_text()
        assert "failed" not in driver_log.lower() and "locked" not in driver_log.lower()


def _state(ws: Workspace, run: Run) -> dict[str, Any]:
    import json

    return json.loads((ws.path / "runs" / run.id / "state.json").read_text())


def test_driver_sigkilled_reads_failed(ws: Workspace, make_source: Any) -> None:
    src = make_source(
        {
            "train.py": "import time\nfrom jupyter_amlrun import Run\nrun = Run.get_context()\nrun.log('seen', 1)\n"
            "print('alive', flush=True)\ntime.sleep(600)\n"
        }
    )
    run = Experiment(ws, "driver-crash").submit(ScriptRunConfig(source_directory=src, script="train.py"))
    assert wait_for(lambda: run.get_status() == "Running", timeout=60)
    # The script's point is in the journal (the file alone is not enough: the driver's system-metrics sampler
    # writes into it from the start).
    journal = ws.path / "runs" / run.id / "journal.jsonl"
    assert wait_for(lambda: journal.exists() and '"n":"seen"' in journal.read_text(), timeout=30)
    script_pid = int(_state(ws, run)["script_pgid"])
    os.kill(int(_state(ws, run)["owner_pid"]), signal.SIGKILL)
    assert wait_for(lambda: run.get_status() == "Failed", timeout=30)
    details = run.get_details()
    assert "ended without finishing it" in details["error"]["error"]["message"]
    assert wait_for(lambda: not process_alive(script_pid), timeout=10)  # the orphaned script was ended too
    assert run.get_metrics() == {"seen": 1.0}
    assert "alive" in run.download_file("logs/user_logs/std_log.txt", str(ws.path / "std.txt")).read_text()


def test_training_process_sigkilled_keeps_metrics_and_logs(ws: Workspace, make_source: Any) -> None:
    src = make_source(
        {
            "train.py": """
            import time
            from jupyter_amlrun import Run
            run = Run.get_context()
            for i in range(1000):
                run.log("step", i)
            print("logged 1000", flush=True)
            time.sleep(600)
            """
        }
    )
    run = Experiment(ws, "script-crash").submit(ScriptRunConfig(source_directory=src, script="train.py"))
    log = ws.path / "runs" / run.id / "logs/user_logs/std_log.txt"
    assert wait_for(lambda: log.exists() and "logged 1000" in log.read_text(), timeout=60)
    os.kill(int(_state(ws, run)["script_pgid"]), signal.SIGKILL)
    details = run.wait_for_completion(raise_on_error=False)
    assert details["status"] == "Failed"
    assert "killed by signal SIGKILL" in details["error"]["error"]["message"]
    assert run.get_metrics()["step"] == [float(i) for i in range(1000)]
    assert "logs/user_logs/std_log.txt" in run.get_file_names()


def test_kernel_exits_mid_run_and_the_run_still_completes(ws: Workspace, make_source: Any, tmp_path: Any) -> None:
    src = make_source(
        {
            "train.py": "import time\nfrom jupyter_amlrun import Run\nrun = Run.get_context()\ntime.sleep(2)\n"
            "run.log('final', 42)\nopen('outputs/done.txt', 'w').write('yes')\n"
        }
    )
    kernel = textwrap.dedent(
        f"""
        from jupyter_amlrun import Workspace, Experiment, ScriptRunConfig
        ws = Workspace(path={str(ws.path)!r})
        run = Experiment(ws, "orphan").submit(ScriptRunConfig(source_directory={str(src)!r}, script="train.py"))
        print(run.id, flush=True)
        """
    )
    out = subprocess.run([sys.executable, "-c", kernel], capture_output=True, text=True, timeout=120, check=True)
    run_id = out.stdout.strip().splitlines()[-1]
    run = Run(Experiment(ws, "orphan"), run_id)
    assert run.wait_for_completion()["status"] == "Completed"
    assert run.get_metrics() == {"final": 42.0}
    assert "outputs/done.txt" in run.get_file_names()
