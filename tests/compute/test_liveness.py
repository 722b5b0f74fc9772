"""Issue 13, process side: slots, the queue, dead and stopped drivers, escaped daemons, lost folders, a locked store.

Real pools, real drivers, real signals and a real sqlite lock held by a second connection. Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlrun import AmlCompute, ComputeTarget, Experiment, Run, ScriptRunConfig, Workspace
from jupyter_amlrun.runtime.runfolder import RunFolder
from tests.conftest import process_alive, wait_for

pytestmark = pytest.mark.integration

TERMINAL = {"Completed", "Failed", "Canceled"}


def _state(ws: Workspace, run: Run) -> dict[str, Any]:
    try:
        return dict(json.loads((ws.path / "runs" / run.id / "state.json").read_text()))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _pool(ws: Workspace, name: str, size: int) -> Any:
    return ComputeTarget.create(ws, name, AmlCompute.provisioning_configuration(max_nodes=size))


def _submit(ws: Workspace, src: Path, target: Any = None, args: list[Any] | None = None) -> Run:
    cfg = ScriptRunConfig(source_directory=src, script="train.py", compute_target=target, arguments=args or [])
    return Experiment(ws, "liveness").submit(cfg)


def _read_pids(path: Path) -> list[int] | None:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    return [int(p) for p in text.split()] if text.endswith("\n") else None


def _kill_all(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGCONT)
            os.kill(pid, signal.SIGKILL)


# A script (and its child) that ignore SIGTERM: ending the tree takes the SIGKILL after the grace, so a slot freed
# early would let the next run start while they still live.
STUBBORN = """
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"])
with open(sys.argv[1] + ".tmp", "w") as fh:
    fh.write(f"{os.getpid()} {child.pid}\\n")
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(600)
"""

STAMP = """
import sys, time
with open(sys.argv[1], "w") as fh:
    fh.write(repr(time.time()) + "\\n")
time.sleep(600)
"""


def test_killed_driver_keeps_the_slot_until_its_script_tree_is_gone(
    ws: Workspace, make_source: Any, tmp_path: Path
) -> None:
    pool = _pool(ws, "one-slot", 1)
    pids_file, started_file = tmp_path / "pids.txt", tmp_path / "started.txt"
    first = _submit(ws, make_source({"train.py": STUBBORN}, "stubborn"), pool, [str(pids_file)])
    pids: list[int] = []
    try:
        assert wait_for(lambda: _read_pids(pids_file) is not None, timeout=60)
        pids = _read_pids(pids_file) or []
        second = _submit(ws, make_source({"train.py": STAMP}, "stamp"), pool, [str(started_file)])
        assert wait_for(lambda: _state(ws, second).get("status") == "Queued", timeout=60)
        driver = int(_state(ws, first)["owner_pid"])
        os.kill(driver, signal.SIGKILL)
        killed = time.time()
        last_alive = killed
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (started_file.exists() and started_file.read_text().endswith("\n")):
            if any(process_alive(p) for p in pids):
                last_alive = time.time()
            time.sleep(0.02)
        assert started_file.exists(), "the queued run never started after the first run's driver was killed"
        started = float(started_file.read_text())
        assert not any(process_alive(p) for p in pids)
        assert started > last_alive, f"the second run started {last_alive - started:.2f} s before the tree was gone"
        print(f"\ntree gone {last_alive - killed:.2f} s after SIGKILL; next run started {started - killed:.2f} s after")
        assert wait_for(lambda: first.get_status() == "Failed", timeout=30)
        assert "ended without finishing it" in first.get_details()["error"]["error"]["message"]
        second.cancel()
        assert wait_for(lambda: second.get_status() == "Canceled", timeout=30)
    finally:
        _kill_all(pids)


SLEEPER = """
import os, sys, time
with open(sys.argv[1] + ".tmp", "w") as fh:
    fh.write(f"{os.getpid()}\\n")
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(600)
"""


def test_stopped_driver_is_found_by_the_guard(ws: Workspace, make_source: Any, tmp_path: Path) -> None:
    pool = _pool(ws, "stop-pool", 1)
    pids_file = tmp_path / "pids.txt"
    run = _submit(ws, make_source({"train.py": SLEEPER}), pool, [str(pids_file)])
    assert wait_for(lambda: _read_pids(pids_file) is not None, timeout=60)
    script = (_read_pids(pids_file) or [0])[0]
    driver = int(_state(ws, run)["owner_pid"])
    try:
        os.kill(driver, signal.SIGSTOP)
        stopped = time.monotonic()
        # Nobody reads the run meanwhile: the guard alone must find the stopped driver, end the run and free the slot.
        # How fast it does is measured in benchmarks/cancel_latency.py, not asserted here (a loaded CI is slower).
        assert wait_for(lambda: _state(ws, run).get("status") == "Failed", timeout=90)
        print(f"\nstopped driver: run Failed {time.monotonic() - stopped:.1f} s after SIGSTOP")
        assert not process_alive(script) and not process_alive(driver)
        assert pool.get_status().node_state_counts["runningNodeCount"] == 0
        message = run.get_details()["error"]["error"]["message"]
        assert "SIGSTOP" in message and "heartbeat" in message
    finally:
        _kill_all([driver, script])


LOGGER = """
import time
from jupyter_amlrun import Run
run = Run.get_context()
i = 0
while True:
    run.log("v", i)
    i += 1
    time.sleep(0.01)
