"""RunReader: one backend resolution per reader, the launch handle kept and used, one journal-or-store rule, logs of
live and ended runs, and no other module of the read side opening a run's journal."""

from __future__ import annotations

import ast
import math
import shutil
from pathlib import Path
from typing import Any

import pytest

import jupyter_amlrun
from jupyter_amlrun import Experiment, Run, ScriptRunConfig
from jupyter_amlrun.core import computetarget, registry
from jupyter_amlrun.core.reader import MetricCursor, RunReader, whole_chars
from jupyter_amlrun.runtime.runfolder import RunFolder
from jupyter_amlrun.runtime.status import is_terminal
from jupyter_amlrun.view.watch import RunWatcher

SCRIPT = """\
from jupyter_amlrun import Run
run = Run.get_context()
for i in range(3):
    run.log("loss", 1.0 / (i + 1), step=i)
run.log("edge", float("inf"))
run.log_list("curve", [3, 2, 1])
print("héllo from the script", flush=True)
"""


def _submit(ws: Any, make_source: Any) -> Run:
    src = make_source({"train.py": SCRIPT})
    run = Experiment(ws, "reader").submit(ScriptRunConfig(str(src), "train.py"))
    run.wait_for_completion()
    return run


class _Counted:
    """Counts calls through a real function (the call still happens: nothing is faked)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        real_resolve = computetarget.resolve_backend
        real_load = registry.compute_backends.load

        def resolve(*a: Any, **kw: Any) -> Any:
            self.calls += 1
            return real_resolve(*a, **kw)

        def load(*a: Any, **kw: Any) -> Any:
            self.calls += 1
            return real_load(*a, **kw)

        monkeypatch.setattr(computetarget, "resolve_backend", resolve)
        monkeypatch.setattr(registry.compute_backends, "load", load)


@pytest.mark.integration
def test_one_backend_resolution_per_reader_across_ten_ticks(
    ws: Any, make_source: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = _submit(ws, make_source)
    # The submit path keeps launch()'s handle in the run state; the backend did not write it itself.
    handle = RunFolder(ws.path, run.id).read_state().handle
    assert handle is not None and handle["kind"] == "local" and handle["target"] == "local"
    counted = _Counted(monkeypatch)
    watcher = RunWatcher(run)
    for _ in range(10):
        watcher.tick()
    assert watcher.terminal
    # resolve_backend itself loads the kind from the registry: one resolution is one or two counted calls.
    assert 1 <= counted.calls <= 2
    assert watcher.reader.backend() is watcher.reader.backend()


@pytest.mark.unit
def test_reader_uses_the_launch_handle_over_the_target_tag(ws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    exp = Experiment(ws, "handle")
    run = exp.start_logging(snapshot_directory=None)
    try:
        rf = RunFolder(ws.path, run.id)
        assert RunReader(ws, run.id).handle() is None  # an interactive run: the TARGET tag decides
        rf.update_state(handle={"kind": "local", "target": "no-such-target", "data": {}})
        reader = RunReader(ws, run.id)
        backend = reader.backend()
        # The target is gone, the handle's kind still reads the run.
        assert backend.kind == "local" and backend.name == "no-such-target"
        assert reader.status() == "Running"
    finally:
        run.complete()


@pytest.mark.integration
def test_metrics_journal_while_the_folder_exists_then_the_store(ws: Any, make_source: Any) -> None:
    run = _submit(ws, make_source)
    reader = RunReader(ws, run.id)
    batch = reader.metrics()
    assert batch.cursor.source == "journal" and batch.cursor.offset > 0
    # Nothing new after the cursor.
    assert reader.metrics(batch.cursor).records == []
    from_journal = reader.scalar_series()
    shutil.rmtree(RunFolder(ws.path, run.id).root)
    reader = RunReader(ws, run.id)
    batch = reader.metrics()
    assert batch.cursor == MetricCursor("store", 0, True)
    assert reader.metrics(batch.cursor).records == []  # an ended run's store is read once
    from_store = reader.scalar_series()
    assert from_store == from_journal  # the same series, +-inf included, from either source
    assert math.isinf(from_store["edge"][0][1])
    assert Run.get(ws, run.id).get_metrics()["curve"] == [3, 2, 1]


@pytest.mark.integration
def test_logs_live_and_uploaded_read_the_same(ws: Any, make_source: Any) -> None:
    run = _submit(ws, make_source)
    reader = RunReader(ws, run.id)
    names = reader.log_names()
    assert "logs/user_logs/std_log.txt" in names
    live = reader.read_log("logs/user_logs/std_log.txt")
    assert live is not None and "héllo" in live.text
    shutil.rmtree(RunFolder(ws.path, run.id).root)
    ended = RunReader(ws, run.id)
    assert "logs/user_logs/std_log.txt" in ended.log_names()
    uploaded = ended.read_log("logs/user_logs/std_log.txt")
    assert uploaded is not None and uploaded.data == live.data
    # A cut inside "é" (2 bytes) waits for the next read.
    at = live.data.index("é".encode())
    part = ended.read_log("logs/user_logs/std_log.txt", 0, at + 1)
    assert part is not None and part.end == at and part.text == live.text[: len(part.text)]
    assert ended.read_log("logs/none.txt") is None
    ended.close()


@pytest.mark.unit
def test_whole_chars() -> None:
    assert whole_chars("aé".encode()[:-1]) == b"a"
    assert whole_chars("aé".encode()) == "aé".encode()
    assert whole_chars("a€".encode()[:-1]) == b"a"


@pytest.mark.unit
def test_details_to_v1_of_an_interactive_run(ws: Any) -> None:
    run = Experiment(ws, "details").start_logging(snapshot_directory=None)
    run.complete()
    details = RunReader(ws, run.id).details()
    assert is_terminal(details.status)
    v1 = details.to_v1()
    assert v1 == Run.get(ws, run.id).get_details()
    assert v1["runId"] == run.id and v1["endTimeUtc"]


# The read side may open a run's journal only in core/reader.py. The write side (the run folder, the driver, finalizing,
# the Run's journal writer) and tracking/ (the journal's own module) are excepted.
JOURNAL_NAMES = {"journal_path", "JournalReader", "read_all"}
ALLOWED = {
    "core/reader.py",
    "runtime/runfolder.py",  # defines journal_path
    "runtime/lifecycle.py",  # finalizing ships the journal
    "core/run.py",  # the journal writer of run.log
    "compute/driver.py",
    "train/hyperdrive/controller.py",  # the sweep's controller: a write-side process deciding on its children
}


@pytest.mark.unit
def test_only_the_reader_opens_a_journal_on_the_read_side() -> None:
    root = Path(jupyter_amlrun.__file__).parent
    offenders = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith("tracking/") or rel in ALLOWED:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
            if name in JOURNAL_NAMES:
                offenders.append(f"{rel}:{node.lineno} {name}")
    assert offenders == [], "read a run's metrics through core.reader.RunReader.metrics instead"
