"""SqliteDirect: the submit's store operations without MLflow write and read what MLflow writes and reads (issue 20).

Each test works on a real, migrated MLflow sqlite store (a copy of the session's template) and checks the direct rows
against MLflow's own client on the same file, so an MLflow upgrade that changes the rows fails here.
"""

from __future__ import annotations

import math
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlrun.tracking import runindex
from jupyter_amlrun.tracking.sqlite_direct import SCHEMA_REVISION, SqliteDirect
from jupyter_amlrun.tracking.store import RunRecord, TrackingStore

pytestmark = pytest.mark.integration

PARENT = "azureml.parentRunId"


@pytest.fixture
def store(tmp_path: Path, mlflow_template_db: Path) -> TrackingStore:
    db = tmp_path / "mlflow.db"
    db.write_bytes(mlflow_template_db.read_bytes())
    return TrackingStore(f"sqlite:///{db}", tmp_path / "artifacts")


@pytest.fixture
def direct(store: TrackingStore) -> SqliteDirect:
    found = SqliteDirect.for_uri(store.tracking_uri)
    assert found is not None and found.usable()
    return found


def _mlflow_record(store: TrackingStore, run_id: str) -> RunRecord:
    """The run as MLflow's own client reads it."""
    return TrackingStore._record(store.client.get_run(run_id))


def _mlflow_run(store: TrackingStore, exp: str, name: str, tags: dict[str, str], params: dict[str, str]) -> str:
    """A run made by MLflow's own client, as TrackingStore did before issue 20."""
    from mlflow.entities import Param

    run = store.client.create_run(exp, run_name=name, tags=tags)
    if params:
        store.client.log_batch(run.info.run_id, params=[Param(k, v) for k, v in params.items()])
    return str(run.info.run_id)


def _info(run: Any) -> dict[str, Any]:
    info = run.info
    return {
        "status": info.status,
        "lifecycle_stage": info.lifecycle_stage,
        "user_id": info.user_id,
        "run_name": info.run_name,
        "experiment_id": info.experiment_id,
        "end_time": info.end_time,
        "artifact_uri": info.artifact_uri.replace(info.run_id, "<id>"),
    }


def test_a_direct_run_reads_in_mlflow_as_the_run_mlflow_creates(store: TrackingStore, direct: SqliteDirect) -> None:
    exp = store.get_or_create_experiment("e")
    tags = {"mlflow.user": "ada", "azureml.runType": "azureml.scriptrun", "note": "x" * 5000}
    params = {"script": "train.py", "arguments": "--lr 0.1"}
    mine = direct.create_run(exp, "e_1", tags, params)
    assert mine is not None
    theirs = _mlflow_run(store, exp, "e_1", tags, params)
    client = store.client
    a, b = client.get_run(mine.run_id), client.get_run(theirs)
    assert _info(a) == _info(b)
    assert a.data.tags == b.data.tags and a.data.params == b.data.params == params
    assert a.info.start_time == mine.start_time and a.info.artifact_uri == mine.artifact_uri
    # what this module returns equals what MLflow reads back
    assert _mlflow_record(store, mine.run_id) == mine
    # and MLflow runs its own life cycle on it: tags, metrics, the end, deletion
    client.log_metric(mine.run_id, "loss", 0.5, step=1)
    client.set_terminated(mine.run_id, "FINISHED")
    assert direct.get_run(mine.run_id) == _mlflow_record(store, mine.run_id)
    store.delete_run(mine.run_id)
    assert direct.set_tags(mine.run_id, {"late": "1"}) is False  # a deleted run is MLflow's to refuse


def test_reads_match_mlflow_for_tags_metrics_and_children(store: TrackingStore, direct: SqliteDirect) -> None:
    exp = store.get_or_create_experiment("e")
    parent = _mlflow_run(store, exp, "p", {}, {})
    kids = [_mlflow_run(store, exp, f"c{i}", {PARENT: parent}, {}) for i in range(3)]
    other = store.get_or_create_experiment("other")
    _mlflow_run(store, other, "elsewhere", {PARENT: parent}, {})  # another experiment: not a child here
    store.client.log_metric(kids[0], "nan", math.nan)
    store.client.log_metric(kids[1], "acc", 0.25)
    store.client.delete_run(kids[2])
    assert direct.set_tags(parent, {"a": "1", "b": "2"})
    assert direct.set_tags(parent, {"a": "3"})  # replaces, as MLflow's log_batch does
    assert store.client.get_run(parent).data.tags["a"] == "3"

    where = f"tags.`{PARENT}` = '{parent}'"
    mine = direct.search_by_tag([exp], where, 1000)
    assert mine is not None
    theirs = store.client.search_runs([exp], filter_string=where, order_by=["attributes.start_time DESC"])
    assert [r.run_id for r in mine] == [r.info.run_id for r in theirs] == [kids[1], kids[0]]
    assert math.isnan(mine[1].metrics["nan"]) and mine[0] == TrackingStore._record(theirs[0])
    assert direct.experiment_id("e") == exp and direct.experiment_name(other) == "other"
    assert direct.experiment_id("missing") is None and direct.get_run("0" * 32) is None


