"""The RunDetails view model: one formatting rule, the main log, status badges, charts, tables, the header."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from typing import Any

import pytest

from jupyter_amlrun.view import model as rv
from jupyter_amlrun.view.model import RunView
from jupyter_amlrun.view.watch import LogChunk, RunDelta

pytestmark = pytest.mark.unit

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z
DETAILS = {
    "runId": "r1",
    "experiment": "exp",
    "target": "local",
    "startTimeUtc": "2023-11-14T22:13:20.000Z",
    "runDefinition": {"script": "train.py", "arguments": ["--lr", 0.1]},
    "portalUrl": "http://x/#amlrun-run=r1",
}


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (3, "3"),
        (2.0, "2"),
        (-0.0, "0"),
        (0.1, "0.1"),
        (1 / 3, "0.333333"),
        (123456.789, "123457"),
        (1e-7, "1e-07"),
        (2.5e20, "2.5e+20"),
        (1e15, "1e+15"),
        (float("nan"), "nan"),
        (float("-inf"), "-inf"),
        (True, "True"),
        (None, ""),
        ("done", "done"),
        ([1, 2], "[1,2]"),
        ({"a": 1}, '{"a":1}'),
    ],
)
def test_format_value_is_one_rule(value: Any, text: str) -> None:
    assert rv.format_value(value) == text


def test_format_value_takes_numpy_like_numbers() -> None:
    np = pytest.importorskip("numpy")
    assert rv.format_value(np.float32(0.25)) == "0.25"
    assert rv.format_value(np.int64(7)) == "7"


def test_durations_and_times() -> None:
    assert [rv.format_duration(s) for s in (0, 59.9, 61, 3723, -5, None, math.nan)] == [
        "0s",
        "59s",
        "1m 1s",
        "1h 2m 3s",
        "0s",
        "",
        "",
    ]
    assert rv.parse_iso("2023-11-14T22:13:20Z") == T0
    assert rv.parse_iso("2023-11-14T22:13:20") == T0  # v1 times without an offset are UTC
    assert rv.parse_iso("not a time") is None and rv.parse_iso(None) is None
    running = {**DETAILS, "status": "Running"}
    assert rv.duration_text(running, now=T0 + 75) == "1m 15s"
    done = {**running, "status": "Completed", "endTimeUtc": "2023-11-14T22:14:30Z"}
    assert rv.duration_text(done, now=T0 + 9999) == "1m 10s"
    assert rv.duration_text({**running, "status": "Failed"}, now=T0 + 5) == ""  # ended, end time unknown
    assert rv.duration_text({"status": "Queued"}) == ""
    assert rv.format_time(T0).startswith("2023-11-1")
    assert rv.command_line(DETAILS["runDefinition"]) == "train.py --lr 0.1"
    assert rv.command_line({}) == ""


@pytest.mark.parametrize(
    ("names", "main"),
    [
        (["logs/azureml/driver_log.txt", "logs/user_logs/std_log.txt"], "logs/user_logs/std_log.txt"),
        (
            [f"logs/user_logs/std_log_process_{r}.txt" for r in (10, 2, 1, 0)] + ["logs/azureml/driver_log.txt"],
            "logs/user_logs/std_log_process_0.txt",
        ),
        (
            [f"logs/user_logs/std_log_process_{r}.txt" for r in (10, 2)],  # rank 0 missing: lowest rank, not "10"
            "logs/user_logs/std_log_process_2.txt",
        ),
        (["logs/user_logs/std_log_process_0.txt", "logs/user_logs/std_log.txt"], "logs/user_logs/std_log.txt"),
        (["logs/azureml/driver_log.txt", "logs/azureml/setup.txt"], "logs/azureml/driver_log.txt"),
        (["logs/b.txt", "logs/a.txt"], "logs/a.txt"),
        ([], None),
    ],
)
def test_main_log(names: list[str], main: str | None) -> None:
    assert rv.main_log(names) == main


def test_logs_view_labels() -> None:
    view = rv.logs_view(["logs/user_logs/std_log.txt", "logs/azureml/driver_log.txt"])
    assert view == {
        "files": [
            {"name": "logs/azureml/driver_log.txt", "label": "azureml/driver_log.txt"},
            {"name": "logs/user_logs/std_log.txt", "label": "user_logs/std_log.txt"},
        ],
        "main": "logs/user_logs/std_log.txt",
    }
    assert rv.logs_view([])["main"] == ""


def test_status_badges() -> None:
    classes = {s: rv.status_view(s)["css_class"] for s in rv.RunStatus.list()}
    assert classes == {
        "NotStarted": "wait",
        "Queued": "wait",
        "Preparing": "wait",
        "Starting": "wait",
        "Running": "busy",
        "CancelRequested": "warn",
        "Finalizing": "busy",
        "Completed": "ok",
        "Failed": "bad",
        "Canceled": "off",
    }
    assert [s for s in rv.RunStatus.list() if rv.status_view(s)["terminal"]] == ["Completed", "Failed", "Canceled"]
    unknown = rv.status_view(None)
    assert unknown["label"] == "…" and unknown["status"] == "" and unknown["color"] == rv.CLASS_COLORS["wait"]
    assert rv.status_view("Failed")["color"] == "#c62828"


def test_header_view() -> None:
    header = rv.header_view("r1", "Running", DETAILS, now=T0 + 3)
    fields = {f["label"]: (f["text"], f["kind"]) for f in header["fields"]}
    assert fields["Status"] == ("Running", "status")
    assert fields["Duration"] == ("3s", "duration")
    assert fields["Script"] == ("train.py --lr 0.1", "text")
    assert fields["Experiment"] == ("exp", "text") and fields["Compute"] == ("local", "text")
    assert header["portal_url"].endswith("amlrun-run=r1") and header["error"] == ""
    assert header["cancel"] == {"enabled": True, "label": "Cancel", "pending_label": "Canceling…"}
    canceling = rv.header_view("r1", "CancelRequested", DETAILS)
    assert canceling["cancel"]["enabled"] is False and canceling["cancel"]["label"] == "Canceling…"
    failed = rv.header_view("r1", "Failed", {**DETAILS, "error": {"error": {"message": "boom"}}})
    assert failed["error"] == "boom" and failed["cancel"]["enabled"] is False
    empty = rv.header_view("r2", None, None)
    assert {f["label"]: f["text"] for f in empty["fields"]}["Started"] == rv.MISSING
    assert {f["label"]: f["text"] for f in empty["fields"]}["Run"] == "r2"
    json.dumps(header)  # plain JSON for the traitlet


def test_children_table() -> None:
    ms = T0 * 1000
    kids = [
        {"runId": "c1", "name": "fold-0", "status": "Completed", "startTime": ms, "endTime": ms + 61_000,
         "metrics": {"score": 0.5}},
        {"runId": "c2", "name": None, "status": "Running", "startTime": ms, "endTime": None,
         "metrics": {"score": 1 / 3, "loss": "nan"}},
    ]  # fmt: skip
    table = rv.children_table(kids, now=T0 + 5)
    assert table["title"] == "Child runs (2)" and table["columns"] == ["Run", "Status", "Duration", "score", "loss"]
    first, second = table["rows"]
    assert first[0] == "fold-0" and first[2] == "1m 1s" and first[3:] == ["0.5", ""]
    assert isinstance(first[1], dict) and first[1]["css_class"] == "ok"
    assert second[0] == "c2" and second[2] == "5s" and second[3:] == ["0.333333", "nan"]
    assert rv.children_table(None)["rows"] == []


def test_chart_xs() -> None:
    assert rv.chart_xs([0, 1, 1, 5]) == [0.0, 1.0, 1.0, 5.0]
    assert rv.chart_xs([0, 1, 0, 1]) == [0.0, 1.0, 2.0, 3.0]  # several writers: arrival order


def _delta(**kw: Any) -> RunDelta:
    return RunDelta(**kw)


def test_run_view_charts_count_and_label_points() -> None:
    view = RunView("r1")
    first = view.apply(_delta(scalars={"loss": ([0.0, 1.0], [1.0, 0.5])}))
    (chart,) = first.charts
    assert (chart.name, chart.kind, chart.xs, chart.ys) == ("loss", "scalar", [0.0, 1.0], [1.0, 0.5])
    assert chart.label == "0.5 (2 pts)" and not chart.reindex and first.has_metrics
    second = view.apply(_delta(scalars={"loss": ([2.0], [1 / 3])}))
    assert second.charts[0].label == "0.333333 (3 pts)" and second.charts[0].xs == [2.0]
    # Steps go backwards (a second writer): redraw by arrival index from now on, like the summary chart.
    third = view.apply(_delta(scalars={"loss": ([0.0, 1.0], [0.25, 0.2])}))
    assert third.charts[0].reindex and third.charts[0].xs == [3.0, 4.0]
    fourth = view.apply(_delta(scalars={"loss": ([9.0], [0.1])}))
    assert not fourth.charts[0].reindex and fourth.charts[0].xs == [5.0]
    assert rv.chart_xs([0, 1, 2, 0, 1, 9]) == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    metrics = view.metrics_table()
    assert metrics["columns"] == ["Metric", "Last", "Min", "Max", "Points"]
    assert metrics["rows"] == [["loss", "0.1", "0.1", "1", "6"]]
    # A snapshot starts over.
    snap = view.apply(_delta(reset=True, scalars={"loss": ([0.0], [7.0])}))
    assert snap.reset and snap.charts[0].label == "7"  # one point: a value, not "(1 pts)"
    assert snap.header is not None and snap.logs == {"files": [], "main": ""} and snap.children is not None


def test_run_view_records_become_tables_lists_values_and_images() -> None:
    loaded: list[str] = []

    def load(path: str) -> bytes | None:
        loaded.append(path)
        return b"\x89PNG" if path == "images/a.png" else None

    view = RunView("r1", load_image=load, max_table_rows=2)
    assert not view.apply(_delta()).has_metrics
    records = [
        {"k": "list", "n": "curve", "v": [3, 2, "x"]},
        {"k": "list", "n": "curve", "v": [3, 2, 1]},  # the last list of a name wins
        {"k": "row", "n": "epochs", "v": {"epoch": 1, "loss": 0.5}},
        {"k": "row", "n": "epochs", "v": {"epoch": 2, "acc": 1 / 3}},
        {"k": "table", "n": "tab", "v": {"a": [1, 2], "b": "same", "c": [0.5]}},
        {"k": "scalar", "n": "note", "v": "done"},
        {"k": "scalar", "n": "flag", "v": True},
        {"k": "image", "n": "plot", "v": "images/a.png"},
        {"k": "image", "n": "gone", "v": "images/b.png"},
    ]
    upd = view.apply(_delta(records=records))
    (curve,) = upd.charts
    assert (curve.kind, curve.xs, curve.ys, curve.replace, curve.label) == (
        "list",
        [0.0, 1.0, 2.0],
        [3.0, 2.0, 1.0],
        True,
        "1 (3 pts)",
    )
    tables = {t["name"]: t for t in upd.tables}
    assert tables["values"]["rows"] == [["note", "done"], ["flag", "True"]]
    assert tables["epochs"]["columns"] == ["epoch", "loss", "acc"]
    assert tables["epochs"]["rows"] == [["1", "0.5", ""], ["2", "", "0.333333"]]
    assert tables["tab"]["columns"] == ["a", "b", "c"]
    assert tables["tab"]["rows"] == [["1", "same", "0.5"], ["2", "same", ""]]
    assert upd.images == [{"name": "plot", "src": "data:image/png;base64,iVBORw=="}, {"name": "gone", "src": ""}]
    assert loaded == ["images/a.png", "images/b.png"] and upd.has_metrics
    # A third row: the newest max_table_rows rows, with a note; only the touched table is sent again.
    more = view.apply(_delta(records=[{"k": "row", "n": "epochs", "v": {"epoch": 3}}]))
    (epochs,) = more.tables
    assert epochs["rows"] == [["2", "", "0.333333"], ["3", "", ""]] and epochs["note"] == "(last 2 of 3 rows)"
    assert [t["name"] for t in view.tables()] == ["values", "epochs", "tab"]
    assert [r[0] for r in view.metrics_table()["rows"]] == ["curve"]
    assert view.list_values() == {"curve": [3.0, 2.0, 1.0]}


def test_run_view_header_logs_children_and_duration() -> None:
    view = RunView("r1")
    upd = view.apply(
        _delta(
            status="Running",
            details=DETAILS,
            log_files=["logs/azureml/driver_log.txt"],
            logs=[LogChunk("logs/azureml/driver_log.txt", "hi\n", 0, 3)],
            children=[],
        ),
        now=T0 + 2,
    )
    assert upd.status == "Running" and upd.header is not None and upd.header["status"]["css_class"] == "busy"
    assert upd.duration == "2s" and view.duration(now=T0 + 65) == "1m 5s"
    assert upd.logs is not None and upd.logs["main"] == "logs/azureml/driver_log.txt"
    assert [c.text for c in upd.log_chunks] == ["hi\n"] and upd.children is not None
    # Nothing changed: no header, logs or children in the update.
    quiet = view.apply(_delta())
    assert quiet.header is None and quiet.logs is None and quiet.children is None and quiet.duration is None
    done = view.apply(_delta(status="Completed", details={**DETAILS, "endTimeUtc": "2023-11-14T22:13:30Z"}))
    assert done.header is not None and done.header["cancel"]["enabled"] is False and view.terminal
    assert view.duration(now=T0 + 999) == "10s"
    assert RunView("r2").duration() == rv.MISSING


@pytest.mark.parametrize(
    "size,text",
    [(None, ""), (0, "0 B"), (1023, "1023 B"), (1024, "1.0 KB"), (2048, "2.0 KB"), (5 * 1024**3, "5.0 GB")],
)
def test_format_size(size: int | None, text: str) -> None:
    assert rv.format_size(size) == text


def test_series_colors_cycle_and_value_axes_are_labelled_by_the_number_rule() -> None:
    assert rv.series_color(0) == rv.series_color(10) != rv.series_color(1)
    assert rv.value_axis([0.25, 1 / 3, float("nan")]) == {
        "lo": 0.25,
        "hi": 1 / 3,
        "ticks": [[0.25, "0.25"], [1 / 3, "0.333333"]],
    }
    assert rv.value_axis([2.0]) == {"lo": 1.5, "hi": 2.5, "ticks": [[1.5, "1.5"], [2.5, "2.5"]]}
    assert rv.value_axis([])["ticks"] == [[0.0, "0"], [1.0, "1"]]


def test_core_view_model_imports_without_jupyter() -> None:
    code = (
        "import sys, jupyter_amlrun.view.model, jupyter_amlrun.view.watch;"
        "bad = [m for m in ('IPython', 'ipywidgets', 'anywidget', 'traitlets') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_notebook_origin() -> None:
    """A %%submit run's notebook_* properties link the header back, relative to the Jupyter root when under it."""
    props = {"notebook_path": "/srv/lab/work/train.ipynb", "notebook_cell_index": "3"}
    assert rv.notebook_origin(props, "/srv/lab") == {
        "path": "work/train.ipynb",
        "cell": 3,
        "text": "From work/train.ipynb (cell 3)",
    }
    # root unknown or elsewhere: the full path as text, nothing to open; a cell not found in the saved notebook
    assert rv.notebook_origin(props, None) == {"path": "", "cell": 3, "text": "From /srv/lab/work/train.ipynb (cell 3)"}
    assert rv.notebook_origin(props, "/srv/labx")["path"] == ""  # a sibling folder with a common prefix is not under
    bare = rv.notebook_origin({"notebook_path": "/srv/lab/a b.ipynb"}, "/srv/lab")
    assert bare == {"path": "a b.ipynb", "cell": None, "text": "From a b.ipynb"}
    # no notebook (a ScriptRunConfig run, or %%submit outside a Jupyter session): no origin
    assert rv.notebook_origin({"notebook_cell_source": "%%submit"}, "/srv/lab") is None
    header = rv.header_view("r1", "Completed", {**DETAILS, "properties": props}, root_dir="/srv/lab")
    assert header["origin"] is not None and header["origin"]["path"] == "work/train.ipynb"
    assert rv.header_view("r1", "Completed", DETAILS)["origin"] is None


def test_system_charts_are_titled_by_their_short_name() -> None:
    """The System section says "system": its charts' titles show the rest of the name and their value axes the unit
    (a full ``system/...`` name is cut on the axis); the script's metrics keep their name, ``system`` or not."""
    view = RunView("r1")
    upd = view.apply(
        _delta(
            reset=True,
            scalars={
                "system/cpu_utilization_percentage": ([0.0, 1.0], [10.0, 20.0]),
                "loss": ([0.0, 1.0], [1.0, 0.5]),
                "systemic": ([0.0], [1.0]),
            },
        )
    )
    titles = {c.name: (c.section, c.title, c.axis) for c in upd.charts}
    assert titles == {
        "system/cpu_utilization_percentage": ("system", "cpu_utilization_percentage", "%"),
        "loss": ("metrics", "loss", "loss"),
        "systemic": ("metrics", "systemic", "systemic"),
    }
    # the value axis: a system metric's unit, its short name when it has no known unit
    assert rv.chart_axis("system/process_memory_rss_megabytes") == "MB"
    assert rv.chart_axis("system/gpu_0_power_usage_watts") == "W"
    assert rv.chart_axis("system/open_files") == "open_files"
