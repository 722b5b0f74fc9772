"""The MLflow REST endpoint a run's driver serves its script: real MLflow clients against a real sqlite store.

The first tests talk to the endpoint in this process (fast); the last ones submit real scripts that use MLflow the way
v1 users were told to (start_run, log_param, log_metric, autolog, sklearn/pytorch log_model), then read the run back
with the v1 API.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from jupyter_amlrun import Experiment, ScriptRunConfig, Workspace
from jupyter_amlrun.testing.helpers import wait_for
from jupyter_amlrun.tracking.journal import read_all, ship_journal
from jupyter_amlrun.tracking.runendpoint import RunEndpoint
from tests.tracking import test_team_server as _team_server

pytestmark = pytest.mark.integration
mlflow_server = _team_server.mlflow_server  # the fixture that starts a real `mlflow server`


@pytest.fixture
def served(ws: Workspace, tmp_path: Path) -> Iterator[tuple[Workspace, str, Path, RunEndpoint]]:
    """A run in the workspace's store, its folder, and the endpoint its driver would serve."""
    exp_id = ws.store.get_or_create_experiment("served")
    run_id = ws.store.create_run(exp_id, "r", {}).run_id
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    endpoint = RunEndpoint(lambda: ws.store, run_id, run_dir)
    endpoint.start()
    yield ws, run_id, run_dir, endpoint
    endpoint.close()


def _as_list(value: Any) -> list[Any]:
    return [] if value is None else value if isinstance(value, list) else [value]


def _client(uri: str) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def test_metrics_of_the_run_go_to_the_journal_once(served: tuple[Workspace, str, Path, RunEndpoint]) -> None:
    ws, run_id, run_dir, endpoint = served
    from mlflow.entities import Metric, Param, RunTag

    client = _client(endpoint.uri)
    client.log_metric(run_id, "loss", 0.5, timestamp=1000, step=0)
    client.log_batch(
        run_id,
        metrics=[Metric("loss", 0.25, 2000, 1), Metric("acc", float("nan"), 2000, 1)],
        params=[Param("alpha", "0.1")],
        tags=[RunTag("team", "blue")],
    )
    records = read_all(run_dir / "journal.jsonl")
    assert [(r["n"], r["s"], r["t"]) for r in records] == [("loss", 0, 1000), ("loss", 1, 2000), ("acc", 1, 2000)]
    # Params and tags are stored at once; metrics only by shipping the journal (as the driver does).
    stored = ws.store.get_run(run_id)
    assert stored is not None and stored.params == {"alpha": "0.1"} and stored.tags["team"] == "blue"
    assert stored.metrics == {}
    ship_journal(ws.store, run_id, run_dir)
    ship_journal(ws.store, run_id, run_dir)
    assert [v for _s, _t, v in ws.store.metric_history(run_id, "loss")] == [0.5, 0.25]
    # A read through the endpoint ships first: the script sees what it logged.
    client.log_metric(run_id, "loss", 0.125, timestamp=3000, step=2)
    assert [m.value for m in client.get_metric_history(run_id, "loss")] == [0.5, 0.25, 0.125]
    assert client.get_run(run_id).data.metrics["loss"] == 0.125


def test_a_retried_request_does_not_double_its_points(served: tuple[Workspace, str, Path, RunEndpoint]) -> None:
    """MLflow's HTTP layer re-sends a request whose answer was slow or lost (seen under load: the first point twice
    in get_metrics). The same (name, value, timestamp, step) is one point, as in MLflow's store."""
    _ws, run_id, run_dir, endpoint = served
    from mlflow.entities import Metric

    client = _client(endpoint.uri)
    for _ in range(2):  # what a retry does: the same request again
        client.log_batch(run_id, metrics=[Metric("loss", 1.0, 1000, 0), Metric("loss", float("nan"), 1000, 1)])
    client.log_metric(run_id, "loss", 1.0, timestamp=2000, step=0)  # another time: another point
    records = read_all(run_dir / "journal.jsonl")
    assert [(r["s"], r["t"]) for r in records] == [(0, 1000), (1, 1000), (0, 2000)]


def test_the_script_does_not_end_its_submitted_run(served: tuple[Workspace, str, Path, RunEndpoint]) -> None:
    ws, run_id, _run_dir, endpoint = served
    client = _client(endpoint.uri)
    client.set_terminated(run_id, "FINISHED")
    stored = ws.store.get_run(run_id)
    assert stored is not None and stored.mlflow_status == "RUNNING" and stored.end_time is None
    # Another run the script makes (a nested run) is the script's own to end.
    other = client.create_run(ws.store.get_experiment_id("served"), run_name="nested")
    client.log_metric(other.info.run_id, "x", 1.0)
    client.set_terminated(other.info.run_id, "FINISHED")
    rec = ws.store.get_run(other.info.run_id)
    assert rec is not None and rec.mlflow_status == "FINISHED" and rec.metrics == {"x": 1.0}


