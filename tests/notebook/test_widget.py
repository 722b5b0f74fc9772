"""RunDetails in a real IPython shell with real runs: deltas to views, snapshots, stop rules, static summary."""

from __future__ import annotations

from array import array
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlrun import Experiment, Run, ScriptRunConfig
from jupyter_amlrun.notebook import widget as widget_mod
from jupyter_amlrun.notebook.widget import RunDetails
from tests.conftest import wait_for

GATED = """\
import sys, time
from pathlib import Path
from jupyter_amlrun import Run
run = Run.get_context()
gate = Path(sys.argv[1])
for i in range(4):
    run.log("loss", 1.0 / (i + 1))
    print(f"line {i}", flush=True)
for _ in range(1200):
    if gate.exists():
        break
    time.sleep(0.05)
run.log("loss", 0.1)
run.log("note", "done")
print("finished", flush=True)
"""


def submit(ws: Any, make_source: Any, tmp_path: Path, name: str, open_gate: bool = False) -> tuple[Run, Path]:
    gate = tmp_path / f"gate-{name}"
    if open_gate:
        gate.touch()
    src = make_source({"train.py": GATED}, name=f"src-{name}")
    run = Experiment(ws, name).submit(ScriptRunConfig(str(src), "train.py", arguments=[str(gate)]))
    return run, gate


class Spy:
    """Records the custom messages a widget sends to its views (what the browser would receive)."""

    def __init__(self, w: RunDetails) -> None:
        self.messages: list[tuple[dict[str, Any], list[bytes]]] = []
        send = w.send

        def record(content: dict[str, Any], buffers: Any = None) -> None:
            self.messages.append((content, list(buffers or [])))
            send(content, buffers)

        w.send = record  # type: ignore[method-assign]

    def points(self, name: str) -> list[float]:
        """Values of ``name`` as a view holds them after applying every message (resets included)."""
        values: list[float] = []
        for content, buffers in self.messages:
            if content.get("type") != "delta":
                continue
            if content.get("reset"):
                values = []
            for meta in content["scalars"]:
                if meta["name"] == name:
                    arr = array("d")
                    arr.frombytes(buffers[meta["buffer"]])
                    values.extend(arr[meta["n"] :])
        return values

    def log_text(self, name: str) -> str:
        text = ""
        for content, _b in self.messages:
            for chunk in content.get("logs", []):
                if chunk["name"] == name:
                    text = chunk["text"] if chunk["reset"] else text + chunk["text"]
        return text


def from_view(w: RunDetails, content: dict[str, Any]) -> None:
    """Deliver a message from a view the way the comm does."""
    w._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})


def shown_widget(shell: Any, code: str, cell_id: str) -> RunDetails:
    before = set(widget_mod._live)
    result = shell.run_cell(code, cell_id=cell_id)
    result.raise_error()
    (w,) = set(widget_mod._live) - before
    return w


