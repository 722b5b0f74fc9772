"""export_to_tensorboard: a real run's metrics become event files TensorBoard's own reader reads back."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_amlrun import Experiment, Workspace

pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed")


@pytest.mark.integration
def test_metrics_of_a_run_and_its_children_become_scalar_series(ws: Workspace, tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from jupyter_amlrun.tensorboard.export import export_to_tensorboard

    run = Experiment(ws, "tb-export").start_logging(snapshot_directory=None)
    for loss in (0.9, 0.5, 0.25):
        run.log("loss", loss)
    run.log("accuracy", 0.75)
    run.log_table("table", {"a": [1, 2]})  # not a scalar series: skipped
    child = run.child_run("child")
    child.log("loss", 0.1)
    child.complete()
    run.complete()

    export_to_tensorboard(run, str(tmp_path / "logs"))
    events = EventAccumulator(str(tmp_path / "logs" / run.id)).Reload()
    assert sorted(events.Tags()["scalars"]) == ["accuracy", "loss"]
    loss = events.Scalars("loss")
    assert [e.step for e in loss] == [0, 1, 2] and [round(e.value, 4) for e in loss] == [0.9, 0.5, 0.25]
    assert [e.value for e in events.Scalars("accuracy")] == [0.75]
    child_events = EventAccumulator(str(tmp_path / "logs" / child.id)).Reload()
    assert [round(e.value, 4) for e in child_events.Scalars("loss")] == [0.1]


@pytest.mark.unit
def test_bad_input_is_named() -> None:
    from jupyter_amlrun.tensorboard import TensorboardException
    from jupyter_amlrun.tensorboard.export import export_to_tensorboard

    with pytest.raises(TensorboardException, match="takes runs"):
        export_to_tensorboard(["not a run"], "logs")