@pytest.mark.parametrize(
    ("tags", "params", "run_name"),
    [
        ({"bad key!": "v"}, {}, "r"),  # a name MLflow refuses: its error, not ours
        ({}, {"../up": "v"}, "r"),
        ({"t": "x" * 8001}, {}, "r"),
        ({"mlflow.runName": "other"}, {}, "r"),  # MLflow raises for the conflict
        ({}, {}, ""),
    ],
)
def test_what_mlflow_would_judge_is_left_to_mlflow(
    store: TrackingStore, direct: SqliteDirect, tags: dict[str, str], params: dict[str, str], run_name: str
) -> None:
    exp = store.get_or_create_experiment("e")
    assert direct.create_run(exp, run_name, tags, params) is None
    assert store.client.search_runs([exp]) == []  # nothing half-written


def test_other_stores_filters_and_experiments_go_through_mlflow(
    tmp_path: Path, store: TrackingStore, direct: SqliteDirect, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert SqliteDirect.for_uri("http://127.0.0.1:5000") is None
    assert SqliteDirect.for_uri(f"sqlite:///{tmp_path / 'missing.db'}") is None
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    assert SqliteDirect(empty).usable() is False  # not migrated: MLflow migrates it
    monkeypatch.setenv("MLFLOW_ENABLE_WORKSPACES", "true")
    assert SqliteDirect.for_uri(store.tracking_uri) is None
    monkeypatch.delenv("MLFLOW_ENABLE_WORKSPACES")
    exp = store.get_or_create_experiment("e")
    assert direct.search_by_tag([exp], "attributes.status = 'RUNNING'", 10) is None
    store.client.delete_experiment(exp)
    assert direct.create_run(exp, "r", {}) is None  # a deleted experiment: MLflow's error


def test_a_direct_experiment_reads_in_mlflow_as_its_own(store: TrackingStore, direct: SqliteDirect) -> None:
    root = store.artifact_root
    assert root is not None
    mine = direct.create_experiment("mine", (root / "mine").as_uri())
    assert mine is not None and direct.create_experiment("mine", "file:///elsewhere") == mine  # made meanwhile
    theirs = store.client.create_experiment("theirs", artifact_location=(root / "theirs").as_uri())
    a, b = store.client.get_experiment(mine), store.client.get_experiment(theirs)
    assert (a.name, a.lifecycle_stage, a.tags) == ("mine", "active", b.tags)
    assert a.artifact_location == (root / "mine").as_uri() and b.artifact_location == (root / "theirs").as_uri()
    assert store.client.get_experiment_by_name("mine").experiment_id == mine
    run = direct.create_run(mine, "r", {})
    assert run is not None and run.artifact_uri == f"{(root / 'mine').as_uri()}/{run.run_id}/artifacts"
    assert direct.create_experiment("", "file:///x") is None


def test_the_schema_revision_is_the_installed_mlflows_head() -> None:
    """Fails the day the MLflow pin moves: re-check the statements against the new schema, then the constant."""
    import mlflow.store
    from alembic.script import ScriptDirectory

    migrations = Path(mlflow.store.__file__).parent / "db_migrations"
    assert ScriptDirectory(str(migrations)).get_heads() == [SCHEMA_REVISION]


def test_a_store_at_another_revision_goes_through_mlflow(store: TrackingStore, mlflow_template_db: Path) -> None:
    db = Path(store.tracking_uri[len("sqlite:///") :])
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("UPDATE alembic_version SET version_num = '0123456789ab'")  # as another MLflow would leave it
    assert SqliteDirect(db).usable() is False
    assert store._direct() is None
    assert runindex.run_rows(store.tracking_uri, "amlrun.status", 10) is None  # the same rule for the run index
    assert runindex.experiment_index(store.tracking_uri, "amlrun.status", ["Completed"]) is None
    assert runindex.run_rows(f"sqlite:///{mlflow_template_db}", "amlrun.status", 10) == []
    with pytest.raises(Exception, match="0123456789ab"):  # MLflow's own schema check: it names the revision found
        store.get_or_create_experiment("e")
    assert SqliteDirect(mlflow_template_db).usable() is True


def test_log_artifact_of_a_local_store_lands_where_mlflow_reads_it(store: TrackingStore, tmp_path: Path) -> None:
    """A first %%submit in a notebook copies the notebook into the run (notebook/origin.py): no MLflow import."""
    exp = store.get_or_create_experiment("e")
    run = store.create_run(exp, "r", {})
    src = tmp_path / "nb.ipynb"
    src.write_text('{"cells": []}')
    store.log_artifact(run.run_id, src, "notebook_copy")
    store.log_artifact(run.run_id, src)
    listed = {a.path for a in store.client.list_artifacts(run.run_id, "notebook_copy")}
    assert listed == {"notebook_copy/nb.ipynb"}
    assert {a.path for a in store.client.list_artifacts(run.run_id)} == {"notebook_copy", "nb.ipynb"}
    got = store.client.download_artifacts(run.run_id, "notebook_copy/nb.ipynb", str(tmp_path))
    assert Path(got).read_text() == '{"cells": []}'
    with pytest.raises(Exception, match=r"\.\."):  # a path MLflow refuses goes to MLflow, which says why
        store.log_artifact(run.run_id, src, "../out")
