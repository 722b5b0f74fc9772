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
