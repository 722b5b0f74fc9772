"""The diff view (view/diff.py): core/diff.py's answer as formatted tables and file changes, for real runs."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlrun.view.diff import diff_view
from tests.tswire import REPO, ts_types

DIFF_TS = REPO / "labextension" / "src" / "diffview.ts"


@pytest.mark.integration
def test_the_diff_view_of_two_real_runs(ws: Any, tmp_path: Path) -> None:
    from jupyter_amlrun import Experiment

    runs = []
    for k, body in enumerate(("print('a')\n", "print('b')\n")):
        src = tmp_path / f"src{k}"
        src.mkdir()
        (src / "train.py").write_text(body)
        (src / "same.py").write_text("x = 1\n")
        if k:
            (src / "new.py").write_text("y = 2\n")
        with Experiment(ws, "diffview").start_logging(snapshot_directory=str(src)) as run:
            run.log("loss", 0.5 + k)
            run.log("inf", float("inf"))
        ws.store.client.log_param(run.id, "lr", str(0.1 * (k + 1)))
        ws.store.client.log_param(run.id, "model", "resnet")
        runs.append(run)
    a, b = runs
    view = diff_view(a.diff(b), ["first", "second"])
    assert view["runs"] == [a.id, b.id] and view["title"] == "first → second"
    tables = {t["name"]: t for t in view["tables"]}
    assert list(tables) == ["params", "metrics", "environment", "inputs"]
    params = tables["params"]
    assert params["columns"] == ["Parameter", "first", "second", ""]
    assert params["rows"][0] == ["lr", "0.1", "0.2", "≠"] and ["model", "resnet", "resnet", ""] in params["rows"]
    metrics = {r[0]: r for r in tables["metrics"]["rows"]}
    assert metrics["loss"] == ["loss", "0.5", "1.5", "≠"] and metrics["inf"][1:3] == ["inf", "inf"]
    code = view["code"]
    assert code["missing"] == [] and code["note"] == "1 changed, 1 added, 0 removed, 1 unchanged"
    files = {f["path"]: f for f in code["files"]}
    assert files["new.py"]["change"] == "added" and files["new.py"]["note"] == "only in second"
    assert files["train.py"]["change"] == "changed" and "+print('b')" in files["train.py"]["diff"]


@pytest.mark.unit
def test_a_missing_snapshot_is_said_not_raised() -> None:
    diff = {
        "runs": ["r1", "r2"],
        "params": {"arguments": [[], ["--x"]]},
        "metrics": {"acc": [0.9, None]},
        "code": {
            "snapshots": [None, "s2"],
            "missing": ["a"],
            "missing_reason": {"a": "run r1 has no source snapshot (an interactive or child run)"},
            "added": [],
            "removed": [],
            "changed": [],
            "unchanged": 0,
        },
        "environment": {
            "same": False,
            "name": ["env", "env"],
            "hash": ["h1", "h2"],
            "python": ["3.11", "3.12"],
            "docker_image": [None, None],
            "packages": {"added": ["torch==2.1"], "removed": [], "changed": {"numpy": ["numpy==1.26", "numpy==2.0"]}},
            "missing": [],
        },
        "inputs": {"added": {}, "removed": {}, "changed": {}, "same": ["train"]},
    }
    view = diff_view(diff)
    assert view["labels"] == ["r1", "r2"]
    assert view["code"]["missing"] == ["r1: run r1 has no source snapshot (an interactive or child run)"]
    assert view["code"]["note"] == "cannot compare the code: 1 of 2 snapshots missing"
    tables = {t["name"]: t for t in view["tables"]}
    assert tables["params"]["rows"] == [["arguments", "", "--x", "≠"]]
    assert tables["metrics"]["rows"] == [["acc", "0.9", "—", "≠"]]
    env = {r[0]: r for r in tables["environment"]["rows"]}
    assert env["python"][1:] == ["3.11", "3.12", "≠"] and env["package torch==2.1"][1:3] == ["—", "torch==2.1"]
    assert env["package numpy"][1:3] == ["numpy==1.26", "numpy==2.0"]
    assert tables["inputs"]["note"] == "1 the same" and tables["inputs"]["rows"] == []


@pytest.mark.unit
def test_diffview_ts_types_match_the_view() -> None:
    from jupyter_amlrun.view import diff, model

    ts = ts_types(DIFF_TS.read_text(encoding="utf-8"))
    assert ts["DiffTableView"] == set(typing.get_type_hints(model.TableView))
    for name in ("DiffFileView", "DiffCodeView", "DiffView"):
        assert ts[name] == set(typing.get_type_hints(getattr(diff, name))), name
