"""run_a.diff(run_b): params, last metrics, code (added/removed/changed with unified diffs), environment and inputs
of two real runs; runs of different workspaces refused; a pruned snapshot named instead of failing."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlrun import Environment, Experiment, Run, ScriptRunConfig, Workspace
from jupyter_amlrun.runtime.diff import diff_inputs, diff_snapshots
from jupyter_amlrun.runtime.errors import UserErrorException
from jupyter_amlrun.runtime.snapshot import SnapshotStore

SCRIPT = """\
import sys
import mlflow
from jupyter_amlrun import Run
run = Run.get_context()
with mlflow.start_run():
    mlflow.log_param("lr", sys.argv[1])
    mlflow.log_param("model", "resnet")
run.log("acc", float(sys.argv[1]) * 10)
run.log("only_{}".format(sys.argv[2]), 1.0)
"""


def _submit(ws: Any, src: Path, args: list[str], env: Environment | None = None) -> Run:
    config = ScriptRunConfig(str(src), "train.py", arguments=args)
    if env is not None:
        config.run_config.environment = env
    run = Experiment(ws, "diff").submit(config)
    run.wait_for_completion(raise_on_error=True)
    return run


@pytest.mark.integration
def test_diff_of_two_real_runs(ws: Any, make_source: Any, tmp_path: Path) -> None:
    src = make_source({"train.py": SCRIPT, "util.py": "A = 1\nB = 2\nC = 3\n", "old.txt": "x", "same.py": "s = 0\n"})
    run_a = _submit(ws, src, ["0.1", "a"])
    (src / "util.py").write_text("A = 1\nB = 20\nC = 3\n")
    (src / "old.txt").unlink()
    (src / "new.txt").write_text("y")
    env = Environment("diff-env")
    env.python.user_managed_dependencies = True  # the venv's own interpreter: nothing is installed
    env.python.conda_dependencies.add_pip_package("numpy>=1.0")
    run_b = _submit(ws, src, ["0.2", "b"], env)

    d = run_a.diff(run_b)
    assert set(d) >= {"params", "metrics", "code", "environment", "inputs"}
    assert d["runs"] == [run_a.id, run_b.id]
    # differing rows first
    assert list(d["params"])[:2] == ["arguments", "lr"]
    assert d["params"]["lr"] == ["0.1", "0.2"] and d["params"]["model"] == ["resnet", "resnet"]
    assert d["params"]["arguments"] == [["0.1", "a"], ["0.2", "b"]]
    assert d["metrics"]["acc"] == [pytest.approx(1.0), pytest.approx(2.0)]
    assert d["metrics"]["only_a"] == [1.0, None] and d["metrics"]["only_b"] == [None, 1.0]
    code = d["code"]
    assert code["missing"] == []
    assert code["added"] == ["new.txt"] and code["removed"] == ["old.txt"]
    assert [c["path"] for c in code["changed"]] == ["util.py"]
    assert "-B = 2\n+B = 20\n" in code["changed"][0]["diff"]
    assert code["changed"][0]["diff"].startswith("--- a/util.py\n+++ b/util.py\n")
    assert code["unchanged"] == 2  # train.py, same.py
    envd = d["environment"]
    assert envd["name"][1] == "diff-env" and envd["same"] is False
    assert envd["packages"]["added"] == ["numpy>=1.0"]
    assert d["inputs"] == {"added": {}, "removed": {}, "changed": {}, "same": []}
    # The reverse diff mirrors it.
    back = run_b.diff(run_a)
    assert back["code"]["added"] == ["old.txt"] and back["environment"]["packages"]["removed"] == ["numpy>=1.0"]

    # A pruned snapshot: the diff says which side is missing, the other parts still come.
    sid = run_a.get_snapshot_id()
    assert sid is not None
    SnapshotStore(Path(ws.path)).manifest_path(sid).unlink()
    pruned = run_a.diff(run_b)
    assert pruned["code"]["missing"] == ["a"]
    assert "pruned" in pruned["code"]["missing_reason"]["a"] and run_a.id in pruned["code"]["missing_reason"]["a"]
    assert pruned["params"]["lr"] == ["0.1", "0.2"]

    # Runs of another workspace: a clear error.
    other_ws = Workspace.create("other", path=tmp_path / "other_ws")
    run_c = _submit(other_ws, src, ["0.3", "c"])
    with pytest.raises(UserErrorException, match="different|one workspace") as err:
        run_a.diff(run_c)
    assert run_c.id in str(err.value) and "other" in str(err.value)
    with pytest.raises(UserErrorException, match="takes another Run"):
        run_a.diff("not a run")  # type: ignore[arg-type]


@pytest.mark.unit
def test_snapshot_diff_binary_and_no_snapshot(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "ws")
    a = tmp_path / "a"
    b = tmp_path / "b"
    for root, blob, text in ((a, b"\0\1", "x\n"), (b, b"\0\2", "y\n")):
        root.mkdir()
        (root / "w.bin").write_bytes(blob)
        (root / "t.txt").write_text(text)
    sa, sb = store.take(a).id, store.take(b).id
    out = diff_snapshots(tmp_path / "ws", sa, sb)
    by_path = {c["path"]: c for c in out["changed"]}
    assert by_path["w.bin"]["binary"] is True and by_path["w.bin"]["diff"] is None
    assert "-x\n+y\n" in by_path["t.txt"]["diff"]
    # An object pruned under a kept manifest: that file is flagged, the rest still diffs.
    shutil.rmtree(store.object_path(store.files(sa)["t.txt"]["sha256"]).parent)
    out = diff_snapshots(tmp_path / "ws", sa, sb)
    assert {c["path"]: c for c in out["changed"]}["t.txt"].get("object_missing") is True
    none = diff_snapshots(tmp_path / "ws", None, sb, names=("r1", "r2"))
    assert none["missing"] == ["a"] and "r1" in none["missing_reason"]["a"]


@pytest.mark.unit
def test_inputs_diff() -> None:
    a = [{"name": "train", "dataset_name": "iris", "dataset_version": 1, "mode": "mount"}, {"name": "x"}]
    b = [
        {"name": "train", "dataset_name": "iris", "dataset_version": 2, "mode": "mount"},
        {"name": "test", "dataset_name": "iris-test", "dataset_version": 1},
    ]
    d = diff_inputs(a, b)
    assert d["changed"] == {"train": ["iris:1", "iris:2"]}
    assert d["added"] == {"test": "iris-test:1"} and list(d["removed"]) == ["x"]
