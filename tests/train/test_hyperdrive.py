"""Issue 11: sweeps end to end. Real pools, real controllers and real child runs (subprocesses of a tiny numpy
script); every wait is bounded.

The script's known bad region: ``--lr >= 0.5`` scores a third of the good region at every step, so a policy must end
those children early and the best child must come from ``--lr < 0.5``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlrun import AmlCompute, ComputeTarget, Experiment, Run, ScriptRunConfig, Workspace
from jupyter_amlrun.runtime.runfolder import RunFolder
from jupyter_amlrun.train.hyperdrive import (
    BanditPolicy,
    GridParameterSampling,
    HyperDriveConfig,
    HyperDriveRun,
    MedianStoppingPolicy,
    PrimaryMetricGoal,
    RandomParameterSampling,
    choice,
    uniform,
)
from tests.conftest import wait_for

pytestmark = pytest.mark.integration

TERMINAL = {"Completed", "Failed", "Canceled"}
STEPS = 6
TRAIN = """
import argparse, time
import numpy as np
from jupyter_amlrun import Run

p = argparse.ArgumentParser()
p.add_argument("--lr", type=float, required=True)
p.add_argument("--batch", type=int, default=16)
p.add_argument("--steps", type=int, default=6)
p.add_argument("--sleep", type=float, default=0.3)
p.add_argument("--bad-sleep", type=float, default=None)
a = p.parse_args()
run = Run.get_context()
quality = 0.9 if a.lr < 0.5 else 0.3          # the known bad region
noise = np.random.default_rng(a.batch).uniform(0, 0.01, a.steps)
for step in range(a.steps):
    run.log("accuracy", float(quality * (1 - np.exp(-(step + 1))) + noise[step]))
    time.sleep(a.sleep if quality > 0.5 or a.bad_sleep is None else a.bad_sleep)
"""


@pytest.fixture
def src(make_source: Callable[..., Path]) -> Path:
    return make_source({"train.py": TRAIN})


def _config(src: Path, sampling: Any, target: str, args: list[Any] | None = None, **kw: Any) -> HyperDriveConfig:
    run_config = ScriptRunConfig(source_directory=src, script="train.py", compute_target=target, arguments=args or [])
    return HyperDriveConfig(
        run_config=run_config,
        hyperparameter_sampling=sampling,
        primary_metric_name="accuracy",
        primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
        **kw,
    )


def _state(ws: Workspace, run_id: str) -> dict[str, Any]:
    return RunFolder(ws.path, run_id).read_state().to_dict()


def _script_spans(ws: Workspace, kids: list[Run]) -> list[tuple[float, float]]:
    """(submitted, script ended) per child, from each run's state history."""
    spans = []
    for kid in kids:
        st = _state(ws, kid.id)
        ends = [t for s, t in st["history"] if s in ("Finalizing", *TERMINAL)]
        spans.append((float(st["created"]), min(ends)))
    return spans


def _max_overlap(spans: list[tuple[float, float]]) -> int:
    events = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans])
    live = peak = 0
    for _, d in events:
        live += d
        peak = max(peak, live)
    return peak


