"""Submit validation: every bad input gets one clear error and leaves no run record, folder or artifact behind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jupyter_amlrun import Experiment, ScriptRunConfig, Workspace
from jupyter_amlrun.runtime.errors import SnapshotException, UserErrorException

pytestmark = pytest.mark.integration


def _nothing_left(ws: Workspace, exp: Experiment) -> None:
    assert list(exp.get_runs(include_children=True)) == []
    runs = ws.path / "runs"
    assert not runs.exists() or not any(runs.iterdir())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"source_directory": "missing-dir", "script": "train.py"}, "source_directory 'missing-dir' does not exist"),
        ({"script": None}, "needs script="),
        ({"script": "nope.py"}, r"script 'nope.py' not found .* Python files there: \['train.py'\]"),
        ({"script": "../outside.py"}, "outside source_directory"),
        ({"arguments": ["--x", object()]}, "Argument 1 .* is not supported"),
        ({"arguments": ["--x", [1, 2]]}, "Argument 1 .* is not supported"),
        ({"max_run_duration_seconds": -5}, "max_run_duration_seconds must be a positive number"),
    ],
)
def test_bad_config_rejected_cleanly(
    ws: Workspace,
    make_source: Any,
    tmp_path: Path,
    kwargs: dict[str, Any],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    src = make_source({"train.py": "print(1)\n"})
    (tmp_path / "outside.py").write_text("print(2)\n")
    monkeypatch.chdir(tmp_path)
    exp = Experiment(ws, "bad-input")
    args: dict[str, Any] = {"source_directory": src, "script": "train.py", **kwargs}
    with pytest.raises(UserErrorException, match=message):
        exp.submit(ScriptRunConfig(**args))
    _nothing_left(ws, exp)


def test_oversize_snapshot_rejected_cleanly(ws: Workspace, make_source: Any) -> None:
    src = make_source({"train.py": "print(1)\n"})
    with open(src / "huge.bin", "wb") as fh:
        fh.truncate(400 * 1024 * 1024)
    exp = Experiment(ws, "big")
    with pytest.raises(SnapshotException, match="huge.bin"):
        exp.submit(ScriptRunConfig(source_directory=src, script="train.py"))
    _nothing_left(ws, exp)


@pytest.mark.parametrize("name", ["", "-lead", "has space", "x" * 256, "bad/slash"])
def test_experiment_name_rule(ws: Workspace, name: str) -> None:
    with pytest.raises(UserErrorException, match="Experiment name must be between 1 and 255 characters"):
        Experiment(ws, name)


def test_submit_takes_configs_only(ws: Workspace) -> None:
    with pytest.raises(UserErrorException, match="takes a ScriptRunConfig"):
        Experiment(ws, "e").submit("train.py")


def test_arguments_and_tags_recorded(ws: Workspace, make_source: Any) -> None:
    src = make_source({"train.py": "import sys; print(sys.argv[1:])\n"})
    run = Experiment(ws, "args").submit(
        ScriptRunConfig(source_directory=src, script="train.py", arguments=["--lr", 0.01, "--epochs", 3]),
        tags={"team": "vision"},
    )
    details = run.wait_for_completion()
    assert details["runDefinition"]["arguments"] == ["--lr", "0.01", "--epochs", "3"]
    assert run.get_tags() == {"team": "vision"}
    assert "['--lr', '0.01', '--epochs', '3']" in (Path(details["logFiles"]["logs/user_logs/std_log.txt"]).read_text())
