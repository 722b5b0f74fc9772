"""The folder backend: the contract suite, plus registry behaviour of the embedded default and registered folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from jupyter_amlrun import Datastore
from jupyter_amlrun.data import DatastoreException
from jupyter_amlrun.testing import DatastoreContract

pytestmark = pytest.mark.unit


class TestFolderContract(DatastoreContract):
    @pytest.fixture
    def store(self, shared_ws):  # type: ignore[no-untyped-def]
        store = shared_ws.get_default_datastore()
        shutil.rmtree(store.fs_root)  # each test starts from an empty embedded datastore
        Path(store.fs_root).mkdir()
        return store


class TestRegisteredFolderContract(DatastoreContract):
    @pytest.fixture
    def store(self, shared_ws, tmp_path: Path):  # type: ignore[no-untyped-def]
        return Datastore.register_folder(
            shared_ws, "shared", tmp_path / "shared-folder", create_if_not_exists=True, overwrite=True
        )


def test_embedded_default_exists_without_registration(ws) -> None:  # type: ignore[no-untyped-def]
    ds = ws.get_default_datastore()
    assert ds.name == "workspaceblobstore" and ds.datastore_type == "Folder"
    assert Path(ds.fs_root) == ws.path / "datastores" / "workspaceblobstore" / "data"
    assert list(ws.datastores) == ["workspaceblobstore"]
    assert Datastore(ws) == ds and Datastore(ws, "workspaceblobstore") == ds


def test_register_set_default_unregister(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    other = Datastore.register_folder(ws, "other", tmp_path / "o", create_if_not_exists=True)
    assert set(ws.datastores) == {"workspaceblobstore", "other"}
    ws.set_default_datastore("other")
    assert ws.get_default_datastore() == other
    with pytest.raises(DatastoreException, match="already registered"):
        Datastore.register_folder(ws, "other", tmp_path / "o")
    other.unregister()
    assert ws.get_default_datastore().name == "workspaceblobstore"
    with pytest.raises(DatastoreException, match="cannot be unregistered"):
        ws.get_default_datastore().unregister()


def test_unknown_datastore_lists_known(ws) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DatastoreException, match=r"No datastore named 'nope'.*\['workspaceblobstore'\]"):
        Datastore.get(ws, "nope")


def test_bad_names_and_missing_folder(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DatastoreException, match="Invalid datastore name"):
        Datastore.register_folder(ws, "bad name!", tmp_path)
    with pytest.raises(DatastoreException, match="does not exist"):
        Datastore.register_folder(ws, "missing", tmp_path / "nope")
    assert "missing" not in ws.datastores


def test_symlink_out_of_folder_is_refused(folder_store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    outside = tmp_path / "outside"
    outside.mkdir()
    (Path(folder_store.fs_root) / "link").symlink_to(outside)
    with pytest.raises(DatastoreException, match="outside datastore"):
        folder_store.put_file(tmp_path / "x", "link/x.txt")