def test_random_sweep_bandit_prunes_the_bad_region(ws: Workspace, src: Path) -> None:
    ComputeTarget.create(ws, "pool4", AmlCompute.provisioning_configuration(max_nodes=4))
    sampling = RandomParameterSampling({"--lr": uniform(0, 1), "--batch": choice(16, 32)}, properties={"rngSeed": 3})
    hd = _config(
        src,
        sampling,
        "pool4",
        # bad-region children step slower, so a cancel always has seconds to land before their last step even on a
        # loaded machine (the policy, not the clock, is under test)
        args=["--bad-sleep", 1.5],
        policy=BanditPolicy(evaluation_interval=1, slack_factor=0.2),
        max_total_runs=12,
        max_concurrent_runs=3,
    )
    run = Experiment(ws, "sweep").submit(hd)
    assert isinstance(run, HyperDriveRun)
    run.wait_for_completion(raise_on_error=True)
    assert run.get_status() == "Completed"
    kids = run.get_children()
    assert len(kids) == 12
    params = run.get_hyperparameters()
    assert set(params) == {k.id for k in kids}
    pruned = []
    for kid in kids:
        lr = params[kid.id]["--lr"]
        values = kid.get_metrics(name="accuracy")["accuracy"]
        values = values if isinstance(values, list) else [values]
        if kid.get_status() == "Canceled":
            pruned.append(kid)
            assert lr >= 0.5, f"a good child was pruned: lr={lr}"
            assert len(values) < STEPS, "a pruned child ran to its last step"
            assert "early termination by BanditPolicy" in kid.get_details()["error"]["error"]["message"]
        else:
            assert kid.get_status() == "Completed"
            assert len(values) == STEPS
    assert pruned, "no child of the bad region was pruned"
    best = run.get_best_run_by_primary_metric()
    assert best is not None and params[best.id]["--lr"] < 0.5
    rows = run.get_children_sorted_by_primary_metric()
    assert rows[0]["run_id"] == best.id
    assert [r["best_primary_metric"] for r in rows] == sorted((r["best_primary_metric"] for r in rows), reverse=True)
    assert len(run.get_children_sorted_by_primary_metric(top=2)) == 2
    # our limit, not the pool's (4 slots): never more than 3 children before their script ended
    assert _max_overlap(_script_spans(ws, kids)) <= 3
    props = run.get_properties()
    assert props["best_child_run_id"] == best.id and props["azureml.runsource"] == "hyperdrive"
    assert json.loads(props["primary_metric_config"]) == {"name": "accuracy", "goal": "maximize"}
    # same snapshot for every child, re-attach by id
    assert {k._record.tags["amlrun.snapshot_id"] for k in kids} == {run._record.tags["amlrun.snapshot_id"]}
    again = Run.get(ws, run.id)
    assert isinstance(again, HyperDriveRun) and again.get_primary_metric_goal() == PrimaryMetricGoal.MAXIMIZE
    assert set(again.get_metrics()) == {k.id for k in kids}


def test_grid_is_exhaustive_and_median_stopping_prunes(ws: Workspace, src: Path) -> None:
    sampling = GridParameterSampling({"--lr": choice(0.1, 0.2, 0.8), "--batch": choice(16, 32)})
    hd = _config(
        src,
        sampling,
        "local",
        args=["--bad-sleep", 1.5],  # as above: time for the cancel to land
        policy=MedianStoppingPolicy(evaluation_interval=1, delay_evaluation=2),
        max_concurrent_runs=3,
    )
    assert hd.max_total_runs == 6
    run = Experiment(ws, "grid").submit(hd)
    run.wait_for_completion(raise_on_error=True)
    params = run.get_hyperparameters()
    combos = sorted((p["--lr"], p["--batch"]) for p in params.values())
    assert combos == sorted((lr, b) for lr in (0.1, 0.2, 0.8) for b in (16, 32))
    pruned = [k for k in run.get_children() if k.get_status() == "Canceled"]
    assert pruned, "median stopping pruned no child of the bad region"
    for kid in pruned:
        assert params[kid.id]["--lr"] == 0.8
        assert "early termination by MedianStoppingPolicy" in kid.get_details()["error"]["error"]["message"]
    # RunDetails of the finished sweep: the children table with parameters and the metric, and the charts
    from jupyter_amlrun.notebook.widget import RunDetails

    details = RunDetails(Run.get(ws, run.id))
    try:
        details._prime()
        sweep = details.children["sweep"]
        assert sweep["columns"] == ["Run", "Status", "--lr", "--batch", "accuracy (max)"]
        assert len(sweep["children"]) == 6 and sum(c["terminated"] for c in sweep["children"]) == len(pruned)
        best = sweep["children"][0]
        assert best["run_id"] == run.get_best_run_by_primary_metric().id and len(best["values"]) == STEPS
        summary = details._summary_html or ""
        assert "ended early by the policy" in summary and 'alt="sweep charts"' in summary and "--batch" in summary
    finally:
        details.close()