"""


def test_deleted_run_folder_ends_failed_never_completed(ws: Workspace, make_source: Any) -> None:
    run = _submit(ws, make_source({"train.py": LOGGER}))
    rf = RunFolder(ws.path, run.id)
    assert wait_for(lambda: run.get_status() == "Running" and rf.journal_path.exists(), timeout=60)
    script = int(_state(ws, run)["script_pgid"])
    try:
        # The driver and the script keep writing while it goes: delete until state.json stays gone.
        assert wait_for(lambda: shutil.rmtree(rf.root, ignore_errors=True) or not rf.state_path.exists(), timeout=10)
        seen: list[str] = []

        def ended() -> bool:
            seen.append(run.get_status())
            return seen[-1] in TERMINAL

        assert wait_for(ended, timeout=60)
        assert seen[-1] == "Failed" and "Completed" not in seen and "NotStarted" not in seen, seen
        assert "disappeared" in run.get_details()["error"]["error"]["message"]
        assert wait_for(lambda: not process_alive(script), timeout=10)
    finally:
        _kill_all([script])


def _mlflow_db(ws: Workspace) -> str:
    uri = ws.get_mlflow_tracking_uri()
    assert uri.startswith("sqlite:///"), uri
    return uri[len("sqlite:///") :]


@contextlib.contextmanager
def _store_locked(ws: Workspace) -> Any:
    """Another writer holding an open write transaction on the MLflow store."""
    con = sqlite3.connect(_mlflow_db(ws), timeout=30, isolation_level=None)
    try:
        con.execute("BEGIN EXCLUSIVE")
        yield
    finally:
        con.rollback()
        con.close()


WAIT_FOR_GO = """
import pathlib, time
from jupyter_amlrun import Run
run = Run.get_context()
for i in range(100):
    run.log("x", i)
deadline = time.time() + 120
while not pathlib.Path("go").exists() and time.time() < deadline:
    time.sleep(0.05)
