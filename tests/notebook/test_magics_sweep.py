"""Issue 11: ``%%submit --sweep VAR`` sweeps the cell's script (a HyperDriveRun bound like a run)."""

from __future__ import annotations

from typing import Any

import pytest
from IPython.core.error import UsageError

SCRIPT = """\
import argparse
from jupyter_amlrun import Run
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float)
a = p.parse_args()
run = Run.get_context()
for i in range(2):
    run.log("loss", a.lr * (i + 1))
"""


@pytest.mark.unit
@pytest.mark.parametrize(
    ("setup", "line", "words"),
    [
        ("", "--sweep nothing --metric loss --no-widget", "--sweep nothing: no such variable"),
        ("x = 3", "--sweep x --metric loss --no-widget", "--sweep x: a int"),
        ("s = GridParameterSampling({'--lr': choice(0.1)})", "--sweep s --no-widget", "--sweep needs --metric"),
        ("s = GridParameterSampling({'--lr': choice(0.1)})", "--sweep s --metric loss:up --no-widget", "max or min"),
        (
            "s = GridParameterSampling({'--lr': choice(0.1)})",
            "--sweep s --metric l --policy s --no-widget",
            "--policy s",
        ),
        (
            "s = RandomParameterSampling({'--lr': uniform(0, 1)})",
            "--sweep s --metric loss --no-widget",
            "max_total_runs is required",
        ),
    ],
)
def test_sweep_mistakes_are_usage_errors(quick_shell: Any, setup: str, line: str, words: str) -> None:
    quick_shell.run_cell(
        "from jupyter_amlrun.train.hyperdrive import GridParameterSampling, RandomParameterSampling, choice, uniform"
    )
    quick_shell.run_cell(setup)
    with pytest.raises(UsageError, match=words):
        quick_shell.run_cell_magic("submit", f"--experiment sweepmagic {line}", SCRIPT)


@pytest.mark.integration
def test_submit_sweep_runs_a_grid(shell: Any) -> None:
    from jupyter_amlrun.train.hyperdrive import GridParameterSampling, HyperDriveRun, choice

    shell.user_ns["grid"] = GridParameterSampling({"--lr": choice(0.1, 0.3)})
    shell.run_cell_magic(
        "submit",
        "--experiment sweepmagic --sweep grid --metric loss:min --max-concurrent-runs 2 --no-widget --wait",
        SCRIPT,
    )
    run = shell.user_ns["run"]
    assert isinstance(run, HyperDriveRun) and run.get_status() == "Completed"
    assert sorted(p["--lr"] for p in run.get_hyperparameters().values()) == [0.1, 0.3]
    best = run.get_best_run_by_primary_metric()
    assert best is not None and run.get_hyperparameters()[best.id]["--lr"] == 0.1