def test_bad_input_gets_mlflows_own_error(served: tuple[Workspace, str, Path, RunEndpoint]) -> None:
    from mlflow.exceptions import MlflowException

    _ws, run_id, run_dir, endpoint = served
    client = _client(endpoint.uri)
    with pytest.raises(MlflowException, match="Invalid value"):
        client.log_metric(run_id, "bad//name", 1.0)
    assert read_all(run_dir / "journal.jsonl") == []
    client.log_param(run_id, "p", "1")
    with pytest.raises(MlflowException, match="Changing param values is not allowed"):
        client.log_param(run_id, "p", "2")
    assert client.get_experiment_by_name("nope") is None  # MLflow's client turns the 404 into None


def test_unknown_calls_and_strangers_are_refused_clearly(served: tuple[Workspace, str, Path, RunEndpoint]) -> None:
    _ws, _run_id, _run_dir, endpoint = served
    port_root = endpoint.uri.rsplit("/", 1)[0]
    # Without the run's secret path: nothing.
    stranger = requests.get(f"{port_root}/api/2.0/mlflow/experiments/search", timeout=10)
    assert stranger.status_code == 404
    answer = requests.post(f"{endpoint.uri}/api/2.0/mlflow/experiments/delete", json={"experiment_id": "0"}, timeout=10)
    assert answer.status_code == 404
    doc = answer.json()
    assert doc["error_code"] == "ENDPOINT_NOT_FOUND" and "not served inside a submitted run" in doc["message"]
    assert "deleteExperiment" in doc["message"]
    garbled = requests.post(f"{endpoint.uri}/api/2.0/mlflow/runs/log-metric", data=b"{nope", timeout=10)
    assert garbled.status_code == 400 and garbled.json()["error_code"] == "MALFORMED_REQUEST"


# ---------------------------------------------------------------------------------------------- real submitted runs
TRAIN = """
    import os
    import sys
    import time
    from pathlib import Path

    import mlflow
    import psutil
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    uri = os.environ["MLFLOW_TRACKING_URI"]
    # The script's MLflow never sees the workspace's store files.
    assert uri.startswith("http://127.0.0.1:"), uri
    assert "sqlite" not in os.environ.get("MLFLOW_REGISTRY_URI", ""), os.environ.get("MLFLOW_REGISTRY_URI")

    X, y = load_iris(return_X_y=True)
    mlflow.autolog()
    with mlflow.start_run() as run:
        assert run.info.run_id == os.environ["AMLRUN_RUN_ID"]
        mlflow.log_param("alpha", 0.5)
        for i in range(STEPS):
            mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
        go = Path(sys.argv[1])
        while not go.exists():  # the test reads the metrics live, then lets the script go on
            time.sleep(0.05)
        clf = LogisticRegression(max_iter=300).fit(X, y)
        mlflow.sklearn.log_model(clf, name="model")
        Path("note.txt").write_text("hello")
        mlflow.log_artifact("note.txt")
    opened = [f.path for f in psutil.Process().open_files()]
    assert not any(p.endswith(".db") for p in opened), opened
    print("SCRIPT OK")
"""


