"""System metrics: a real run's driver samples the script's process tree into ``system/...`` metrics (MLflow's
system-metric names, in the run's MLflow store), get_metrics() leaves them out, get_system_metrics() returns them; a
failing GPU query is logged once and sampling goes on; 0 turns sampling off."""

from __future__ import annotations

import stat
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlrun import Experiment, ScriptRunConfig
from jupyter_amlrun.compute import sysmetrics
from jupyter_amlrun.tracking.journal import read_all

SCRIPT = """\
import time
from jupyter_amlrun import Run
run = Run.get_context()
data = bytearray(60 * 1024 * 1024)  # 60 MB resident
with open("outputs/blob.bin", "wb") as fh:
    fh.write(bytes(8 * 1024 * 1024))
    fh.flush()
    import os; os.fsync(fh.fileno())
end = time.time() + 3
n = 0
while time.time() < end:  # busy: the tree's CPU shows
    n += 1
run.log("loops", float(n))
"""


@pytest.mark.integration
def test_a_real_run_gets_system_metrics(ws: Any, make_source: Any) -> None:
    src = make_source({"train.py": SCRIPT})
    config = ScriptRunConfig(str(src), "train.py")
    config.run_config.environment_variables = {sysmetrics.INTERVAL_ENV: "0.5"}
    run = Experiment(ws, "sys").submit(config)
    run.wait_for_completion(raise_on_error=True)

    assert set(run.get_metrics()) == {"loops"}  # only what the script logged
    samples = run.get_system_metrics()
    cpu = samples["system/cpu_utilization_percentage"]
    assert len(cpu) >= 3 and [s for s, _t, _v in cpu] == list(range(len(cpu)))
    assert max(v for _s, _t, v in cpu) > 0  # the busy loop shows (how much depends on the machine's load)
    assert max(v for *_, v in samples["system/process_memory_rss_megabytes"]) > 50
    assert set(samples) >= {"system/disk_read_megabytes", "system/disk_write_megabytes"}
    assert not any("gpu" in name for name in samples)  # no GPU here
    # In the MLflow store under MLflow's own names, so `mlflow ui` shows them in its System metrics tab.
    stored = ws.store.get_run(run.id).metrics
    assert "system/cpu_utilization_percentage" in stored and "loops" in stored
    history = ws.store.metric_history(run.id, "system/cpu_utilization_percentage")
    assert len(history) == len(cpu)

    # The run view draws them as charts of the System section, apart from the script's metrics.
    from jupyter_amlrun.core.reader import RunReader
    from jupyter_amlrun.view.model import RunView
    from jupyter_amlrun.view.watch import RunWatcher

    view = RunView(run.id)
    upd = view.apply(RunWatcher(RunReader(ws, run.id)).snapshot())
    sections = {c.name: c.section for c in upd.charts}
    assert sections["system/cpu_utilization_percentage"] == "system" and sections["loops"] == "metrics"
    assert [row[0] for row in view.metrics_table()["rows"]] == ["loops"]
    system_rows = {row[0]: row for row in view.system_table()["rows"]}
    assert system_rows["cpu_utilization_percentage"][4] == str(len(cpu))


@pytest.mark.integration
def test_zero_turns_sampling_off(ws: Any, make_source: Any) -> None:
    src = make_source({"train.py": "import time; time.sleep(1.5)\n"})
    config = ScriptRunConfig(str(src), "train.py")
    config.run_config.environment_variables = {sysmetrics.INTERVAL_ENV: "0"}
    run = Experiment(ws, "sys").submit(config)
    run.wait_for_completion(raise_on_error=True)
    assert run.get_system_metrics() == {}


@pytest.mark.unit
def test_interval_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(sysmetrics.INTERVAL_ENV, raising=False)
    assert sysmetrics.interval_seconds() == 5.0
    monkeypatch.setenv(sysmetrics.INTERVAL_ENV, "2")
    assert sysmetrics.interval_seconds() == 2.0
    assert sysmetrics.interval_seconds({sysmetrics.INTERVAL_ENV: "0"}) == 0.0  # the run's setting wins
    for bad in ("-1", "soon", "nan"):
        with pytest.raises(ValueError, match="AMLRUN_SYSTEM_METRICS_SECONDS"):
            sysmetrics.interval_seconds({sysmetrics.INTERVAL_ENV: bad})


@pytest.mark.unit
def test_failing_gpu_query_logs_once_and_sampling_goes_on(tmp_path: Path) -> None:
    # No GPU here: a real failing executable stands in for an nvidia-smi whose query fails (this test says so).
    smi = tmp_path / "nvidia-smi"
    smi.write_text("#!/bin/sh\necho 'NVIDIA-SMI has failed' >&2\nexit 9\n")
    smi.chmod(smi.stat().st_mode | stat.S_IEXEC)
    lines: list[str] = []
    query = sysmetrics.GpuQuery(lines.append, smi=str(smi))
    if query.source == "nvml":
        pytest.skip("NVML is importable here: the nvidia-smi fallback is not used")
    assert query.sample() == {} and query.sample() == {}
    assert len(lines) == 1 and "GPU" in lines[0] and "exited with 9" in lines[0]

    # The sampler thread goes on without GPU figures.
    journal = tmp_path / "metrics.jsonl"
    stop = threading.Event()
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3)"])
    try:
        thread = sysmetrics.start_sampler(journal, child.pid, stop, lines.append, {sysmetrics.INTERVAL_ENV: "0.2"})
        assert thread is not None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(read_all(journal) if journal.exists() else []) < 8:
            time.sleep(0.1)
        stop.set()
        thread.join(timeout=10)
    finally:
        child.kill()
        child.wait()
    names = {r["n"] for r in read_all(journal)}
    assert "system/cpu_utilization_percentage" in names and not any("gpu" in n for n in names)
