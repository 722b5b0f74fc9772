"""A symlink inside a folder datastore that points outside it is refused on every read path (issue 13)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_amlrun import Dataset, Experiment, ScriptRunConfig
from jupyter_amlrun.data import DatastoreException

SECRET = "outside-the-datastore\n"


@pytest.fixture
def linked(ws, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The default datastore with data/ok.txt, data/leak.txt -> a file outside, data/dir -> a folder outside."""
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    (outside / "passwd").write_text(SECRET)
    (outside / "sub" / "inner.txt").write_text(SECRET)
    store = ws.get_default_datastore()
    data = Path(store.path_on_disk) / "data"
    data.mkdir(parents=True)
    (data / "ok.txt").write_text("fine\n")
    (data / "leak.txt").symlink_to(outside / "passwd")
    return store, data, outside


def _no_copy(root: Path) -> None:
    for path in root.rglob("*"):
        assert not (path.is_file() and path.read_text() == SECRET), path


@pytest.mark.unit
def test_every_notebook_read_path_refuses_a_link_out(linked, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store, _data, _outside = linked
    with pytest.raises(DatastoreException, match="leak.txt.*outside the datastore"):
        Dataset.File.from_files((store, "data"))
    dataset = Dataset.File.from_files((store, "data"), validate=False)
    with pytest.raises(DatastoreException, match="outside the datastore"):
        dataset.download(target_path=tmp_path / "dl", show_progress=False)
    with pytest.raises(DatastoreException, match="outside the datastore"):
        dataset.to_path()
    with pytest.raises(DatastoreException, match="outside the datastore"), dataset.mount(tmp_path / "mnt"):
        pass
    with pytest.raises(DatastoreException, match="outside"):
        store.download(str(tmp_path / "ds-dl"), prefix="data", show_progress=False)
    with pytest.raises(DatastoreException, match="outside"):
        Dataset.Tabular.from_delimited_files((store, "data/*.txt"), validate=False).to_pandas_dataframe()
    _no_copy(tmp_path / "dl") if (tmp_path / "dl").exists() else None
    assert [e["name"] for e in store.ls("data")] == ["ok.txt"]  # browsing hides the link


@pytest.mark.unit
def test_a_linked_folder_out_is_refused_too(linked, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store, data, outside = linked
    (data / "leak.txt").unlink()
    (data / "dir").symlink_to(outside / "sub", target_is_directory=True)
    dataset = Dataset.File.from_files((store, "data"), validate=False)
    try:
        files = dataset.download(target_path=tmp_path / "dl", show_progress=False)
    except DatastoreException as exc:
        assert "outside" in str(exc)
    else:
        assert all("inner.txt" not in f for f in files)
    _no_copy(tmp_path / "dl") if (tmp_path / "dl").exists() else None


def test_a_run_reading_a_link_out_fails_at_start(linked, make_source) -> None:  # type: ignore[no-untyped-def]
    store, _data, _outside = linked
    src = make_source({"train.py": "import sys, pathlib\nprint(sorted(pathlib.Path(sys.argv[1]).rglob('*')))\n"})
    dataset = Dataset.File.from_files((store, "data"), validate=False)
    run = Experiment(ws := store.workspace, "links").submit(
        ScriptRunConfig(source_directory=src, script="train.py", arguments=[dataset.as_download()])
    )
    details = run.wait_for_completion(raise_on_error=False)
    assert details["status"] == "Failed" and "outside the datastore" in details["error"]["error"]["message"]
    assert ws.path.is_dir()
