"""Data fixtures: a session-wide Azurite (real emulator, loopback) and one datastore fixture per backend."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_amlrun.testing.helpers import sample_tree
from tests.data.azurite import ACCOUNT, ACCOUNT_KEY, AZURITE_BIN, Azurite, start_azurite


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    if not AZURITE_BIN.exists():
        message = f"Azurite is not installed ({AZURITE_BIN}); run `bash scripts/install-test-tools.sh`."
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    server = start_azurite(tmp_path_factory.mktemp("azurite"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def shared_ws(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One workspace per module for the contract suites (creating the MLflow store costs seconds); each contract
    test gets a fresh container or folder in it."""
    from jupyter_amlrun import Workspace

    return Workspace.create("contract", path=tmp_path_factory.mktemp("contract-ws"))


@pytest.fixture
def folder_store(ws):  # type: ignore[no-untyped-def]
    """The embedded default datastore (a folder in the workspace)."""
    return ws.get_default_datastore()


@pytest.fixture
def blob_store(ws, azurite: Azurite):  # type: ignore[no-untyped-def]
    """A fresh container on Azurite, registered with the emulator's published account key."""
    from jupyter_amlrun import Datastore

    return Datastore.register_azure_blob_container(
        ws,
        "blobstore",
        container_name=f"c{uuid.uuid4().hex[:12]}",
        account_name=ACCOUNT,
        account_key=ACCOUNT_KEY,
        endpoint=azurite.endpoint,
        create_if_not_exists=True,
    )


@pytest.fixture
def sample_dir(tmp_path: Path) -> Path:
    """A small tree: 3 top-level text files, images in nested folders."""
    return sample_tree(tmp_path / "sample")
