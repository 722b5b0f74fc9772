"""HyperDrive's view section (train/hyperdrive/section.py): a sweep's children best first, the parallel axes, and the
section found from a run's properties through the view's section registry."""

from __future__ import annotations

import json

import pytest

from jupyter_amlrun.train.hyperdrive.section import SweepSection, sweep_view
from jupyter_amlrun.view.model import MISSING, RunView, format_value, series_color, value_axis
from jupyter_amlrun.view.sections import section_for
from jupyter_amlrun.view.watch import RunDelta

pytestmark = pytest.mark.unit

DETAILS = {"runId": "p", "experiment": "exp", "target": "local", "startTimeUtc": "2023-11-14T22:13:20.000Z"}


def test_the_sweep_section_is_found_by_run_type() -> None:
    props = {
        "azureml.runsource": "hyperdrive",
        "primary_metric_config": json.dumps({"name": "acc", "goal": "MINIMIZE"}),
    }
    section = section_for(props)
    assert isinstance(section, SweepSection) and section.metric == "acc" and section.goal == "minimize"
    assert section_for({"azureml.runsource": "something-else"}) is None
    assert section_for({}) is None


def test_sweep_view_sorts_best_first_and_places_parallel_axes() -> None:
    kids = [
        {
            "runId": "a",
            "name": "HD_0",
            "status": "Completed",
            "parameters": {"--lr": 0.1, "--opt": "sgd"},
            "primary": [0.5, 0.9],
            "terminated": False,
        },
        {
            "runId": "b",
            "name": "HD_1",
            "status": "Canceled",
            "parameters": {"--lr": 0.8, "--opt": "adam"},
            "primary": [0.2],
            "terminated": True,
        },
        {
            "runId": "c",
            "name": "HD_2",
            "status": "Running",
            "parameters": {"--lr": 0.4, "--opt": "sgd"},
            "primary": [],
            "terminated": False,
        },
    ]
    sw = sweep_view(kids, "accuracy", "maximize")
    assert [c["run_id"] for c in sw["children"]] == ["a", "b", "c"]  # best first, no metric last
    assert sw["columns"] == ["Run", "Status", "--lr", "--opt", "accuracy (max)"]
    assert sw["children"][0]["cells"][-1] == "0.9" and sw["children"][2]["cells"][-1] == MISSING
    assert sw["title"] == "Child runs (3), 1 ended early by the policy"
    assert [a["name"] for a in sw["axes"]] == ["--lr", "--opt", "accuracy"]
    assert sw["children"][0]["coords"] == [0.0, 0.0, 1.0] and sw["children"][1]["coords"] == [1.0, 1.0, 0.0]
    assert sw["children"][2]["coords"][-1] is None
    # the metric-per-child chart's axis and each child's line colour come with the view: the renderer formats nothing
    values = [v for c in sw["children"] for v in c["values"]]
    assert sw["value_axis"] == value_axis(values) and sw["value_axis"]["ticks"][1][1] == format_value(max(values))
    assert [c["color"] for c in sw["children"]] == [series_color(i) for i in range(3)]
    low = sweep_view(kids, "loss", "minimize")
    assert [c["run_id"] for c in low["children"]] == ["b", "a", "c"]
    # a sweep parent's view carries it; any other run's does not
    props = {"azureml.runsource": "hyperdrive", "primary_metric_config": json.dumps({"name": "accuracy"})}
    view = RunView("p")
    upd = view.apply(RunDelta(status="Running", details={**DETAILS, "properties": props}, children=kids))
    assert upd.sweep is not None and upd.sweep["metric"] == "accuracy"
    plain = RunView("q").apply(RunDelta(status="Running", details=DETAILS, children=kids))
    assert plain.sweep is None and plain.children is not None