"""


def test_driver_killed_during_finalizing_after_exit_0_ends_completed(ws: Workspace, make_source: Any) -> None:
    run = _submit(ws, make_source({"train.py": WAIT_FOR_GO}))
    rf = RunFolder(ws.path, run.id)
    assert wait_for(lambda: run.get_status() == "Running" and rf.journal_path.exists(), timeout=60)
    with _store_locked(ws):  # Finalizing waits on the store, so the driver can be caught in it
        (rf.workdir / "go").touch()
        assert wait_for(lambda: _state(ws, run).get("status") == "Finalizing", timeout=30)
        assert _state(ws, run).get("exit_code") == 0  # recorded the moment the script ended
        os.kill(int(_state(ws, run)["owner_pid"]), signal.SIGKILL)
    assert wait_for(lambda: run.get_status() in TERMINAL, timeout=90)
    details = run.get_details()
    assert details["status"] == "Completed", details
    assert details["exitCode"] == 0
    assert any("during Finalizing" in w["message"] for w in details.get("warnings", []))
    assert run.get_metrics()["x"] == [float(i) for i in range(100)]


# 75 s as in issue 13 (before finalize retried, a 30 s lock was survived and 75 s failed the run): not shortened.
@pytest.mark.slow
def test_store_locked_75_s_delays_finalizing_and_the_run_completes(ws: Workspace, make_source: Any) -> None:
    run = _submit(ws, make_source({"train.py": WAIT_FOR_GO}))
    rf = RunFolder(ws.path, run.id)
    assert wait_for(lambda: run.get_status() == "Running" and rf.journal_path.exists(), timeout=60)
    with _store_locked(ws):
        locked = time.monotonic()
        (rf.workdir / "go").touch()
        assert wait_for(lambda: _state(ws, run).get("status") == "Finalizing", timeout=30)
        # Readers meanwhile see a live run (its heartbeat goes on), never a dead one.
        while time.monotonic() - locked < 75:
            assert run.get_status() == "Finalizing"
            time.sleep(1.0)
    assert wait_for(lambda: run.get_status() in TERMINAL, timeout=120)
    details = run.get_details()
    assert details["status"] == "Completed", details
    assert run.get_metrics()["x"] == [float(i) for i in range(100)]
    # Not yet asserted: the driver log saying "busy or unreachable" (the wait happens in the store layer's own retry
    # before finalize's wrapper sees a failure; see the report of issue 13's process part).
    assert "final status Completed" in rf.driver_log.read_text()


DAEMON = """
import os, subprocess, sys, time
code = '''
import os, signal, sys, time
if os.fork():
    sys.exit(0)
os.setsid()
signal.signal(signal.SIGTERM, signal.SIG_IGN)
with open(sys.argv[1] + ".tmp", "w") as fh:
    fh.write(str(os.getpid()) + "\\\\n")
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(600)
'''
subprocess.run([sys.executable, "-c", code, sys.argv[1]], check=True)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.02)
if sys.argv[2] == "wait":
    time.sleep(600)
"""


@pytest.mark.parametrize("how", ["cancel", "end"])
def test_setsid_daemon_ignoring_sigterm_is_gone_when_the_run_ends(
    ws: Workspace, make_source: Any, tmp_path: Path, how: str
) -> None:
    # What must happen, not how fast (the time is a benchmark's: benchmarks/cancel_latency.py): the daemon the script
    # left behind, in its own session and deaf to SIGTERM, is killed with the run's tree, and is gone by the time the
    # run reads terminal.
    pid_file = tmp_path / "daemon.pid"
    run = _submit(ws, make_source({"train.py": DAEMON}), None, [str(pid_file), "wait" if how == "cancel" else "exit"])
    assert wait_for(lambda: _read_pids(pid_file) is not None, timeout=60)
    daemon = (_read_pids(pid_file) or [0])[0]
    try:
        if how == "cancel":
            run.cancel()
        assert wait_for(lambda: run.get_status() in TERMINAL, timeout=90)
        assert not process_alive(daemon), "the run ended while the daemon its script started still lives"
        assert run.get_status() == ("Canceled" if how == "cancel" else "Completed")
    finally:
        _kill_all([daemon])


INTERACTIVE = """
import gc, sys, time
from jupyter_amlrun import Experiment, Workspace
ws = Workspace(path=sys.argv[1])
run = Experiment(ws, "interactive").start_logging(snapshot_directory=None, outputs=False)
run.log("x", 1)
print(run.id, flush=True)
del run
gc.collect()
time.sleep(120)
"""


def test_interactive_run_stays_running_after_its_handle_is_collected(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A short liveness window (AMLRUN_LIVENESS_SECONDS) so that "after the window" is seconds, not minutes.
    monkeypatch.setenv("AMLRUN_LIVENESS_SECONDS", "1")
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(INTERACTIVE), str(ws.path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        run = Run.get(ws, proc.stdout.readline().strip())
        rf = RunFolder(ws.path, run.id)
        time.sleep(5)  # five liveness windows after the handle went
        assert run.get_status() == "Running"
        assert time.time() - rf.heartbeat_path.stat().st_mtime < 3  # still owned: beaten and shipped
        proc.kill()
        proc.wait(timeout=10)
        # Its process gone, the run ends at once (liveness follows the process).
        assert wait_for(lambda: run.get_status() == "Failed", timeout=30)
        assert run.get_metrics() == {"x": 1.0}
    finally:
        proc.kill()
        proc.wait(timeout=10)


SUBMITTER = """
import json, sys, time
from jupyter_amlrun import ComputeTarget, Experiment, ScriptRunConfig, Workspace
ws = Workspace(path=sys.argv[1])
exp = Experiment(ws, "fifo")
target = ComputeTarget(ws, "fifo-pool")
cfg = ScriptRunConfig(source_directory=sys.argv[2], script="train.py", compute_target=target)
print("ready", flush=True)
sys.stdin.readline()
out = []
for _ in range(int(sys.argv[3])):
    begun = time.time()
    run = exp.submit(cfg)
    out.append([run.id, begun, time.time()])
