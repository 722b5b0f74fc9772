"""Issue 25: a workspace is its owner's only. A real run (driver, guard, watchdog, MLflow store) leaves no folder of
the workspace's own open to other users (0700) and no run record, journal or log readable by them (0600)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlrun import Experiment, ScriptRunConfig, Workspace
from jupyter_amlrun.runtime.runfolder import RunFolder

pytestmark = pytest.mark.integration

SCRIPT = """
import os
from jupyter_amlrun import Run
run = Run.get_context()
run.log("loss", 0.5)
os.makedirs("outputs", exist_ok=True)
with open("outputs/model.txt", "w") as fh:
    fh.write("weights")
with open("/proc/self/status") as fh:  # the script keeps the user's umask (its files are the user's business)
    print(next(line for line in fh if line.startswith("Umask")))
"""


def _open_to_others(root: Path, *, files: bool = True) -> list[str]:
    """Paths under ``root`` (and ``root``) with any group or other permission bit."""
    found = []
    for path in [root, *root.rglob("*")]:
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode) or (stat.S_ISREG(mode) and not files):
            continue
        if mode & 0o077:
            found.append(f"{oct(mode & 0o777)} {path.relative_to(root.parent)}")
    return found


def test_a_real_run_leaves_owner_only_folders_and_files(ws: Workspace, make_source: Any) -> None:
    old = os.umask(0o022)  # what a notebook server usually has: files 0644, folders 0755 unless made otherwise
    try:
        run = Experiment(ws, "modes").submit(
            ScriptRunConfig(source_directory=make_source({"train.py": SCRIPT}), script="train.py")
        )
        assert run.wait_for_completion(raise_on_error=False)["status"] == "Completed"
    finally:
        os.umask(old)
    rf = RunFolder(ws.path, run.id)
    assert stat.S_IMODE(ws.path.stat().st_mode) == 0o700
    db = ws.get_mlflow_tracking_uri()[len("sqlite:///") :]
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600
    # The run folder: state, spec, journal, heartbeat, locks, logs (driver, script), every folder.
    assert rf.journal_path.exists() or (rf.root / "journal.offset").exists()
    assert rf.driver_log.exists() and rf.user_log.exists()
    assert _open_to_others(rf.root) == []
    # The watchdog's log.
    assert (ws.path / "logs" / "watchdog.log").exists()
    assert _open_to_others(ws.path / "logs") == []
    # Uploaded artifacts: every folder is closed; a file keeps the mode the script gave it (MLflow copies it).
    assert _open_to_others(ws.path / "artifacts", files=False) == []
    assert "Umask:\t0022" in rf.user_log.read_text()
