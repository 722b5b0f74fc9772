"""FileDataset: definitions, globs, immutable versions, download and mount in the notebook."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jupyter_amlrun import Dataset
from jupyter_amlrun.data import DataPath, DatasetException, DatasetValidationError, DatastoreException
from jupyter_amlrun.data.dataset import glob_to_regex

pytestmark = pytest.mark.unit


@pytest.fixture
def store(folder_store, sample_dir: Path):  # type: ignore[no-untyped-def]
    folder_store.upload(sample_dir, "datasets/sample", show_progress=False)
    return folder_store


def test_glob_regex() -> None:
    rx = glob_to_regex("images/**/*.png")
    assert rx.match("images/a.png") and rx.match("images/a/b/c.png")
    assert not rx.match("images/a.jpg") and not rx.match("other/a.png")
    assert glob_to_regex("a/*.txt").match("a/x.txt") and not glob_to_regex("a/*.txt").match("a/b/x.txt")


def test_from_files_folder_glob_datapath_and_lists(store) -> None:  # type: ignore[no-untyped-def]
    whole = Dataset.File.from_files(path=(store, "datasets/sample"))
    assert whole.to_path() == [
        "/file0.txt",
        "/file1.txt",
        "/file2.txt",
        "/images/a/1.png",
        "/images/a/2.png",
        "/images/b/deep/3.png",
        "/images/readme.md",
    ]
    pngs = Dataset.File.from_files((store, "datasets/sample/images/**/*.png"))
    assert pngs.to_path() == ["/a/1.png", "/a/2.png", "/b/deep/3.png"]
    one = Dataset.File.from_files(DataPath(store, "datasets/sample/file1.txt"))
    assert one.to_path() == ["/file1.txt"]
    both = Dataset.File.from_files([(store, "datasets/sample/images/a"), (store, "datasets/sample/images/b")])
    assert both.to_path() == ["/a/1.png", "/a/2.png", "/b/deep/3.png"]
    assert whole.take(2).to_path() == ["/file0.txt", "/file1.txt"]
    assert whole.skip(5).to_path() == ["/images/b/deep/3.png", "/images/readme.md"]


def test_path_matching_nothing_fails_validation(store) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DatasetValidationError, match=r"matches no files.*validate=False"):
        Dataset.File.from_files((store, "datasets/sample/**/*.jpg"))
    ds = Dataset.File.from_files((store, "datasets/nothing"), validate=False)
    with pytest.raises(DatasetValidationError):
        ds.to_path()


def test_bad_paths(store) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DatastoreException, match="escapes the datastore"):
        Dataset.File.from_files((store, "../outside"))
    with pytest.raises(DatasetException, match="register the container as a datastore"):
        Dataset.File.from_files("wasbs://c@acct.blob.core.windows.net/x")
    with pytest.raises(DatasetException, match="not a dataset path"):
        Dataset.File.from_files("/local/folder")


def test_register_versions_are_immutable_and_deduplicated(ws, store) -> None:  # type: ignore[no-untyped-def]
    v1 = Dataset.File.from_files((store, "datasets/sample")).register(ws, "sample", description="all", tags={"a": "1"})
    assert (v1.name, v1.version, v1.description, v1.tags) == ("sample", 1, "all", {"a": "1"})
    again = Dataset.File.from_files((store, "datasets/sample")).register(ws, "sample", create_new_version=True)
    assert again.version == 1 and again.id == v1.id  # same definition -> same version
    pngs = Dataset.File.from_files((store, "datasets/sample/**/*.png"))
    with pytest.raises(DatasetException, match='already a dataset registered under name "sample"'):
        pngs.register(ws, "sample")
    v2 = pngs.register(ws, "sample", create_new_version=True)
    assert v2.version == 2
    assert Dataset.get_by_name(ws, "sample").version == 2
    assert Dataset.get_by_name(ws, "sample", version=1).to_path()[0] == "/file0.txt"
    assert Dataset.get_by_id(ws, v1.id).version == 1
    assert set(Dataset.get_all(ws)) == {"sample"}
    assert '"name": "sample"' in repr(v2) and "('workspaceblobstore', 'datasets/sample/**/*.png')" in repr(v2)
    with pytest.raises(DatasetException, match="no version 7"):
        Dataset.get_by_name(ws, "sample", version=7)
    with pytest.raises(DatasetException, match=r"No dataset named 'nope'.*\['sample'\]"):
        Dataset.get_by_name(ws, "nope")
    v2.unregister_all_versions()
    assert Dataset.get_all(ws) == {}


def test_download_refuses_existing_files_unless_overwrite(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ds = Dataset.File.from_files((store, "datasets/sample/images"))
    paths = ds.download(tmp_path / "local", show_progress=False)
    assert len(paths) == 4 and (tmp_path / "local/a/1.png").is_file()
    with pytest.raises(DatasetException, match="overwrite=True"):
        ds.download(tmp_path / "local", show_progress=False)
    assert len(ds.download(tmp_path / "local", overwrite=True, show_progress=False)) == 4


def test_mount_folder_in_place_and_as_view(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ds = Dataset.File.from_files((store, "datasets/sample"))
    with ds.mount() as ctx:
        assert Path(ctx.mount_point) == Path(store.fs_root) / "datasets/sample"  # in place, no copy
    pngs = Dataset.File.from_files((store, "datasets/sample/images/**/*.png"))
    with pngs.mount(tmp_path / "mnt") as ctx:
        files = sorted(p.relative_to(ctx.mount_point).as_posix() for p in Path(ctx.mount_point).rglob("*.png"))
        assert files == ["a/1.png", "a/2.png", "b/deep/3.png"]
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("x")
    with pytest.raises(DatasetException, match="must be an empty folder"), pngs.mount(tmp_path / "busy"):
        pass


def test_as_named_input_specs(store) -> None:  # type: ignore[no-untyped-def]
    ds = Dataset.File.from_files((store, "datasets/sample"))
    cfg = ds.as_named_input("training").as_mount()
    placeholder, spec = cfg.__amlrun_input__()
    assert placeholder == "DatasetConsumptionConfig:training" and spec["mode"] == "mount"
    assert ds.as_download().__amlrun_input__()[1]["name"].startswith("input__")
    with pytest.raises(DatasetException, match='Invalid input name "1bad"'):
        ds.as_named_input("1bad")
    with pytest.raises(DatasetException, match="direct mode"):
        ds.as_named_input("x").__amlrun_input__()
    assert os.environ.get("AZUREML_DATASET_ENVIRONMENT_VARS") is None