print(json.dumps(out), flush=True)
"""


def _submit_from_four_processes(ws: Workspace, src: Path, runs_each: int) -> dict[str, Any]:
    """Four processes submit ``runs_each`` runs each to "fifo-pool", all at once; waits for every run to end and
    returns the runs by id after checking that they took their slots in submit order."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(SUBMITTER), str(ws.path), str(src), str(runs_each)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    submits: list[tuple[str, float, float]] = []
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        for p in procs:  # all at once
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        for p in procs:
            out, _ = p.communicate(timeout=120)
            submits.extend((r, float(b), float(e)) for r, b, e in json.loads(out.strip().splitlines()[-1]))
    finally:
        for p in procs:
            p.kill()
    exp = Experiment(ws, "fifo")
    runs = {run_id: Run(exp, run_id) for run_id, _, _ in submits}
    assert wait_for(lambda: all(r.get_status() in TERMINAL for r in runs.values()), timeout=150, interval=0.5)

    def took_slot(run_id: str) -> float:
        history = _state(ws, runs[run_id])["history"]
        return min(t for status, t in history if status == "Preparing")

    out_of_order = [
        (a, b)
        for a, _, a_end in submits
        for b, b_begin, _ in submits
        if a_end < b_begin and took_slot(a) > took_slot(b)  # a was submitted before b began submitting
    ]
    assert out_of_order == [], f"{len(out_of_order)} pairs started out of submit order"
    assert all(r.get_status() == "Completed" for r in runs.values())
    return runs


def test_four_processes_submitting_to_one_slot_start_in_submit_order(ws: Workspace, make_source: Any) -> None:
    _pool(ws, "fifo-pool", 1)
    src = make_source({"train.py": "print('hi')\n"})
    assert len(_submit_from_four_processes(ws, src, 2)) == 8


@pytest.mark.slow
def test_sixteen_runs_of_20k_values_on_four_slots_lose_nothing(ws: Workspace, make_source: Any) -> None:
    """The stress case: 16 runs x 20,000 values on a 4-slot pool, submitted by 4 processes at once."""
    _pool(ws, "fifo-pool", 4)
    src = make_source(
        {
            "train.py": "from jupyter_amlrun import Run\nrun = Run.get_context()\n"
            "for i in range(20000):\n    run.log('v', i)\n"
        }
    )
    runs = _submit_from_four_processes(ws, src, 4)
    assert len(runs) == 16
    for run in runs.values():
        assert run.get_metrics()["v"] == list(range(20000)), run.id
        assert not run.get_details().get("warnings")
