"""The Azure Blob backend against a real Azurite: the contract suite, credentials, secrets, bad endpoints."""

from __future__ import annotations

import json
import os
import stat
import traceback
import uuid
from pathlib import Path

import pytest

from jupyter_amlrun import Datastore
from jupyter_amlrun.data import DatastoreAuthenticationError, DatastoreConnectionError, DatastoreException
from jupyter_amlrun.testing import DatastoreContract
from tests.data.azurite import ACCOUNT, ACCOUNT_KEY, free_port

pytestmark = pytest.mark.integration
WRONG_KEY = "V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3Jvbmc="


class TestBlobContract(DatastoreContract):
    @pytest.fixture
    def store(self, shared_ws, azurite):  # type: ignore[no-untyped-def]
        return Datastore.register_azure_blob_container(
            shared_ws,
            "contract",
            container_name=f"c{uuid.uuid4().hex[:12]}",
            account_name=ACCOUNT,
            account_key=ACCOUNT_KEY,
            endpoint=azurite.endpoint,
            create_if_not_exists=True,
            overwrite=True,
        )


def test_connection_string_and_sas_credentials(ws, azurite) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime, timedelta, timezone

    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    by_cs = Datastore.register_azure_blob_container(
        ws,
        "by_cs",
        container_name="cs-container",
        connection_string=azurite.connection_string,
        create_if_not_exists=True,
    )
    assert by_cs.account_name == ACCOUNT and by_cs.ls() == []
    sas = generate_container_sas(
        ACCOUNT,
        "cs-container",
        account_key=ACCOUNT_KEY,
        permission=ContainerSasPermissions(read=True, list=True),
        expiry=datetime.now(timezone.utc) + timedelta(hours=1),
    )
    by_sas = Datastore.register_azure_blob_container(
        ws,
        "by_sas",
        container_name="cs-container",
        account_name=ACCOUNT,
        sas_token=sas,
        endpoint=azurite.endpoint,
    )
    assert by_sas.sas_token == "********" and by_sas.ls() == []
    assert sas not in repr(by_sas) and sas not in json.dumps(by_sas.describe())


def test_secrets_stay_out_of_documents_and_reprs(ws, blob_store) -> None:  # type: ignore[no-untyped-def]
    doc = (ws.path / "datastores" / "blobstore" / "datastore.json").read_text()
    assert ACCOUNT_KEY not in doc and '"account_key":' not in doc
    assert ACCOUNT_KEY not in repr(blob_store) and ACCOUNT_KEY not in repr(ws.datastores)
    assert blob_store.account_key == "********"
    secrets = ws.path / "secrets.json"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    assert json.loads(secrets.read_text())["blobstore"]["account_key"] == ACCOUNT_KEY
    blob_store.unregister()
    assert "blobstore" not in json.loads(secrets.read_text())


def test_wrong_credentials_clear_error_without_sdk_stack(ws, azurite) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DatastoreAuthenticationError) as info:
        Datastore.register_azure_blob_container(
            ws,
            "wrong",
            container_name="data",
            account_name=ACCOUNT,
            account_key=WRONG_KEY,
            endpoint=azurite.endpoint,
        )
    message = str(info.value)
    assert "rejected the credentials" in message and "account key" in message and WRONG_KEY not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__
    frames = "".join(traceback.format_exception(info.value))
    assert "azure/storage" not in frames and "azure/core" not in frames
    assert "wrong" not in ws.datastores  # a failed registration leaves nothing behind


