"""Issue 25: a submit while another process holds the sqlite store's write lock says once what it waits for (who
holds the lock, for how long it waits at most) instead of printing MLflow's tracebacks, and goes on once the lock
is gone. A real lock: a second process in ``BEGIN EXCLUSIVE`` on the workspace's ``mlflow.db``."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import pytest

from jupyter_amlrun import Experiment, ScriptRunConfig, Workspace
from jupyter_amlrun.tracking._lockwait import lock_holders, sqlite_path

pytestmark = pytest.mark.integration

# Held longer than MLflow's own busy timeout (20 s): a first attempt fails, which used to print a traceback.
HOLD_SECONDS = 23
HOLDER = """
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
con.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.rollback()
"""


def test_a_submit_during_a_locked_store_says_once_what_it_waits_for(
    ws: Workspace, make_source: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    exp = Experiment(ws, "locked")
    exp.submit(ScriptRunConfig(source_directory=make_source({"train.py": "print(1)"}, "warm"), script="train.py"))
    capfd.readouterr()
    db = sqlite_path(ws.get_mlflow_tracking_uri())
    assert db is not None
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(HOLDER), str(db), str(HOLD_SECONDS)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        assert lock_holders(db) == [holder.pid]
        run = exp.submit(ScriptRunConfig(source_directory=make_source({"train.py": "print(2)"}), script="train.py"))
        err = capfd.readouterr().err
    finally:
        holder.kill()
        holder.wait()
    assert run.wait_for_completion(raise_on_error=False)["status"] == "Completed"
    assert err.count("is locked by") == 1, err
    assert f"locked by pid {holder.pid} (" in err and "waiting up to" in err, err
    assert "Traceback" not in err and "OperationalError" not in err, err
