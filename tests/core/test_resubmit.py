"""run.resubmit(...): a new run from the old run's snapshot (not the folder as it is now), the changes given, tagged
with the run it came from; clear errors for a run that cannot be re-run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jupyter_amlrun import Environment, Experiment, ScriptRunConfig
from jupyter_amlrun.runtime import tags as T
from jupyter_amlrun.runtime.errors import SnapshotException, UserErrorException
from jupyter_amlrun.runtime.snapshot import SnapshotStore

SCRIPT = """\
import sys
from jupyter_amlrun import Run
from version import VERSION
run = Run.get_context()
run.log("x", float(sys.argv[1]))
run.log("version", VERSION)
"""


@pytest.mark.integration
def test_resubmit_from_the_snapshot_with_new_arguments(ws: Any, make_source: Any) -> None:
    src = make_source({"train.py": SCRIPT, "version.py": "VERSION = 'first'\n"})
    config = ScriptRunConfig(str(src), "train.py", arguments=["1"])
    config.run_config.environment_variables = {"KEEP": "me"}
    first = Experiment(ws, "rerun").submit(config)
    first.wait_for_completion(raise_on_error=True)
    (src / "version.py").write_text("VERSION = 'edited after submit'\n")  # the re-run must not see this

    again = first.resubmit(arguments=["2"])
    again.wait_for_completion(raise_on_error=True)
    assert again.id != first.id
    assert again.get_metrics() == {"x": 2.0, "version": "first"}
    assert again.get_snapshot_id() == first.get_snapshot_id()
    assert again.tags["resubmit_of"] == first.id
    details = again.get_details()
    assert details["runDefinition"]["arguments"] == ["2"] and details["target"] == "local"
    assert again.reader.refresh().tags[T.SOURCE_DIRECTORY] == first.reader.refresh().tags[T.SOURCE_DIRECTORY]
    assert again.folder.read_spec().environment_variables == {"KEEP": "me"}  # type: ignore[union-attr]
    # Nothing given: the same arguments; another environment when given.
    env = Environment("rerun-env")
    env.python.user_managed_dependencies = True
    third = again.resubmit(environment=env)
    third.wait_for_completion(raise_on_error=True)
    assert (
        third.get_metrics()["x"] == 2.0 and third.get_details()["runDefinition"]["environment"]["name"] == "rerun-env"
    )

    with pytest.raises(UserErrorException, match="must be a list"):
        first.resubmit(arguments="--lr 2")  # type: ignore[arg-type]
    # A pruned snapshot: a clear error, no run made.
    sid = first.get_snapshot_id()
    assert sid is not None
    SnapshotStore(Path(ws.path)).manifest_path(sid).unlink()
    count = len(list(Experiment(ws, "rerun").get_runs()))
    with pytest.raises(SnapshotException, match="pruned"):
        first.resubmit()
    assert len(list(Experiment(ws, "rerun").get_runs())) == count


@pytest.mark.integration
def test_an_interactive_run_cannot_be_resubmitted(ws: Any) -> None:
    with Experiment(ws, "rerun").start_logging(snapshot_directory=None) as run:
        run.log("a", 1)
    with pytest.raises(UserErrorException, match="not submitted from a script"):
        run.resubmit()


SWEEP_SCRIPT = """\
import argparse
from jupyter_amlrun import Run
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float, required=True)
p.add_argument("--tag", default="sweep")
a = p.parse_args()
run = Run.get_context()
run.log("score", a.lr * 10)
run.log("tag", a.tag)
"""


@pytest.mark.integration
def test_a_sweep_child_is_resubmitted_like_any_run(ws: Any, make_source: Any) -> None:
    from jupyter_amlrun.train.hyperdrive import GridParameterSampling, HyperDriveConfig, PrimaryMetricGoal, choice

    src = make_source({"train.py": SWEEP_SCRIPT})
    hd = HyperDriveConfig(
        run_config=ScriptRunConfig(str(src), "train.py", arguments=["--tag", "sweep"]),
        hyperparameter_sampling=GridParameterSampling({"--lr": choice(0.1, 0.2)}),
        primary_metric_name="score",
        primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
        max_concurrent_runs=2,
    )
    sweep = Experiment(ws, "rerun-sweep").submit(hd)
    sweep.wait_for_completion(raise_on_error=True)
    child = sweep.get_best_run_by_primary_metric()
    assert child is not None and child.get_metrics()["score"] == 2.0
    (src / "train.py").write_text("raise SystemExit('edited after the sweep')\n")  # the re-run must not see this

    # Nothing given: the child's own arguments (the sampled --lr included), from the sweep's snapshot.
    same = child.resubmit()
    same.wait_for_completion(raise_on_error=True)
    assert same.get_metrics() == {"score": 2.0, "tag": "sweep"} and same.tags["resubmit_of"] == child.id
    assert same.get_snapshot_id() == child.get_snapshot_id()
    # Other arguments: a run of its own (not a child of the sweep), the sweep is unchanged.
    again = child.resubmit(arguments=["--lr", "0.5", "--tag", "rerun"])
    again.wait_for_completion(raise_on_error=True)
    assert again.get_metrics() == {"score": 5.0, "tag": "rerun"}
    assert again.parent is None and len(list(sweep.get_children())) == 2
    # The sweep's parent ran no script: a clear error that says what to re-run instead.
    with pytest.raises(UserErrorException, match="sweep \\(HyperDrive\\) parent.*re-run one of its children"):
        sweep.resubmit()
