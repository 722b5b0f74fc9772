"""A real Jupyter server with the extension enabled (pytest-jupyter) over a real workspace made once per session:
a finished run with metrics and logs, a model with two versions, a dataset, a folder datastore with nested folders
and more than 1,000 files."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# pytest-jupyter's fixtures and hooks for this folder only: `pytest_plugins` is refused outside the top conftest,
# and importing them here keeps the other folders free of its autouse fixtures.
from pytest_jupyter.jupyter_server import *  # noqa: F403

MANY_FILES = 1205
TRAIN = textwrap.dedent(
    """
    from jupyter_amlrun import Run
    run = Run.get_context()
    for i in range(5):
        run.log("loss", 1.0 / (i + 1))
    run.log("accuracy", 0.9)
    print("hello from the run")
    """
)


@dataclass
class World:
    """What the session workspace holds (ids and paths the tests check answers against)."""

    home: Path
    ws: Any
    run_id: str
    folder: Path  # the root of the folder datastore "nested"


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory, mlflow_template_db: Path) -> Iterator[World]:
    from jupyter_amlrun import Dataset, Datastore, Experiment, Model, ScriptRunConfig, Workspace

    base = tmp_path_factory.mktemp("server-world")
    # the environment only while the world is made; each test that uses it gets it again from `world_env`
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AMLRUN_HOME", str(base / "home"))
        for var in ("AMLRUN_RUN_ID", "AMLRUN_WORKSPACE", "AMLRUN_TRACKING_URI"):
            mp.delenv(var, raising=False)
        (base / "ws").mkdir()
        shutil.copyfile(mlflow_template_db, base / "ws" / "mlflow.db")
        ws = Workspace.create("srv", path=base / "ws")
        # the embedded default (served when no config is found), made from the migrated template: migrating costs s
        default = base / "home" / "workspaces" / "default"
        default.mkdir(parents=True)
        shutil.copyfile(mlflow_template_db, default / "mlflow.db")
        Workspace.create("default", path=default)
        src = base / "src"
        src.mkdir()
        (src / "train.py").write_text(TRAIN)
        run = Experiment(ws, "exp-a").submit(ScriptRunConfig(source_directory=str(src), script="train.py"))
        run.wait_for_completion(show_output=False, raise_on_error=True)

        model_file = base / "model.pkl"
        model_file.write_bytes(b"weights-1")
        Model.register(ws, model_path=str(model_file), model_name="clf", description="first", tags={"k": "v"})
        model_file.write_bytes(b"weights-2")
        Model.register(ws, model_path=str(model_file), model_name="clf", description="second")

        folder = base / "nested-store"
        (folder / "a" / "b").mkdir(parents=True)
        (folder / "a" / "b" / "deep.txt").write_text("deep")
        (folder / "top.csv").write_text("x,y\n1,2\n")
        many = folder / "many"
        many.mkdir()
        for i in range(MANY_FILES):
            (many / f"f{i:05d}.txt").write_bytes(b"x")
        store = Datastore.register_folder(ws, "nested", str(folder))
        Dataset.File.from_files((store, "a/**")).register(ws, "deepset", description="the deep files", tags={"t": "1"})
    yield World(base / "home", ws, run.id, folder)


@pytest.fixture(autouse=True)
def world_env(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests that use the world run with its AMLRUN_HOME (the embedded default workspace lands there, not in ~)."""
    if "world" in request.fixturenames:
        world: World = request.getfixturevalue("world")
        monkeypatch.setenv("AMLRUN_HOME", str(world.home))
        for var in ("AMLRUN_RUN_ID", "AMLRUN_WORKSPACE", "AMLRUN_TRACKING_URI"):
            monkeypatch.delenv(var, raising=False)


@pytest.fixture
def jp_server_config(world: World) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_amlrun": True}},
        "AmlrunExtension": {"workspace_path": str(world.ws.path)},
    }


@pytest.fixture(scope="session")
def blob_world(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Two blob datastores on a real Azurite (one with the account key, one with a SAS) in the session workspace,
    each with a file; yields the secrets that must never appear in an answer."""
    import os
    import uuid
    from datetime import datetime, timedelta, timezone

    from jupyter_amlrun import Datastore
    from tests.data.azurite import ACCOUNT, ACCOUNT_KEY, AZURITE_BIN, start_azurite

    if not AZURITE_BIN.exists():
        message = f"Azurite is not installed ({AZURITE_BIN}); run `bash scripts/install-test-tools.sh`."
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    server = start_azurite(tmp_path_factory.mktemp("server-azurite"))
    try:
        keyed = f"k{uuid.uuid4().hex[:12]}"
        store = Datastore.register_azure_blob_container(
            world.ws,
            "blobkey",
            container_name=keyed,
            account_name=ACCOUNT,
            account_key=ACCOUNT_KEY,
            endpoint=server.endpoint,
            create_if_not_exists=True,
        )
        src = tmp_path_factory.mktemp("blob-src") / "f.txt"
        src.write_text("blob!")
        store.upload_files([str(src)], target_path="dir", show_progress=False)
        sas = generate_container_sas(
            ACCOUNT,
            keyed,
            account_key=ACCOUNT_KEY,
            permission=ContainerSasPermissions(read=True, list=True, write=True),
            expiry=datetime.now(timezone.utc) + timedelta(hours=1),
        )
        Datastore.register_azure_blob_container(
            world.ws, "blobsas", container_name=keyed, account_name=ACCOUNT, sas_token=sas, endpoint=server.endpoint
        )
        # the same key, at an endpoint where nothing listens: its errors must not carry the key either
        Datastore.register_azure_blob_container(
            world.ws,
            "blobdead",
            container_name=keyed,
            account_name=ACCOUNT,
            account_key=ACCOUNT_KEY,
            endpoint=f"http://127.0.0.1:9/{ACCOUNT}",
            skip_validation=True,
        )
        from urllib.parse import parse_qs

        yield {"key": ACCOUNT_KEY, "sas": sas, "sig": parse_qs(sas)["sig"][0]}
    finally:
        server.stop()
