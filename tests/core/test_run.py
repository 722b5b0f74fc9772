"""Run handle: lifecycle, metrics in v1 shapes, files, tags/properties, details, streaming, children."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlrun import Experiment, Run, ScriptRunConfig, Workspace
from jupyter_amlrun.runtime.errors import ActivityFailedException, RunNotFoundException, UserErrorException
from tests.conftest import wait_for

pytestmark = pytest.mark.integration

TRAIN = """
import os, sys
from jupyter_amlrun import Run
run = Run.get_context()
print("training with", sys.argv[1:])
for i in range(5):
    run.log("loss", 1.0 / (i + 1))
run.log("accuracy", 0.9)
run.log("note", "a string metric")
run.log_list("lrs", [0.1, 0.01, 0.001])
run.log_row("epochs", epoch=1, loss=0.5)
run.log_row("epochs", epoch=2, loss=0.25)
run.log_table("confusion", {"pred": [0, 1], "count": [7, 3]})
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
plt.plot([1, 2, 3])
run.log_image("curve", plot=plt)
run.tag("stage", "trained")
os.makedirs("outputs/model", exist_ok=True)
open("outputs/model.pkl", "wb").write(b"weights")
open("outputs/model/config.json", "w").write("{}")
os.makedirs("logs", exist_ok=True)
open("logs/extra.txt", "w").write("my own log")
print("done")
"""


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, Run]]:
    """One real run shared by the read-only tests of this module."""
    base = tmp_path_factory.mktemp("finished")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AMLRUN_HOME", str(base / "home"))
        yield from _finished_run(base)


def _finished_run(base: Path) -> Iterator[tuple[Workspace, Run]]:
    ws = Workspace.create("shared", path=base / "ws")
    src = base / "src"
    src.mkdir()
    (src / "train.py").write_text(TRAIN)
    run = Experiment(ws, "day1").submit(
        ScriptRunConfig(source_directory=src, script="train.py", arguments=["--lr", 0.01])
    )
    run.wait_for_completion()
    yield ws, run


def test_status_and_details(finished: tuple[Workspace, Run]) -> None:
    ws, run = finished
    assert run.get_status() == "Completed"
    d = run.get_details()
    for key in (
        "runId",
        "target",
        "status",
        "startTimeUtc",
        "endTimeUtc",
        "properties",
        "inputDatasets",
        "outputDatasets",
        "runDefinition",
        "logFiles",
        "submittedBy",
    ):
        assert key in d
    assert d["exitCode"] == 0 and "error" not in d
    assert d["runDefinition"]["script"] == "train.py"
    assert d["startTimeUtc"] <= d["endTimeUtc"]
    state = json.loads((ws.path / "runs" / run.id / "state.json").read_text())
    seen = [s for s, _ in state["history"]]
    assert seen == ["Queued", "Preparing", "Starting", "Running", "Finalizing", "Completed"]


def test_metrics_have_v1_shapes(finished: tuple[Workspace, Run]) -> None:
    _, run = finished
    m = run.get_metrics()
    assert m["loss"] == [1.0, 0.5, 1 / 3, 0.25, 0.2]
    assert m["accuracy"] == 0.9
    assert m["note"] == "a string metric"
    assert m["lrs"] == [0.1, 0.01, 0.001]
    assert m["epochs"] == {"epoch": [1, 2], "loss": [0.5, 0.25]}
    assert m["confusion"] == {"pred": [0, 1], "count": [7, 3]}
    assert m["curve"].startswith("images/curve_") and m["curve"].endswith(".png")
    assert run.get_metrics(name="accuracy") == {"accuracy": 0.9}


def test_files_download_and_upload(
    finished: tuple[Workspace, Run], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, run = finished
    names = run.get_file_names()
    for expected in (
        "outputs/model.pkl",
        "outputs/model/config.json",
        "logs/user_logs/std_log.txt",
        "logs/azureml/driver_log.txt",
        "logs/extra.txt",
    ):
        assert expected in names
    assert any(n.startswith("images/curve_") for n in names)
    assert not any(n.startswith(".amlrun") for n in names)
    got = run.download_file("outputs/model.pkl", str(tmp_path / "m.pkl"))
    assert got.read_bytes() == b"weights"
    monkeypatch.chdir(tmp_path)
    assert run.download_file("outputs/model.pkl").resolve() == (tmp_path / "model.pkl").resolve()
    with pytest.raises(UserErrorException, match="has no file 'outputs/nope'.*outputs/model.pkl"):
        run.download_file("outputs/nope")
    files = run.download_files(prefix="outputs", output_directory=str(tmp_path / "all"))
    assert (tmp_path / "all/outputs/model/config.json").exists() and len(files) == 2
    run.download_files(prefix="outputs", output_directory=str(tmp_path / "flat"), append_prefix=False)
    assert (tmp_path / "flat/model.pkl").exists()
    (tmp_path / "report.txt").write_text("hello")
    run.upload_file("reports/r.txt", str(tmp_path / "report.txt"))
    run.upload_file("reports/s.txt", io.BytesIO(b"stream"))
    assert {"reports/r.txt", "reports/s.txt"} <= set(run.get_file_names())
    with pytest.raises(UserErrorException, match="Invalid run file name"):
        run.upload_file("../escape.txt", str(tmp_path / "report.txt"))


def test_log_lines_streamed_and_user_log_kept(finished: tuple[Workspace, Run], tmp_path: Path) -> None:
    _, run = finished
    log = run.download_file("logs/user_logs/std_log.txt", str(tmp_path / "std.txt")).read_text()
    assert "training with ['--lr', '0.01']" in log and "done" in log
    driver = run.download_file("logs/azureml/driver_log.txt", str(tmp_path / "drv.txt")).read_text()
    assert "After variable expansion, calling script [ train.py ] with arguments: ['--lr', '0.01']" in driver


def test_tags_and_properties(finished: tuple[Workspace, Run]) -> None:
    _, run = finished
    assert run.get_tags() == {"stage": "trained"}
    run.tag("reviewed")
    run.set_tags({"owner": "ana"})
    assert run.get_tags() == {"stage": "trained", "reviewed": "", "owner": "ana"}
    run.remove_tags(["reviewed"])
    assert "reviewed" not in run.tags
    run.add_properties({"dataset": "digits"})
    run.add_properties({"dataset": "digits"})  # same value: fine
    with pytest.raises(UserErrorException, match="immutable"):
        run.add_properties({"dataset": "mnist"})
    assert run.get_properties() == {"dataset": "digits"}
    with pytest.raises(UserErrorException, match="reserved"):
        run.set_tags({"mlflow.user": "x"})


def test_lookup_by_id(finished: tuple[Workspace, Run]) -> None:
    ws, run = finished
    assert Run.get(ws, run.id) == run
    assert Run(Experiment(ws, "day1"), run.id).get_status() == "Completed"
    with pytest.raises(RunNotFoundException):
        Run(Experiment(ws, "day1"), "0" * 32)
    with pytest.raises(RunNotFoundException, match="belongs to experiment 'day1'"):
        Run(Experiment(ws, "other"), run.id)
    assert [r.id for r in Experiment(ws, "day1").get_runs()] == [run.id]
    assert "Status: Completed" in str(run)
    assert run.id in run.get_portal_url()


def test_show_output_streams_then_summarises(
    ws: Workspace, make_source: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    src = make_source(
        {"train.py": "import time\nfor i in range(3):\n    print('line', i, flush=True)\n    time.sleep(0.3)\n"}
    )
    run = Experiment(ws, "stream").submit(ScriptRunConfig(source_directory=src, script="train.py"))
    run.wait_for_completion(show_output=True)
    out = capsys.readouterr().out
    assert out.index(f"RunId: {run.id}") < out.index("Streaming logs/user_logs/std_log.txt")
    assert out.index("line 0") < out.index("line 2") < out.index("Execution Summary")


def test_failed_run_raises_with_error_tail(ws: Workspace, make_source: Any) -> None:
    src = make_source({"train.py": "print('before the crash')\nraise ValueError('bad learning rate')\n"})
    run = Experiment(ws, "fails").submit(ScriptRunConfig(source_directory=src, script="train.py"))
    with pytest.raises(ActivityFailedException, match="bad learning rate"):
        run.wait_for_completion()
    d = run.get_details()
    assert d["status"] == "Failed" and d["exitCode"] == 1
    assert "exited with code 1" in d["error"]["error"]["message"]
    assert run.wait_for_completion(raise_on_error=False)["status"] == "Failed"


def test_max_run_duration_cancels_with_reason(ws: Workspace, make_source: Any) -> None:
    src = make_source({"train.py": "import time\nprint('working', flush=True)\ntime.sleep(600)\n"})
    run = Experiment(ws, "slow").submit(
        ScriptRunConfig(source_directory=src, script="train.py", max_run_duration_seconds=2)
    )
    d = run.wait_for_completion(raise_on_error=False)
    assert d["status"] == "Canceled"
    assert "max_run_duration_seconds=2" in d["error"]["error"]["message"]
    assert "working" in run.download_file("logs/user_logs/std_log.txt", str(ws.path / "l.txt")).read_text()


def test_cancel_queued_or_finished_is_safe(ws: Workspace, make_source: Any) -> None:
    src = make_source({"train.py": "print(1)\n"})
    run = Experiment(ws, "c").submit(ScriptRunConfig(source_directory=src, script="train.py"))
    run.wait_for_completion()
    run.cancel()  # no-op on a finished run
    assert run.get_status() == "Completed"


def test_interactive_run_context_manager(ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    exp = Experiment(ws, "interactive")
    with exp.start_logging(snapshot_directory=None) as run:
        run.log("m", 1)
        run.log("m", 2)
        Path("outputs/result.txt").write_text("ok")
        assert run.get_status() == "Running"
        assert run.get_metrics() == {"m": [1, 2]}  # live: read from the journal
    assert run.get_status() == "Completed"
    assert run.get_metrics() == {"m": [1.0, 2.0]}  # finished: read from MLflow
    assert "outputs/result.txt" in run.get_file_names()
    with pytest.raises(RuntimeError), exp.start_logging(snapshot_directory=None) as failing:
        raise RuntimeError("boom")
    d = failing.get_details()
    assert d["status"] == "Failed" and "RuntimeError: boom" in d["error"]["error"]["message"]


def test_log_rejects_lists_and_bad_names(ws: Workspace) -> None:
    run = Experiment(ws, "bad-log").start_logging(snapshot_directory=None)
    with pytest.raises(UserErrorException, match="Use run.log_list instead"):
        run.log("x", [1, 2])
    with pytest.raises(UserErrorException, match="Invalid metric name"):
        run.log("../x", 1)
    with pytest.raises(UserErrorException, match="exactly one of path= or plot="):
        run.log_image("i")
    run.complete()


def test_child_runs_in_script(ws: Workspace, make_source: Any) -> None:
    src = make_source(
        {
            "train.py": """
            from jupyter_amlrun import Run
            run = Run.get_context()
            for fold in range(2):
                child = run.child_run(name=f"fold-{fold}")
                child.log("auc", 0.8 + fold / 10)
                child.complete()
            run.log("best", 0.9)
            """
        }
    )
    run = Experiment(ws, "cv").submit(ScriptRunConfig(source_directory=src, script="train.py"))
    run.wait_for_completion()
    children = run.get_children()
    assert [c.display_name for c in children] == ["fold-0", "fold-1"]
    assert all(c.get_status() == "Completed" for c in children)
    rec = run.get_metrics(recursive=True)
    assert rec[run.id] == {"best": 0.9}
    assert sorted(rec[c.id]["auc"] for c in children) == [0.8, 0.9]
    assert [r.id for r in Experiment(ws, "cv").get_runs()] == [run.id]  # children hidden by default
    assert len(list(Experiment(ws, "cv").get_runs(include_children=True))) == 3
    assert children[0].parent == run


def test_offline_context_prints(capsys: pytest.CaptureFixture[str], amlrun_home: Path) -> None:
    run = Run.get_context()
    assert run.id.startswith("OfflineRun_")
    run.log("loss", 0.3)
    assert "Attempted to log scalar metric loss:\n0.3" in capsys.readouterr().out
    from jupyter_amlrun.runtime.errors import RunEnvironmentException

    with pytest.raises(RunEnvironmentException, match="outside a submitted run"):
        Run.get_context(allow_offline=False)


def test_status_visible_while_running(ws: Workspace, make_source: Any) -> None:
    src = make_source({"train.py": "import time\ntime.sleep(600)\n"})
    run = Experiment(ws, "live").submit(ScriptRunConfig(source_directory=src, script="train.py"))
    assert wait_for(lambda: run.get_status() == "Running", timeout=60)
    from mlflow.tracking import MlflowClient

    client = MlflowClient(ws.get_mlflow_tracking_uri())
    assert wait_for(lambda: client.get_run(run.id).data.tags.get("amlrun.status") == "Running", timeout=30)
    run.cancel()
    assert wait_for(lambda: run.get_status() == "Canceled", timeout=30)
    # The run folder says Canceled first; MLflow's mirror follows once the driver has recorded the end.
    assert wait_for(lambda: client.get_run(run.id).info.status == "KILLED", timeout=30)


def test_unfinished_child_ends_with_its_script(ws: Workspace, make_source: Any) -> None:
    src = make_source(
        {
            "train.py": "from jupyter_amlrun import Run\nchild = Run.get_context().child_run('left-open')\n"
            "child.log('partial', 1)\n"
        }
    )
    run = Experiment(ws, "orphan-child").submit(ScriptRunConfig(source_directory=src, script="train.py"))
    run.wait_for_completion()
    (child,) = run.get_children()
    # The driver ended it: MLflow already says so, before any reader looked at the child.
    assert child._refresh().tags["amlrun.status"] == "Failed"
    assert child.get_metrics() == {"partial": 1.0}
    assert "ended without finishing it" in child.get_details()["error"]["error"]["message"]


def test_logging_to_a_finished_run_from_the_notebook_is_stored(finished: tuple[Workspace, Run]) -> None:
    ws, run = finished
    handle = Run.get(ws, run.id)
    handle.log("post_hoc_eval", 0.77)
    assert Run.get(ws, run.id).get_metrics(name="post_hoc_eval") == {"post_hoc_eval": 0.77}


def test_log_image_from_a_file(ws: Workspace, tmp_path: Path) -> None:
    png = tmp_path / "plot.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    run = Experiment(ws, "images").start_logging(snapshot_directory=None)
    run.log_image("confusion", path=str(png))
    with pytest.raises(UserErrorException, match="is not a file"):
        run.log_image("missing", path=str(tmp_path / "nope.png"))
    run.complete()
    assert run.get_metrics() == {"confusion": "images/plot.png"}
    assert run.download_file("images/plot.png", str(tmp_path / "back.png")).read_bytes() == png.read_bytes()


def test_a_bad_record_between_good_ones_loses_nothing_else(ws: Workspace, make_source: Any) -> None:
    # run.log refuses bad names at the call (checked below), so the script writes the bad records into its journal
    # directly with a JournalWriter: what a journal written by an older version or another tool could hold.
    src = make_source(
        {
            "train.py": """
            from jupyter_amlrun import Run
            from jupyter_amlrun.runtime.errors import UserErrorException
            from jupyter_amlrun.tracking.journal import SCALAR, JournalWriter
            run = Run.get_context()
            for i in range(100):
                run.log("good", i)
            for bad in ("a/", ".", "a//b", "./x"):
                try:
                    run.log(bad, 1.0)
                except UserErrorException as exc:  # MetricValidationException
                    print("refused:", type(exc).__name__, exc)
            around = JournalWriter(run._folder.journal_path)
            around.append(SCALAR, "a//b", 1.0)
            around.close()
            for i in range(100, 200):
                run.log("good", i)
            """
        }
    )
    run = Experiment(ws, "bad-record").submit(ScriptRunConfig(source_directory=src, script="train.py"))
    details = run.wait_for_completion()
    assert run.get_metrics()["good"] == [float(i) for i in range(200)]
    (warning,) = details["warnings"]
    assert "1 logged record(s) could not be stored" in warning["message"] and "'a//b'" in warning["message"]
    assert "journal.jsonl" in warning["message"]
    log = (ws.path / "runs").rglob("std_log.txt")
    assert any("refused: MetricValidationException Invalid metric name 'a//b'" in p.read_text() for p in log)


def test_values_a_metric_cannot_hold_read_back_as_logged(ws: Workspace, make_source: Any) -> None:
    src = make_source(
        {
            "train.py": """
            import math
            from jupyter_amlrun import Run
            run = Run.get_context()
            run.log("big_int", 2**70)
            run.log("huge_int", 10**400)
            run.log("far_step", 0.5, step=2**70)
            run.log("long_text", "x" * (9 * 1024 * 1024))
            run.log_list("nested", [[1, [2, 3]], {"a": 4}])
            run.log("inf", math.inf)
            run.log("ninf", -math.inf)
            run.log("mixed", 1)
            run.log("mixed", "two")
            run.log("mixed", 3)
            for i in range(100):
                run.log("after", i)
            """
        }
    )
    run = Experiment(ws, "odd-values").submit(ScriptRunConfig(source_directory=src, script="train.py"))
    details = run.wait_for_completion()
    assert details["status"] == "Completed" and "warnings" not in details
    m = run.get_metrics()
    assert m["big_int"] == 2**70 and m["huge_int"] == 10**400 and m["far_step"] == 0.5
    assert m["long_text"] == "x" * (9 * 1024 * 1024)
    assert m["nested"] == [[1, [2, 3]], {"a": 4}]
    assert m["inf"] == float("inf") and m["ninf"] == float("-inf")
    assert m["mixed"] == [1.0, "two", 3.0]
    assert m["after"] == [float(i) for i in range(100)]
