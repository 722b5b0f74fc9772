"""RunWatcher / Follower / Backoff with real runs: only deltas, complete data, back-off, stop at the end."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlrun import Experiment, Run, ScriptRunConfig
from jupyter_amlrun.view.watch import Backoff, Follower, LogChunk, RunDelta, RunWatcher
from tests.conftest import wait_for

# The script logs in two batches and waits between them for a gate file the test creates: no timing assumptions.
GATED = """\
import sys, time
from pathlib import Path
from jupyter_amlrun import Run
run = Run.get_context()
gate = Path(sys.argv[1])
for i in range(3):
    run.log("loss", 1.0 / (i + 1))
    print(f"first {i}", flush=True)
run.log("phase", "waiting")
for _ in range(1200):
    if gate.exists():
        break
    time.sleep(0.05)
for i in range(3, 5):
    run.log("loss", 1.0 / (i + 1))
    run.log("acc", i / 10)
    print(f"second {i}", flush=True)
run.log_list("curve", [3, 2, 1])
run.log_row("table", epoch=1, loss=0.5)
run.log_row("table", epoch=2, loss=0.25)
"""


def submit(ws: Any, make_source: Any, script: str, args: list[Any] | None = None, name: str = "w") -> Run:
    src = make_source({"train.py": script}, name=f"src-{name}")
    return Experiment(ws, name).submit(ScriptRunConfig(str(src), "train.py", arguments=args or []))


class Collected:
    """Everything a receiver would hold after applying deltas in order."""

    def __init__(self) -> None:
        self.points: dict[str, list[tuple[float, float]]] = {}
        self.records: list[dict[str, Any]] = []
        self.logs: dict[str, str] = {}
        self.statuses: list[str] = []
        self.children: list[dict[str, Any]] | None = None
        self.deltas = 0

    def apply(self, d: RunDelta) -> None:
        self.deltas += 1
        if d.status:
            self.statuses.append(d.status)
        for name, (steps, values) in d.scalars.items():
            self.points.setdefault(name, []).extend(zip(steps, values, strict=True))
        self.records.extend(d.records)
        for chunk in d.logs:
            if chunk.reset:
                self.logs[chunk.name] = ""
            self.logs[chunk.name] = self.logs.get(chunk.name, "") + chunk.text
        if d.children is not None:
            self.children = d.children


@pytest.mark.unit
def test_backoff() -> None:
    b = Backoff(1.0, 4.0, 2.0)
    assert [b.next(False) for _ in range(4)] == [2.0, 4.0, 4.0, 4.0]
    assert b.next(True) == 1.0
    b.next(False)
    b.reset()
    assert b.current == 1.0


@pytest.mark.unit
def test_follower_clock_runs_between_slow_ticks() -> None:
    class Idle:
        ticks = 0

        def tick(self) -> RunDelta:
            self.ticks += 1
            return RunDelta()

    watcher: Any = Idle()  # only tick() is used
    beats: list[float] = []
    follower = Follower(
        watcher, lambda d: None, Backoff(30.0, 30.0), clock=lambda: beats.append(1.0), clock_interval=0.02
    )
    follower.start()
    try:
        assert wait_for(lambda: len(beats) >= 5, timeout=10)
        assert watcher.ticks == 1  # the clock is not a tick
    finally:
        follower.stop()
    assert not follower.alive


@pytest.mark.unit
def test_follower_probe_cuts_an_idle_wait_short() -> None:
    """After idle ticks (the back-off grew) a probe that sees news makes the thread tick at once (issue 12)."""

    class Idle:
        ticks = 0

        def tick(self) -> RunDelta:
            self.ticks += 1
            return RunDelta()

    watcher: Any = Idle()
    news = threading.Event()
    probes: list[float] = []

    def probe() -> bool:
        probes.append(1.0)
        return news.is_set()

    follower = Follower(watcher, lambda d: None, Backoff(0.05, 30.0, 1000.0), probe=probe, probe_interval=0.01)
    follower.start()
    try:
        assert wait_for(lambda: len(probes) >= 3, timeout=10)  # the first idle tick: now in a 30 s wait
        assert watcher.ticks == 1
        news.set()
        assert wait_for(lambda: watcher.ticks >= 2, timeout=5)
    finally:
        follower.stop()


@pytest.mark.unit
def test_follower_probe_not_used_at_the_fastest_interval() -> None:
    """A run that keeps changing ticks every backoff.minimum seconds, as without a probe."""

    class Busy:
        ticks = 0

        def tick(self) -> RunDelta:
            self.ticks += 1
            return RunDelta(logs=[LogChunk("l", "x", 0, 1)])

    watcher: Any = Busy()
    probes: list[float] = []
    follower = Follower(watcher, lambda d: None, Backoff(0.05, 30.0), probe=lambda: bool(probes.append(1.0)))
    follower.start()
    try:
        assert wait_for(lambda: watcher.ticks >= 4, timeout=10)
    finally:
        follower.stop()
    assert probes == []


@pytest.mark.integration
def test_journal_grew_reports_new_records_once(ws: Any) -> None:
    run = Experiment(ws, "probe").start_logging(snapshot_directory=None)
    try:
        watcher = RunWatcher(run)
        watcher.tick()
        assert not watcher.journal_grew()
        run.log("x", 1.0)
        assert watcher.journal_grew()
        assert not watcher.journal_grew()  # the same size is reported once
        got = Collected()
        got.apply(watcher.tick())
        assert [v for _s, v in got.points["x"]] == [1.0]
        assert not watcher.journal_grew()
        run.log("x", 2.0)
        assert watcher.journal_grew()
    finally:
        run.complete()


@pytest.mark.unit
def test_empty_delta() -> None:
    assert RunDelta().is_empty()
    assert not RunDelta(terminal=True).is_empty()
    assert not RunDelta(scalars={"a": ([0.0], [1.0])}).is_empty()


@pytest.mark.integration
def test_ticks_return_only_new_data(ws: Any, make_source: Any, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    run = submit(ws, make_source, GATED, [str(gate)])
    watcher = RunWatcher(run)
    got = Collected()
    assert wait_for(lambda: (got.apply(watcher.tick()), len(got.points.get("loss", [])) >= 3)[1], timeout=60)
    assert wait_for(lambda: (got.apply(watcher.tick()), any(r.get("n") == "phase" for r in got.records))[1])
    assert got.statuses[-1] == "Running"
    # The script waits at the gate: a tick with nothing new returns an empty delta (cheap, nothing resent).
    assert wait_for(lambda: (d := watcher.tick(), got.apply(d), d.is_empty())[2], timeout=30)
    assert len(got.points["loss"]) == 3
    gate.touch()
    assert wait_for(lambda: (got.apply(d := watcher.tick()), d.terminal)[1], timeout=60)
    assert watcher.terminal and got.statuses[-1] == "Completed"
    # Every point arrived exactly once, in order, with its step.
    assert got.points["loss"] == [(float(i), 1.0 / (i + 1)) for i in range(5)]
    assert got.points["acc"] == [(0.0, 0.3), (1.0, 0.4)]
    kinds = [(r["k"], r["n"]) for r in got.records]
    assert kinds == [("scalar", "phase"), ("list", "curve"), ("row", "table"), ("row", "table")]
    # The logs, put together from the deltas, are the files.
    for name, path in run.get_log_files().items():
        assert got.logs.get(name, "") == path.read_text(), name
    assert "second 4" in got.logs["logs/user_logs/std_log.txt"]
    assert watcher.tick().is_empty() or watcher.tick().terminal  # nothing new after the end
    # A snapshot equals everything the deltas brought.
    snap = watcher.snapshot()
    assert snap.reset and snap.status == "Completed"
    assert {k: list(zip(*v, strict=True)) for k, v in snap.scalars.items()} == got.points
    assert snap.records == got.records
    assert {c.name: c.text for c in snap.logs} == got.logs
    assert snap.details is not None and snap.details["runDefinition"]["script"] == "train.py"


@pytest.mark.integration
def test_large_log_starts_at_its_tail_and_loads_earlier_parts(ws: Any, make_source: Any) -> None:
    script = "for i in range(4000):\n    print(f'line {i:05d} ' + 'x' * 40)\n"
    run = submit(ws, make_source, script, name="biglog")
    run.wait_for_completion()
    watcher = RunWatcher(run, log_tail_bytes=8 * 1024, log_max_bytes_per_tick=4 * 1024)
    name = "logs/user_logs/std_log.txt"
    path = run.get_log_files()[name]
    data = path.read_text()
    first = watcher.tick()
    chunk = next(c for c in first.logs if c.name == name)
    assert 0 < chunk.head == chunk.start and len(chunk.text) == 4 * 1024
    assert chunk.text.startswith("line ")  # a tail starts at a line start
    while True:  # the rest of the tail comes in bounded pieces
        more = [c for c in watcher.tick().logs if c.name == name]
        if not more:
            break
        assert more[0].start == chunk.end
        chunk = more[0]
    assert chunk.end == path.stat().st_size
    # "Load earlier output": pieces before the head, back to the start of the file.
    head = first.logs[0].head if first.logs[0].name == name else chunk.head
    text = data[head:]
    while head > 0:
        older = watcher.read_log_before(name, head, 16 * 1024)
        assert older is not None and older.end == head
        text = older.text + text
        head = older.start
    assert text == data


@pytest.mark.integration
def test_finished_run_without_its_folder_reads_mlflow(ws: Any, make_source: Any, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    gate.touch()
    run = submit(ws, make_source, GATED, [str(gate)], name="nofolder")
    run.wait_for_completion()
    shutil.rmtree(run._folder.root)
    reopened = Run.get(ws, run.id)
    watcher = RunWatcher(reopened)
    got = Collected()
    got.apply(watcher.tick())
    assert watcher.terminal and got.statuses == ["Completed"]
    assert [v for _s, v in got.points["loss"]] == [1.0 / (i + 1) for i in range(5)]
    assert {r["n"] for r in got.records} >= {"curve", "table", "phase"}
    assert "second 4" in got.logs["logs/user_logs/std_log.txt"]
    snap = watcher.snapshot()
    assert [v for v in snap.scalars["loss"][1]] == [v for _s, v in got.points["loss"]]


@pytest.mark.integration
def test_infinite_values_read_back_as_infinite_from_mlflow(ws: Any) -> None:
    """MLflow keeps +-inf as +-max float; a finished run read from the store shows what was logged."""
    run = Experiment(ws, "inf").start_logging(snapshot_directory=None)
    for value in (1.0, float("inf"), float("-inf")):
        run.log("x", value)
    run.complete()
    shutil.rmtree(run._folder.root)  # no journal left: the watcher must read MLflow
    watcher = RunWatcher(Run.get(ws, run.id))
    got = Collected()
    got.apply(watcher.tick())
    assert [v for _s, v in got.points["x"]] == [1.0, float("inf"), float("-inf")]


@pytest.mark.integration
def test_children_and_images(ws: Any, make_source: Any, tmp_path: Path) -> None:
    png = tmp_path / "dot.png"
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1, 1))
    fig.add_subplot().plot([0, 1], [0, 1])
    fig.savefig(png)
    script = f"""\