def test_wrong_key_from_env_override(ws, blob_store, sample_dir: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AMLRUN_DATASTORE_BLOBSTORE_ACCOUNT_KEY", WRONG_KEY)
    store = Datastore.get(ws, "blobstore")
    with pytest.raises(DatastoreAuthenticationError, match="AMLRUN_DATASTORE_BLOBSTORE_ACCOUNT_KEY"):
        store.upload(sample_dir, "x", show_progress=False)


def test_unreachable_endpoint_bounded_retries(ws) -> None:  # type: ignore[no-untyped-def]
    dead = f"http://127.0.0.1:{free_port()}/{ACCOUNT}"  # nothing listens there
    with pytest.raises(DatastoreConnectionError, match=r"Could not reach .* after 3 retries") as info:
        Datastore.register_azure_blob_container(
            ws,
            "dead",
            container_name="data",
            account_name=ACCOUNT,
            account_key=ACCOUNT_KEY,
            endpoint=dead,
        )
    assert ACCOUNT_KEY not in str(info.value)
    store = Datastore.register_azure_blob_container(
        ws,
        "dead",
        container_name="data",
        account_name=ACCOUNT,
        account_key=ACCOUNT_KEY,
        endpoint=dead,
        skip_validation=True,
    )
    with pytest.raises(DatastoreConnectionError):
        store.ls()


def test_missing_container_and_bad_names(ws, azurite) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DatastoreException, match="create_if_not_exists=True"):
        Datastore.register_azure_blob_container(
            ws,
            "nocont",
            container_name="no-such-container",
            account_name=ACCOUNT,
            account_key=ACCOUNT_KEY,
            endpoint=azurite.endpoint,
        )
    with pytest.raises(DatastoreException, match="Invalid container name"):
        Datastore.register_azure_blob_container(ws, "x", container_name="A_B", account_name=ACCOUNT)
    with pytest.raises(DatastoreException, match="one credential"):
        Datastore.register_azure_blob_container(
            ws,
            "x",
            container_name="abc",
            account_name=ACCOUNT,
            account_key="k",
            sas_token="s",
        )


def test_adlfs_view(blob_store, sample_dir: Path) -> None:  # type: ignore[no-untyped-def]
    blob_store.upload(sample_dir, "s", show_progress=False)
    fs = blob_store.fs
    names = fs.ls(f"{blob_store.fs_root}/s", detail=False)
    assert any(n.endswith("file0.txt") for n in names)


def test_env_is_clean() -> None:
    assert "AMLRUN_DATASTORE_BLOBSTORE_ACCOUNT_KEY" not in os.environ


def test_the_sdk_error_behind_a_refusal_holds_no_sas(ws, azurite, sample_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """``raise ... from None`` hid the SDK's error from the traceback, but ``__context__`` kept it, with the request
    URL and its ``sig=``: a notebook that prints ``exc.__context__`` (or a logger that walks it) showed the SAS."""
    from datetime import datetime, timedelta, timezone
    from urllib.parse import parse_qs

    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    name = f"ro{uuid.uuid4().hex[:10]}"
    Datastore.register_azure_blob_container(
        ws,
        "rw",
        container_name=name,
        account_name=ACCOUNT,
        account_key=ACCOUNT_KEY,
        endpoint=azurite.endpoint,
        create_if_not_exists=True,
    )
    sas = generate_container_sas(
        ACCOUNT,
        name,
        account_key=ACCOUNT_KEY,
        permission=ContainerSasPermissions(read=True, list=True),
        expiry=datetime.now(timezone.utc) + timedelta(hours=1),
    )
    sig = parse_qs(sas)["sig"][0]
    read_only = Datastore.register_azure_blob_container(
        ws, "ro", container_name=name, account_name=ACCOUNT, sas_token=sas, endpoint=azurite.endpoint
    )
    with pytest.raises(DatastoreException) as info:
        read_only.upload(str(sample_dir), target_path="x", show_progress=False)  # the SAS may not write
    chain, exc = [], info.value
    while exc is not None and len(chain) < 10:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    assert len(chain) >= 2  # the SDK's error is still there, emptied
    for exc in chain:
        seen = " ".join([str(exc), repr(exc), *_reachable_text(exc), *traceback.format_exception(exc)])
        for form in (sig, sig.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")):
            assert form not in seen, type(exc)


def _reachable_text(obj: object, depth: int = 8, seen: set[int] | None = None) -> list[str]:
    """Every string reachable from ``obj`` through attributes, dicts and lists (``depth`` levels): where a SAS held
    by an exception (its response's request URL, its headers) would be found."""
    seen = set() if seen is None else seen
    if id(obj) in seen or depth < 0:
        return []
    seen.add(id(obj))
    if isinstance(obj, (str, bytes)):
        return [obj.decode(errors="replace") if isinstance(obj, bytes) else obj]
    if isinstance(obj, dict):
        items: list[object] = [*obj.keys(), *obj.values()]
    elif isinstance(obj, (list, tuple, set)):
        items = list(obj)
    elif hasattr(obj, "__dict__") and not isinstance(obj, type) and not callable(obj):
        items = list(vars(obj).values())
    else:
        return [repr(obj)] if isinstance(obj, (int, float)) else []
    return [text for item in items for text in _reachable_text(item, depth - 1, seen)]
