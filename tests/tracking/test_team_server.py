"""A team MLflow server: the workspace's own store opens in `mlflow server`, and a workspace can track into one.

Starts a real `mlflow server` on 127.0.0.1 (full mlflow, from the `server` extra) and stops it afterwards; the team
server's backend store is a sqlite file, and a real PostgreSQL (Debian's package, tests/tracking/postgres.py).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlrun import Experiment, Model, ScriptRunConfig, Workspace
from tests.tracking.postgres import pg_bin, postgres_server

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read().decode() or "null")


@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[Any]:
    """Start `mlflow server` over a given backend store URI; yields a starter function."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(backend_uri: str) -> str:
        port = _free_port()
        log = open(tmp_path / f"mlflow-server-{port}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mlflow",
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--backend-store-uri",
                backend_uri,
                "--artifacts-destination",
                str(tmp_path / "server-artifacts"),
                "--workers",
                "1",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
        )
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError((tmp_path / f"mlflow-server-{port}.log").read_text()[-3000:])
            try:
                urllib.request.urlopen(url + "/health", timeout=2)
                return url
            except OSError:
                time.sleep(0.3)
        raise TimeoutError("mlflow server did not start within 90 s")

    yield start
    for proc in procs:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_workspace_store_opens_in_mlflow_server(ws: Workspace, mlflow_server: Any) -> None:
    run = Experiment(ws, "visible").start_logging(snapshot_directory=None)
    run.log("acc", 0.75)
    run.complete()
    url = mlflow_server(ws.get_mlflow_tracking_uri())
    got = _get(f"{url}/api/2.0/mlflow/runs/get?run_id={run.id}")["run"]
    assert got["info"]["status"] == "FINISHED"
    assert {m["key"]: m["value"] for m in got["data"]["metrics"]} == {"acc": 0.75}
    tags = {t["key"]: t["value"] for t in got["data"]["tags"]}
    assert tags["amlrun.status"] == "Completed"


@pytest.fixture(params=["sqlite", "postgresql"])
def team_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The team server's backend store URI: a sqlite file, or a database on a real PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'team.db'}"
        return
    if pg_bin() is None:
        pytest.fail("PostgreSQL is not installed: run `make install-test-tools` (apt-get install -y postgresql)")
    with postgres_server(tmp_path / "pg") as url:
        yield url


def test_workspace_tracking_into_a_team_server(
    amlrun_home: Path, tmp_path: Path, make_source: Any, mlflow_server: Any, team_backend: str
) -> None:
    url = mlflow_server(team_backend)
    ws = Workspace.create("team", path=tmp_path / "team-ws", tracking_uri=url)
    assert ws.get_mlflow_tracking_uri() == url
    src = make_source(
        {
            "train.py": "from jupyter_amlrun import Run\nrun = Run.get_context()\nfor i in range(50):\n"
            "    run.log('loss', 1 / (i + 1))\nopen('outputs/model.pkl', 'w').write('m')\n"
        }
    )
    run = Experiment(ws, "team-exp").submit(ScriptRunConfig(source_directory=src, script="train.py"))
    assert run.wait_for_completion()["status"] == "Completed"
    assert len(run.get_metrics()["loss"]) == 50
    assert "outputs/model.pkl" in run.get_file_names()
    model = run.register_model(model_name="team-model", model_path="outputs/model.pkl")
    assert Model(ws, "team-model").version == 1
    assert Path(model.download(str(tmp_path / "dl"))).read_text() == "m"
    # The server, not the workspace folder, holds the record: another client sees it.
    got = _get(f"{url}/api/2.0/mlflow/runs/get?run_id={run.id}")["run"]
    assert {t["key"]: t["value"] for t in got["data"]["tags"]}["amlrun.status"] == "Completed"
    # A second model version and a tag land in the server's registry too.
    run.register_model(model_name="team-model", model_path="outputs/model.pkl", tags={"stage": "dev"})
    assert Model(ws, "team-model").version == 2
    assert Model(ws, "team-model", version=2).tags == {"stage": "dev"}
    if team_backend.startswith("postgresql"):
        # The records are in PostgreSQL itself, not in a file next to the server.
        assert not list(tmp_path.glob("*.db"))