def test_mlflow_script_logs_into_its_submitted_run(ws: Workspace, make_source: Any, tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    pytest.importorskip("skops")
    steps = 20
    go = tmp_path / "go"
    src = make_source({"train.py": textwrap.dedent(TRAIN).replace("STEPS", str(steps))})
    run = Experiment(ws, "mlflow-in-run").submit(
        ScriptRunConfig(source_directory=src, script="train.py", arguments=[str(go)])
    )
    # Live: the run's journal (what RunDetails reads while it runs) holds MLflow's metrics before the script ends.
    # (one value reads as a scalar in v1's shape, several as a list)
    assert wait_for(lambda: len(_as_list(run.get_metrics().get("loss"))) == steps, timeout=180)
    assert run.get_status() == "Running"
    go.write_text("")
    run.wait_for_completion()
    metrics = run.get_metrics()
    assert metrics["loss"] == [1.0 / (i + 1) for i in range(steps)]  # each point once: journal shipped, not doubled
    assert [v for _s, _t, v in ws.store.metric_history(run.id, "loss")] == metrics["loss"]
    assert metrics["training_accuracy_score"] > 0.5  # autolog's metrics
    stored = ws.store.get_run(run.id)
    assert stored is not None and stored.params["alpha"] == "0.5" and stored.params["max_iter"] == "300"
    names = run.get_file_names()
    assert {"model/MLmodel", "model/model.skops", "note.txt"} <= set(names), names
    assert "SCRIPT OK" in (run._folder.root / "logs" / "user_logs" / "std_log.txt").read_text()
    model = run.register_model(model_name="iris-mlflow", model_path="model")
    folder = Path(model.download(target_dir=str(tmp_path / "dl"), exist_ok=True))
    assert (folder / "MLmodel").is_file() and (folder / "model.skops").is_file()
    assert "sklearn" in (folder / "MLmodel").read_text()


TORCH_TRAIN = """
    import mlflow
    import torch

    net = torch.nn.Linear(3, 1)
    with mlflow.start_run():
        for step in range(3):
            mlflow.log_metric("loss", float(step), step=step)
        # The v1-era positional artifact path; MLflow 3's default format (pt2) traces the model on an example.
        mlflow.pytorch.log_model(net, "model", input_example=torch.zeros(2, 3).numpy())
"""


def test_pytorch_model_logged_with_mlflow_is_the_runs_files(ws: Workspace, make_source: Any, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    src = make_source({"train.py": textwrap.dedent(TORCH_TRAIN)})
    run = Experiment(ws, "mlflow-torch").submit(ScriptRunConfig(source_directory=src, script="train.py"))
    run.wait_for_completion()
    assert run.get_metrics()["loss"] == [0.0, 1.0, 2.0]
    names = run.get_file_names()
    assert "model/MLmodel" in names and any(n.startswith("model/data/") for n in names), names
    model = run.register_model(model_name="torch-mlflow", model_path="model")
    folder = Path(model.download(target_dir=str(tmp_path / "dl"), exist_ok=True))
    assert "pytorch" in (folder / "MLmodel").read_text()


OLD_MLFLOW = "2.22.1"
OLD_TRAIN = """
    import mlflow
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    assert mlflow.__version__ == "VERSION", mlflow.__version__
    X, y = load_iris(return_X_y=True)
    with mlflow.start_run():
        mlflow.log_param("alpha", 0.5)
        for i in range(5):
            mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
        mlflow.sklearn.log_model(LogisticRegression(max_iter=300).fit(X, y), "model")
"""


def test_a_run_environment_with_another_mlflow_logs_into_the_run(
    ws: Workspace, make_source: Any, tmp_path: Path
) -> None:
    """mlflow-skinny 2.x in the run's environment: it could not open the workspace's store (3.x schema; here it does
    not even import against SQLAlchemy 2.1), yet logs into the run through the driver's endpoint.

    Needs the package registry (pip downloads mlflow-skinny 2.x): skipped when it cannot be reached. The environment
    build takes ~20 s here.
    """
    import subprocess
    import sys

    pytest.importorskip("sklearn")
    from jupyter_amlrun import CondaDependencies, Environment

    wheels = tmp_path / "wheels"
    got = subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", f"mlflow-skinny=={OLD_MLFLOW}", "-d", str(wheels)],
        capture_output=True,
        timeout=300,
    )
    if got.returncode != 0:
        pytest.skip(f"the package registry cannot be reached: {got.stderr.decode(errors='replace')[-300:]}")
    env = Environment("old-mlflow")
    deps = CondaDependencies.create(pip_packages=[f"mlflow-skinny=={OLD_MLFLOW}"])
    deps.set_pip_option(f"--find-links {wheels}")
    env.python.conda_dependencies = deps
    src = make_source({"train.py": textwrap.dedent(OLD_TRAIN).replace("VERSION", OLD_MLFLOW)})
    run = Experiment(ws, "old-mlflow").submit(ScriptRunConfig(source_directory=src, script="train.py", environment=env))
    run.wait_for_completion()
    assert run.get_metrics() == {"loss": [1.0 / (i + 1) for i in range(5)]}
    stored = ws.store.get_run(run.id)
    assert stored is not None and stored.params["alpha"] == "0.5"
    assert {"model/MLmodel", "model/model.pkl"} <= set(run.get_file_names())


TEAM_TRAIN = """
    import os
    from pathlib import Path

    import mlflow
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    assert os.environ["MLFLOW_TRACKING_URI"].startswith("http://127.0.0.1:"), os.environ["MLFLOW_TRACKING_URI"]
    X, y = load_iris(return_X_y=True)
    with mlflow.start_run():
        for i in range(5):
            mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
        Path("note.txt").write_text("hello")
        mlflow.log_artifact("note.txt")  # an mlflow-artifacts: location: proxied to the team server
        mlflow.sklearn.log_model(LogisticRegression(max_iter=300).fit(X, y), name="model")
"""


def test_mlflow_script_with_a_team_server_workspace(
    amlrun_home: Path, tmp_path: Path, make_source: Any, mlflow_server: Any
) -> None:
    """A workspace on a team `mlflow server` (artifacts served by it): the script still talks to its driver's
    endpoint (live metrics, once), which passes artifact transfers on to the server."""
    pytest.importorskip("sklearn")
    url = mlflow_server(f"sqlite:///{tmp_path / 'team.db'}")
    ws = Workspace.create("team", path=tmp_path / "team-ws", tracking_uri=url)
    src = make_source({"train.py": textwrap.dedent(TEAM_TRAIN)})
    run = Experiment(ws, "team-mlflow").submit(ScriptRunConfig(source_directory=src, script="train.py"))
    run.wait_for_completion()
    assert run.get_metrics() == {"loss": [1.0 / (i + 1) for i in range(5)]}
    names = set(run.get_file_names())
    assert {"note.txt", "model/MLmodel", "model/model.skops"} <= names, names
    model = run.register_model(model_name="team-mlflow", model_path="model")
    folder = Path(model.download(target_dir=str(tmp_path / "dl"), exist_ok=True))
    assert (folder / "model.skops").is_file()