def test_sweep_outlives_its_kernel_and_a_cancel_of_the_parent_cancels_every_child(ws: Workspace, src: Path) -> None:
    # The "kernel": a process that submits the sweep and exits at once; this test re-attaches by id.
    submit = f"""
import sys
from jupyter_amlrun import Experiment, ScriptRunConfig, Workspace
from jupyter_amlrun.train.hyperdrive import HyperDriveConfig, PrimaryMetricGoal, RandomParameterSampling, uniform
ws = Workspace(path={str(ws.path)!r})
cfg = ScriptRunConfig(source_directory={str(src)!r}, script="train.py", arguments=["--steps", 100, "--sleep", 0.2])
hd = HyperDriveConfig(run_config=cfg, hyperparameter_sampling=RandomParameterSampling({{"--lr": uniform(0, 0.4)}}),
    primary_metric_name="accuracy", primary_metric_goal=PrimaryMetricGoal.MAXIMIZE, max_total_runs=6,
    max_concurrent_runs=2)
print(Experiment(ws, "cancel").submit(hd).id)
"""
    done = subprocess.run([sys.executable, "-c", submit], capture_output=True, text=True, timeout=120, check=True)
    run = Run.get(ws, done.stdout.strip().splitlines()[-1])
    assert isinstance(run, HyperDriveRun)
    assert wait_for(lambda: sum(k.get_status() == "Running" for k in run.get_children()) == 2, timeout=90)
    run.cancel()
    assert wait_for(lambda: run.get_status() in TERMINAL, timeout=90)
    assert run.get_status() == "Canceled"
    kids = run.get_children()
    assert len(kids) == 2, "the sweep went on submitting after its cancel"
    for kid in kids:
        assert kid.get_status() == "Canceled"
        assert "was canceled" in kid.get_details()["error"]["error"]["message"]


def test_sigkilled_controller_fails_the_parent_and_keeps_finished_children(ws: Workspace, src: Path) -> None:
    sampling = GridParameterSampling({"--lr": choice(0.1, 0.2, 0.3)})
    # child 0 is quick; the others run long, so the kill finds one finished child and one live one
    hd = _config(src, sampling, "local", args=["--sleep", 0.05], max_concurrent_runs=1)
    run = Experiment(ws, "killed").submit(hd)
    assert wait_for(lambda: any(k.get_status() == "Completed" for k in run.get_children()), timeout=90)
    pid = _state(ws, run.id)["owner_pid"]
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: run.get_status() in TERMINAL, timeout=30)
    assert run.get_status() == "Failed"
    assert "without finishing it" in run.get_details()["error"]["error"]["message"]
    kids = run.get_children()
    done = [k for k in kids if k.get_status() == "Completed"]
    assert done and all(len(k.get_metrics()["accuracy"]) == STEPS for k in done)
    # a child still live at the kill does not run on without its sweep
    assert wait_for(lambda: all(k.get_status() in TERMINAL for k in run.get_children()), timeout=60)


def test_max_duration_minutes_cancels_the_live_children(ws: Workspace, src: Path) -> None:
    sampling = RandomParameterSampling({"--lr": uniform(0, 0.4)})
    hd = _config(
        src,
        sampling,
        "local",
        args=["--steps", 200, "--sleep", 0.2],
        max_total_runs=3,
        max_concurrent_runs=1,
        max_duration_minutes=0.1,
    )
    run = Experiment(ws, "duration").submit(hd)
    assert wait_for(lambda: run.get_status() in TERMINAL, timeout=90)
    assert run.get_status() == "Canceled"
    assert "max_duration_minutes=0.1" in run.get_details()["error"]["error"]["message"]
    kids = run.get_children()
    assert len(kids) == 1 and kids[0].get_status() == "Canceled"
    assert "reached max_duration_minutes=0.1" in kids[0].get_details()["error"]["error"]["message"]
