"""A full disk: ``run.log`` never raises into the training loop, values wait in memory and land when space frees,
and what the disk did is named in the run's warnings.

The disk is a real tmpfs of a few MiB (mounting it needs root, which CI has; elsewhere these tests skip).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from jupyter_amlrun import Experiment, Run, ScriptRunConfig, Workspace
from jupyter_amlrun.tracking.journal import SCALAR, JournalWriter, read_all, storage_warning


@contextlib.contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs to fill needs root")
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path) -> Path:
    """Write a filler file until the disk refuses another byte."""
    filler = disk / "filler.bin"
    with open(filler, "wb", buffering=0) as fh:
        chunk = b"\0" * 65536
        while True:
            try:
                fh.write(chunk)
            except OSError:
                break
        with contextlib.suppress(OSError):
            while fh.write(b"\0"):
                pass
    assert shutil.disk_usage(disk).free < 65536
    return filler


@pytest.mark.integration
def test_writer_holds_values_while_the_disk_is_full_and_writes_them_after(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", "1m") as disk:
        journal = disk / "run" / "journal.jsonl"
        writer = JournalWriter(journal)
        writer.append(SCALAR, "loss", 0.0)
        filler = fill(disk)
        for i in range(1, 201):
            writer.append(SCALAR, "loss", float(i))  # must not raise
        assert writer.storage_error and "ENOSPC" in writer.storage_error
        filler.unlink()
        writer.append(SCALAR, "loss", 201.0)  # space again: what waited goes first, in order
        values = [r["v"] for r in read_all(journal) if r["n"] == "loss"]
        assert values == [float(i) for i in range(202)]
        assert [r["s"] for r in read_all(journal)] == list(range(202))
        warning = storage_warning(journal.parent)
        # Some records still fit the journal's last page; the rest waited.
        assert 0 < writer.late <= 200 and writer.dropped == 0
        assert warning is not None and "none was lost" in warning and f"{writer.late} logged value(s)" in warning
        writer.close()


@pytest.mark.integration
def test_values_the_disk_never_takes_are_counted_lost(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", "1m") as disk:
        journal = disk / "run" / "journal.jsonl"
        writer = JournalWriter(journal)
        writer.append(SCALAR, "acc", 0.5)
        filler = fill(disk)
        for _ in range(500):
            writer.append(SCALAR, "acc", 0.9)
        writer.close()  # still full: what waited is gone, and must be counted, never silently
        filler.unlink()
        kept = [r["v"] for r in read_all(journal)]
        assert kept[0] == 0.5 and writer.dropped > 0
        assert writer.dropped + len(kept) - 1 == 500  # every value is either in the journal or counted lost


# The script's lines that fill the run's disk to the last byte (the same loop as :func:`fill`).
FILL_IN_SCRIPT = """
with open(FILLER, 'wb', buffering=0) as fh:
    with contextlib.suppress(OSError):
        while True:
            fh.write(b'\\0' * 65536)
    with contextlib.suppress(OSError):
        while fh.write(b'\\0'):
            pass
"""


@pytest.fixture
def full_disk_run(
    amlrun_home: Path, tmp_path: Path, mlflow_template_db: Path
) -> Iterator[Callable[[str, str, str], tuple[Run, Path]]]:
    """Submit ``before`` + (fill the disk) + ``after`` as a run of a workspace on a 48 MiB tmpfs: (run, disk)."""
    with tmpfs(tmp_path / "disk", "48m") as disk:
        (disk / "ws").mkdir()
        shutil.copyfile(mlflow_template_db, disk / "ws" / "mlflow.db")
        ws = Workspace.create("full", path=disk / "ws")
        src = tmp_path / "src"
        src.mkdir()

        def submit(experiment: str, before: str, after: str) -> tuple[Run, Path]:
            head = (
                "import contextlib, os\nfrom jupyter_amlrun import Run\nrun = Run.get_context()\n"
                f"FILLER = {str(disk / 'filler.bin')!r}\n"
            )
            (src / "train.py").write_text(head + before + FILL_IN_SCRIPT + after)
            config = ScriptRunConfig(source_directory=str(src), script="train.py")
            return Experiment(ws, experiment).submit(config), disk

        yield submit


@pytest.mark.integration
def test_a_run_whose_disk_fills_keeps_every_value_and_says_so(full_disk_run: Callable[..., tuple[Run, Path]]) -> None:
    run, disk = full_disk_run(
        "full-disk",
        "for i in range(20):\n    run.log('loss', float(i))\n",
        "for i in range(20, 120):\n"
        "    run.log('loss', float(i))  # the disk is full: never raises\n"
        "os.unlink(FILLER)\n"
        "for i in range(120, 140):\n"
        "    run.log('loss', float(i))\n",
    )
    details = run.wait_for_completion(raise_on_error=False)
    assert details["status"] == "Completed", run.get_details_with_logs()
    assert run.get_metrics()["loss"] == [float(i) for i in range(140)]
    warnings = str(run.get_details().get("warnings", []))
    assert "could not be written" in warnings and "none was lost" in warnings
    assert not (disk / "filler.bin").exists()


@pytest.mark.integration
def test_a_disk_still_full_when_the_script_ends_is_named_and_status_reads_never_raise(
    full_disk_run: Callable[..., tuple[Run, Path]],
) -> None:
    import json
    import time

    import psutil

    run, disk = full_disk_run(
        "still-full",
        "for i in range(20):\n    run.log('loss', float(i))\n",
        "for i in range(20, 2000):\n    run.log('loss', float(i))  # the disk is full, and stays full past the end\n",
    )
    state = disk / "ws" / "runs" / run.id / "state.json"
    deadline = time.monotonic() + 120
    pids: list[int] = []
    while time.monotonic() < deadline and not pids:
        with contextlib.suppress(OSError, ValueError):
            pids = json.loads(state.read_text()).get("script_pids") or []
        time.sleep(0.2)
    assert pids, "the script never started"
    while time.monotonic() < deadline and any(psutil.pid_exists(p) for p in pids):
        run.get_status()  # never raises while the disk is full
        time.sleep(0.2)
    for _ in range(20):  # the run's driver now finalises against a full disk
        run.get_status()
        time.sleep(0.25)
    (disk / "filler.bin").unlink()  # the user frees space
    details = run.wait_for_completion(raise_on_error=False)
    text = json.dumps(details)
    assert details["status"] in ("Completed", "Failed"), text
    # The cause is named (never "supervising process ended"), so the run does not read as a clean Completed.
    assert "filled up during the run" in text and "No space left on device" in text, text
    assert "supervising process ended" not in text, text