@pytest.mark.integration
def test_finished_run_shows_its_view_and_carries_the_summary(
    shell: Any, ws: Any, make_source: Any, tmp_path: Path
) -> None:
    run, _gate = submit(ws, make_source, tmp_path, "done", open_gate=True)
    run.wait_for_completion()
    shell.user_ns["run"] = run
    w = shown_widget(shell, "from jupyter_amlrun import RunDetails\nRunDetails(run).show()", "c-done")
    assert w.status == "Completed" and not w.follower.alive
    bundle = w._bundle()
    # An ended run shows its interactive view while the kernel lives; readers without it get the summary.
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == w.model_id
    assert bundle["application/vnd.amlrun.rundetails+json"]["run_id"] == run.id
    summary = bundle["text/html"]
    assert "static summary" in summary and "Completed" in summary and "data:image/png;base64," in summary
    assert "<td>loss</td><td>0.1</td><td>0.1</td><td>1</td><td>5</td>" in summary  # last, min, max, points
    assert "<td>note</td><td>done</td>" in summary
    assert "logs/user_logs/std_log.txt" in w.log_files
    assert w.logs["main"] == "logs/user_logs/std_log.txt"
    # The tail of the main log is in the summary (folded).
    assert '<details class="amlrun-summary-log"><summary>logs/user_logs/std_log.txt' in summary
    assert "finished" in summary
    assert w.header["status"] == {
        "status": "Completed",
        "label": "Completed",
        "css_class": "ok",
        "color": "#2e7d32",
        "terminal": True,
    }
    assert w.duration == next(f["text"] for f in w.header["fields"] if f["kind"] == "duration")
    assert f"<td>{w.duration}</td>" in summary  # the same duration text in the header and the summary
    data = w.get_widget_data()
    assert data["status"] == "Completed" and data["run_id"] == run.id
    assert data["run_metrics"][0]["name"] == "loss" and data["run_metrics"][0]["series"][0]["data"][-1] == 0.1
    assert "finished" in data["run_logs"]
    # A view attaching later gets everything in one reset snapshot.
    spy = Spy(w)
    from_view(w, {"type": "hello"})
    assert spy.messages[0][0]["reset"] is True
    assert spy.points("loss") == [1.0, 0.5, 1.0 / 3, 0.25, 0.1]
    assert "finished" in spy.log_text("logs/user_logs/std_log.txt")
    # The live chart label shows the last value with the summary's number rule.
    (part,) = [m for c, _b in spy.messages for m in c.get("scalars", []) if m["name"] == "loss"]
    assert part["label"] == "0.1 (5 pts)"
    assert spy.messages[0][0]["has_metrics"] is True


@pytest.mark.integration
def test_live_widget_sends_deltas_and_ends_with_the_run(shell: Any, ws: Any, make_source: Any, tmp_path: Path) -> None:
    run, gate = submit(ws, make_source, tmp_path, "live")
    shell.user_ns["run"] = run
    w = shown_widget(shell, "RunDetails(run).show()", "c-live")
    spy = Spy(w)
    from_view(w, {"type": "hello"})
    assert w.follower.alive
    live = w._bundle()
    assert live["application/vnd.jupyter.widget-view+json"]["model_id"] == w.model_id  # live: the widget
    # ... and the marker the JupyterLab extension reads when the widget's model is gone (reopened, kernel restart)
    assert live["application/vnd.amlrun.rundetails+json"] == {
        "run_id": run.id,
        "experiment": run.experiment.name,
        "notify": True,
        "live": True,
    }
    assert wait_for(lambda: len(spy.points("loss")) == 4, timeout=60)
    assert w.status == "Running"
    # The run idles at the gate (the polls slow down) but the kernel's clock keeps the duration text moving.
    shown = w.duration
    assert wait_for(lambda: w.duration != shown, timeout=15)
    # Live messages after the snapshot carry only new points.
    n_before = len(spy.messages)
    gate.touch()
    assert wait_for(lambda: not w.follower.alive, timeout=60)
    assert w.status == "Completed"
    later = [c for c, _b in spy.messages[n_before:] if c.get("type") == "delta"]
    assert later and not any(c["reset"] for c in later)
    assert sum(m["n"] for c in later for m in c["scalars"] if m["name"] == "loss") == 1
    assert spy.points("loss") == [1.0, 0.5, 1.0 / 3, 0.25, 0.1]
    assert ["note", "done"] in [row for c in later for t in c["tables"] if t["name"] == "values" for row in t["rows"]]
    assert "finished" in spy.log_text("logs/user_logs/std_log.txt")
    assert w._summary_html is not None and "static summary" in w._summary_html
    # Ended: the interactive view stays while the kernel lives; the HTML for readers without it is the summary.
    ended = w._bundle()
    assert ended["application/vnd.jupyter.widget-view+json"]["model_id"] == w.model_id
    assert ended["text/html"] == w._summary_html
    # A view that attaches after the end (the output re-rendered) still gets everything, and older log lines.
    spy_after = Spy(w)
    from_view(w, {"type": "hello"})
    assert spy_after.messages[0][0]["reset"] is True and spy_after.points("loss") == [1.0, 0.5, 1.0 / 3, 0.25, 0.1]
    # The next cell publishes the summary from the main thread too (front ends listening to that cell only).
    shell.run_cell("1 + 1", cell_id="c-next")
    assert w._published_final


