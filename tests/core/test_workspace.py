"""Workspace: config search like v1, the embedded default, create/write_config, the MLflow store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jupyter_amlrun import Experiment, Workspace
from jupyter_amlrun.core import workspace as workspace_mod
from jupyter_amlrun.runtime.errors import RunNotFoundException, WorkspaceException

pytestmark = pytest.mark.integration


def test_no_config_opens_default_and_says_so_once(
    amlrun_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workspace_mod, "_said_default", False)
    empty = tmp_path / "empty"
    empty.mkdir()
    ws = Workspace.from_config(empty)
    assert ws.path == amlrun_home / "workspaces" / "default"
    assert ws.name == "default"
    said = capsys.readouterr()
    assert "default workspace" in said.out and str(ws.path) in said.out
    assert said.err == ""  # a notice, not an error: stderr would show as a red box in the notebook
    Workspace.from_config(empty)
    assert capsys.readouterr().out == ""


def test_write_config_then_from_config_walks_up(ws: Workspace, tmp_path: Path) -> None:
    project = tmp_path / "project"
    deep = project / "a" / "b"
    deep.mkdir(parents=True)
    written = ws.write_config(project)
    assert written == project / ".amlrun" / "config.json"
    assert Workspace.from_config(deep) == ws


def test_search_order_amlrun_then_azureml_then_bare(amlrun_home: Path, tmp_path: Path) -> None:
    a = Workspace.create("wa", path=tmp_path / "wa")
    b = Workspace.create("wb", path=tmp_path / "wb")
    c = Workspace.create("wc", path=tmp_path / "wc")
    root = tmp_path / "p"
    child = root / "child"
    child.mkdir(parents=True)
    # A bare config.json in the child loses to an .azureml one in the parent, which loses to .amlrun.
    (child / "config.json").write_text(json.dumps({"workspace_path": str(c.path)}))
    (root / ".azureml").mkdir()
    (root / ".azureml" / "config.json").write_text(json.dumps({"workspace_path": str(b.path)}))
    assert Workspace.from_config(child) == b
    a.write_config(root)
    assert Workspace.from_config(child) == a


def test_azure_cloud_config_gets_clear_message(amlrun_home: Path, tmp_path: Path) -> None:
    (tmp_path / ".azureml").mkdir()
    (tmp_path / ".azureml" / "config.json").write_text(
        json.dumps({"subscription_id": "s", "resource_group": "rg", "workspace_name": "prod"})
    )
    with pytest.raises(
        WorkspaceException, match=r"Azure cloud workspace.*Workspace.create\('<name>'\).write_config\(\)"
    ):
        Workspace.from_config(tmp_path)


def test_bad_config_json(amlrun_home: Path, tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(WorkspaceException, match="not valid JSON"):
        Workspace.from_config(tmp_path)


def test_create_exist_ok_and_names(amlrun_home: Path, tmp_path: Path) -> None:
    ws = Workspace.create("w1", path=tmp_path / "w1")
    with pytest.raises(WorkspaceException, match="already exists"):
        Workspace.create("w1", path=tmp_path / "w1")
    assert Workspace.create("w1", path=tmp_path / "w1", exist_ok=True) == ws
    with pytest.raises(WorkspaceException, match="Invalid workspace name"):
        Workspace.create("bad name!")
    with pytest.raises(WorkspaceException, match="No workspace at"):
        Workspace.get("never-made")
    # v1's three-argument constructor opens the local workspace of that name.
    named = Workspace.create("w2")
    assert Workspace("sub", "rg", "w2") == named


def test_tracking_uri_is_a_real_mlflow_store(ws: Workspace) -> None:
    from mlflow.tracking import MlflowClient

    uri = ws.get_mlflow_tracking_uri()
    assert uri == f"sqlite:///{ws.path / 'mlflow.db'}"
    exp = Experiment(ws, "visible-in-mlflow")
    run = exp.start_logging(snapshot_directory=None)
    run.log("x", 1.5)
    run.complete()
    client = MlflowClient(uri)
    got = client.get_run(run.id)
    assert got.data.metrics["x"] == 1.5
    assert got.data.tags["amlrun.status"] == "Completed"
    assert got.info.status == "FINISHED"


def test_collections_and_get_run(ws: Workspace) -> None:
    exp = Experiment(ws, "e1")
    run = exp.start_logging(snapshot_directory=None)
    run.complete()
    assert list(ws.experiments) == ["e1"]
    assert ws.get_run(run.id).id == run.id
    assert ws.environments == {}
    assert ws.models == {}
    with pytest.raises(RunNotFoundException, match="No run with id 'nope'"):
        ws.get_run("nope")


def test_repr_has_no_secrets(ws: Workspace) -> None:
    assert repr(ws).startswith("Workspace.create(name='test'")


def test_a_workspace_is_its_owners_only(tmp_path: Path, amlrun_home: Path) -> None:
    """On a shared machine another user must read no metric: the workspace and its folders 0700, the store, a run's
    state and journal 0600 (they were 0755 and 0644)."""
    import os
    import stat

    def mode(p: Path) -> int:
        return stat.S_IMODE(p.stat().st_mode)

    old = os.umask(0o022)  # the usual umask: the modes must not depend on the user's
    try:
        ws = Workspace.create("private", path=tmp_path / "ws")
        run = Experiment(ws, "e").start_logging()
        run.log("loss", 1.0)
        run.flush()
        run.complete()
    finally:
        os.umask(old)
    assert mode(ws.path) == 0o700
    assert all(mode(ws.path / sub) == 0o700 for sub in ("runs", "snapshots", "compute", "artifacts", "datastores"))
    assert mode(ws.path / "mlflow.db") == 0o600
    folder = ws.path / "runs" / run.id
    assert mode(folder / "journal.jsonl") == 0o600 and mode(folder / "state.json") == 0o600
    # what else is written (logs, artifacts) lies in the 0700 folders: no other user gets through to it
    assert {f.name: mode(f) for f in ws.path.iterdir() if f.is_file() and mode(f) & 0o077} == {}
