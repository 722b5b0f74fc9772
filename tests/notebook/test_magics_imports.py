"""The first ``%%submit`` of a fresh kernel imports only what it needs and never waits for MLflow (issue 20).

Each test is a new Python process (a fresh kernel: nothing imported yet) running an IPython shell: ``%load_ext
jupyter_amlrun``, then a ``%%submit`` cell with the widget, as a user's first cell does. MLflow and its SQLAlchemy,
alembic and pandas take ~2 s to import; the submit's store rows go through the standard library's sqlite3 meanwhile
(tracking/sqlite_direct.py), and MLflow, in this test's process, reads the run the kernel made and its driver ended.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

HEAVY = ("mlflow", "sqlalchemy", "alembic", "pandas")

KERNEL = r"""
import sys, threading
from IPython.testing.globalipapp import start_ipython

HEAVY = {heavy!r}
assert not [m for m in HEAVY if m in sys.modules], "imported before the kernel started"
ip = start_ipython()
from jupyter_amlrun.tracking import store

if sys.argv[1] == "no-preload":
    store.preload = lambda *a, **k: None  # what the submit path imports by itself, with nothing loaded ahead
waited = []
real_wait = store._wait_preload


def wait():
    if store._preload is not None and store._preload.is_alive():
        waited.append(threading.current_thread().name)
    real_wait()


store._wait_preload = wait
ip.run_line_magic("load_ext", "jupyter_amlrun")
ip.run_cell_magic("submit", "--experiment first", "print('hi')\n")  # the widget too: its first tick is in the cell
run = ip.user_ns["run"]
heavy = sorted(m for m in HEAVY if m in sys.modules)
print("HEAVY", (",".join(heavy) or "-") if sys.argv[1] == "no-preload" else "-")
print("WAITED", ",".join(waited) or "-")
print("RUN", run.id, run.wait_for_completion()["status"])
"""


def _kernel(mode: str, folder: Path) -> dict[str, str]:
    # The kernel's notebook, as jupyter_server tells its kernels: the submit copies it into the run (notebook/origin.py)
    notebook = folder / "first.ipynb"
    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "source": "%%submit --experiment first\nprint('hi')\n"}
    notebook.write_text(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    proc = subprocess.run(
        [sys.executable, "-c", KERNEL.format(heavy=HEAVY), mode],
        env={**os.environ, "JPY_SESSION_NAME": str(notebook)},
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    lines = [line.split(" ", 1) for line in proc.stdout.splitlines() if line.startswith(("HEAVY ", "WAITED ", "RUN "))]
    return {key: value for key, value in lines}


@pytest.mark.parametrize("mode", ["no-preload", "preload"])
def test_first_submit_neither_imports_nor_waits_for_mlflow(ws: Any, tmp_path: Path, mode: str) -> None:
    ws.write_config(path=tmp_path)  # the kernel finds it as a notebook beside it would (Workspace.from_config)
    got = _kernel(mode, tmp_path)
    if mode == "no-preload":
        assert got["HEAVY"] == "-", f"the submit path imported {got['HEAVY']}"
    assert got["WAITED"] == "-", "the cell waited for the MLflow preload"
    run_id, status = got["RUN"].split()
    assert status == "Completed"
    record = ws.store.get_run(run_id)  # MLflow (loaded in this process) reads what the kernel and its driver wrote
    assert record is not None and record.mlflow_status == "FINISHED"
    assert record.params["script"] and record.tags["mlflow.runName"] == record.run_name
    assert ws.store.experiment_name(record.experiment_id) == "first"
    copies = [
        a.path for a in ws.store.client.list_artifacts(run_id, "outputs/notebook")
    ]  # MLflow lists the notebook's copy
    assert [Path(c).name for c in copies] == ["first.ipynb"], copies
