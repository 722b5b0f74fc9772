"""TensorBoard over runs' logs (v1's azureml.tensorboard): a real tensorboard subprocess on 127.0.0.1, fed by a
real submitted run's event files, live while the run runs and from the uploaded logs after it ends."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlrun import Experiment, ScriptRunConfig
from jupyter_amlrun.runtime.runfolder import RunFolder
from jupyter_amlrun.tensorboard import Tensorboard, TensorboardException
from tests.conftest import wait_for

pytest.importorskip("tensorboard")  # the `tensorboard` extra; part of the dev install

SCRIPT = """
import pathlib, time
from tensorboard.summary import Writer
w = Writer("logs")
for step in range(5):
    w.add_scalar("loss", 1.0 / (step + 1), step=step)
w.flush()
print("first half written", flush=True)
for _ in range(600):
    if pathlib.Path("go").exists():
        break
    time.sleep(0.1)
for step in range(5, 10):
    w.add_scalar("loss", 1.0 / (step + 1), step=step)
w.close()
"""


def scalars(url: str, run_id: str, tag: str = "loss") -> list[Any]:
    """The points of ``tag`` TensorBoard serves for the run named ``run_id`` (events in its logs/ root: "<id>/.")."""
    try:
        with urllib.request.urlopen(f"{url}data/runs", timeout=5) as resp:
            names = [n for n in json.loads(resp.read()) if n == run_id or n.startswith(run_id + "/")]
        points: list[Any] = []
        for name in names:
            query = urllib.parse.urlencode({"run": name, "tag": tag})
            with urllib.request.urlopen(f"{url}data/plugin/scalars/scalars?{query}", timeout=5) as resp:
                points += json.loads(resp.read())
        return points
    except OSError:
        return []


@pytest.mark.unit
def test_needs_runs() -> None:
    with pytest.raises(TensorboardException, match="at least one run"):
        Tensorboard([])
    with pytest.raises(TensorboardException, match="takes runs, got str"):
        Tensorboard(["not a run"])  # type: ignore[list-item]


@pytest.mark.integration
def test_live_then_from_uploaded_logs(ws: Any, make_source: Any) -> None:
    src = make_source({"train.py": SCRIPT})
    run = Experiment(ws, "tb").submit(ScriptRunConfig(str(src), "train.py"))
    rf = RunFolder(ws.path, run.id)
    assert wait_for(lambda: "first half written" in _read(rf.user_log), timeout=90)
    live = Tensorboard([run], port=None)
    try:
        assert live.log_dirs()[run.id] == rf.workdir / "logs"  # read in place while the run runs
        url = live.start()
        assert url.startswith("http://127.0.0.1:")
        assert wait_for(lambda: len(scalars(url, run.id)) == 5, timeout=60)
        (rf.workdir / "go").touch()
        assert run.wait_for_completion()["status"] == "Completed"
    finally:
        live.stop()
    assert scalars(url, run.id) == []  # stopped: nothing answers there any more
    assert any(n.startswith("logs/events.out.tfevents") for n in run.get_file_names())
    # After the run (its working folder is gone): the uploaded logs, downloaded, all 10 points.
    done = Tensorboard([run], port=None)
    try:
        url = done.start()
        assert wait_for(lambda: len(scalars(url, run.id)) == 10, timeout=60)
        steps = [p[1] for p in scalars(url, run.id)]
        assert steps == list(range(10))
    finally:
        done.stop()
    assert not done.local_root.exists()  # its temporary download folder went with it


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""