from jupyter_amlrun import Run
run = Run.get_context()
for i in range(2):
    child = run.child_run(name=f"fold-{{i}}")
    child.log("score", 0.5 + i)
    child.complete()
run.log_image("dot", path={str(png)!r})
"""
    run = submit(ws, make_source, script, name="kids")
    run.wait_for_completion()
    watcher = RunWatcher(run)
    got = Collected()
    got.apply(watcher.tick())
    assert got.children is not None and [c["name"] for c in got.children] == ["fold-0", "fold-1"]
    assert [c["status"] for c in got.children] == ["Completed", "Completed"]
    assert [c["metrics"] for c in got.children] == [{"score": 0.5}, {"score": 1.5}]
    image = next(r for r in got.records if r["k"] == "image")
    data = watcher.load_image(image["v"])
    assert data is not None and data[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.integration
def test_follower_backs_off_while_idle_and_stops_at_the_end(ws: Any, make_source: Any, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    run = submit(ws, make_source, GATED, [str(gate)], name="follow")
    got = Collected()
    lock = threading.Lock()
    ended = threading.Event()

    def on_delta(d: RunDelta) -> None:
        with lock:
            got.apply(d)

    follower = Follower(RunWatcher(run), on_delta, Backoff(0.05, 0.4, 2.0), on_end=ended.set)
    follower.start()
    assert wait_for(lambda: any(r.get("n") == "phase" for r in got.records), timeout=60)
    # Idle at the gate: the interval grows to the maximum.
    assert wait_for(lambda: follower.backoff.current == 0.4, timeout=30)
    gate.touch()
    assert wait_for(lambda: not follower.alive, timeout=60)
    assert ended.is_set() and follower.watcher.terminal
    assert got.statuses[-1] == "Completed" and len(got.points["loss"]) == 5
    assert not follower.errors


@pytest.mark.integration
def test_follower_stop_ends_the_thread_of_a_live_run(ws: Any, make_source: Any, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    run = submit(ws, make_source, GATED, [str(gate)], name="stopme")
    follower = Follower(RunWatcher(run), lambda d: None, Backoff(0.05, 0.2))
    follower.start()
    assert wait_for(lambda: follower.watcher.status == "Running", timeout=60)
    follower.stop()
    assert not follower.alive and not follower.watcher.terminal
    gate.touch()
    run.wait_for_completion()