@pytest.mark.integration
def test_rerunning_the_cell_stops_its_thread(shell: Any, ws: Any, make_source: Any, tmp_path: Path) -> None:
    run, gate = submit(ws, make_source, tmp_path, "rerun")
    shell.user_ns["run"] = run
    w = shown_widget(shell, "RunDetails(run).show()", "c-rerun")
    other = shown_widget(shell, "RunDetails(run).show()", "c-other")
    assert w.follower.alive and other.follower.alive  # several widgets at once
    shell.run_cell("x = 1", cell_id="c-rerun")
    assert wait_for(lambda: not w.follower.alive, timeout=10)
    assert other.follower.alive
    other.close()
    assert wait_for(lambda: not other.follower.alive, timeout=10)
    gate.touch()
    run.wait_for_completion()


@pytest.mark.integration
def test_last_view_leaving_stops_the_thread_and_a_new_view_restarts_it(
    shell: Any, ws: Any, make_source: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(widget_mod, "NO_VIEW_GRACE_SECONDS", 0.2)
    run, gate = submit(ws, make_source, tmp_path, "views")
    shell.user_ns["run"] = run
    w = shown_widget(shell, "RunDetails(run).show()", "c-views")
    from_view(w, {"type": "hello"})
    from_view(w, {"type": "hello"})
    from_view(w, {"type": "bye"})
    assert w.follower.alive  # one view is still there
    from_view(w, {"type": "bye"})
    assert wait_for(lambda: not w.follower.alive, timeout=10)
    from_view(w, {"type": "hello"})  # e.g. the notebook was reopened
    assert w.follower.alive
    gate.touch()
    assert wait_for(lambda: not w.follower.alive, timeout=60)
    assert w.status == "Completed"


@pytest.mark.integration
def test_cancel_and_load_earlier_messages(shell: Any, ws: Any, make_source: Any, tmp_path: Path) -> None:
    run, _gate = submit(ws, make_source, tmp_path, "cancelme")
    shell.user_ns["run"] = run
    w = shown_widget(shell, "RunDetails(run).show()", "c-cancel")
    spy = Spy(w)
    assert wait_for(
        lambda: (
            "line 3" in run.get_log_files().get("logs/user_logs/std_log.txt", Path("/")).read_text()
            if "logs/user_logs/std_log.txt" in run.get_log_files()
            else False
        ),
        timeout=60,
    )
    from_view(w, {"type": "cancel"})
    assert wait_for(lambda: w.status == "Canceled", timeout=60)
    assert wait_for(lambda: not w.follower.alive, timeout=30)
    assert run.get_status() == "Canceled"
    from_view(w, {"type": "log_more", "name": "logs/user_logs/std_log.txt", "before": 7})
    reply = spy.messages[-1][0]
    assert reply["type"] == "log_older" and reply["chunk"]["start"] == 0 and reply["chunk"]["end"] == 7
    assert reply["chunk"]["text"] == "line 0\n"


@pytest.mark.unit
def test_rejects_what_is_not_a_run() -> None:
    with pytest.raises(TypeError, match="RunDetails needs a Run"):
        RunDetails("abc")  # type: ignore[arg-type]


@pytest.mark.unit
def test_chart_parts_carry_the_view_models_title() -> None:
    """The comm's chart parts carry each chart's title (the System section's short names) as the view model says."""
    from jupyter_amlrun.notebook.widget import _batches
    from jupyter_amlrun.view.model import RunView
    from jupyter_amlrun.view.watch import RunDelta

    upd = RunView("r1").apply(RunDelta(reset=True, scalars={"system/memory_usage_megabytes": ([0.0], [300.0])}))
    (scalars, _lists, _bufs), *_ = _batches(upd.charts)
    assert [(p["name"], p["title"], p["axis"], p["section"]) for p in scalars] == [
        ("system/memory_usage_megabytes", "memory_usage_megabytes", "MB", "system")
    ]
