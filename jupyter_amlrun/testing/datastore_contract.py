"""The datastore contract suite (the fsspec pattern).

A backend's test module subclasses :class:`DatastoreContract` (as ``TestMyStore``) and provides the ``store`` fixture:
a registered, empty datastore of its kind. Class names here do not start with ``Test``, so pytest collects them only
there. Needs pytest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jupyter_amlrun.data import DataReference, DatastoreException
from jupyter_amlrun.testing.helpers import sample_tree

SAMPLE_FILES = {
    "file0.txt",
    "file1.txt",
    "file2.txt",
    "images/a/1.png",
    "images/a/2.png",
    "images/b/deep/3.png",
    "images/readme.md",
}


def tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


class _SampleTree:
    @pytest.fixture
    def sample_dir(self, tmp_path: Path) -> Path:
        """A small tree: 3 top-level text files, images in nested folders."""
        return sample_tree(tmp_path / "sample")


class UploadContract(_SampleTree):
    def test_upload_folder_keeps_tree(self, store: Any, sample_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
        ref = store.upload(sample_dir, target_path="datasets/s", overwrite=True, show_progress=False)
        assert isinstance(ref, DataReference)
        assert ref.path_on_datastore == "datasets/s"
        assert {e.path for e in store.list_files("datasets/s")} == {f"datasets/s/{f}" for f in SAMPLE_FILES}
        out = capsys.readouterr().out
        assert "Uploading an estimated of 7 files" in out and "Uploaded 7 files" in out

    def test_upload_without_overwrite_skips_and_says_so(
        self, store: Any, sample_dir: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        store.upload(sample_dir, "s", show_progress=False)
        (sample_dir / "file0.txt").write_text("changed")
        capsys.readouterr()
        store.upload(sample_dir, "s", overwrite=False, show_progress=False)
        out = capsys.readouterr().out
        assert "Target already exists. Skipping upload for s/file0.txt" in out
        assert "Uploaded 0 files" in out
        dl = store.download(sample_dir.parent / "dl", prefix="s/file0.txt", show_progress=False)
        assert dl == 1 and (sample_dir.parent / "dl" / "s" / "file0.txt").read_text() == "content 0\n"

    def test_upload_overwrite_replaces(self, store: Any, sample_dir: Path, tmp_path: Path) -> None:
        store.upload(sample_dir, "s", show_progress=False)
        (sample_dir / "file0.txt").write_text("changed")
        store.upload(sample_dir, "s", overwrite=True, show_progress=False)
        store.download(tmp_path / "dl", prefix="s/file0.txt", show_progress=False)
        assert (tmp_path / "dl" / "s" / "file0.txt").read_text() == "changed"

    def test_upload_files_relative_root(self, store: Any, sample_dir: Path) -> None:
        files = [sample_dir / "images/a/1.png", sample_dir / "images/b/deep/3.png"]
        store.upload_files(files, relative_root=sample_dir / "images", target_path="imgs", show_progress=False)
        assert {e.path for e in store.list_files("imgs")} == {"imgs/a/1.png", "imgs/b/deep/3.png"}

    def test_upload_files_outside_root_is_refused(self, store: Any, sample_dir: Path, tmp_path: Path) -> None:
        with pytest.raises(DatastoreException, match="not under relative_root"):
            store.upload_files([sample_dir / "file0.txt"], relative_root=sample_dir / "images", show_progress=False)

    def test_missing_src_dir(self, store: Any, tmp_path: Path) -> None:
        with pytest.raises(DatastoreException, match="is not a folder"):
            store.upload(tmp_path / "nope", "x", show_progress=False)

    @pytest.mark.parametrize("bad", ["../x", "a/../../x", ".."])
    def test_escaping_target_path(self, store: Any, sample_dir: Path, bad: str) -> None:
        with pytest.raises(DatastoreException, match="escapes the datastore"):
            store.upload(sample_dir, bad, show_progress=False)
        with pytest.raises(DatastoreException, match="escapes the datastore"):
            store.download(sample_dir.parent / "dl", prefix=bad, show_progress=False)


class DownloadContract(_SampleTree):
    def test_download_prefix_keeps_paths_and_counts(self, store: Any, sample_dir: Path, tmp_path: Path) -> None:
        store.upload(sample_dir, "s", show_progress=False)
        n = store.download(tmp_path / "dl", prefix="s/images", show_progress=False)
        assert n == 4
        assert tree(tmp_path / "dl") == {f"s/{f}" for f in SAMPLE_FILES if f.startswith("images/")}
        assert (tmp_path / "dl/s/images/a/1.png").read_bytes() == (sample_dir / "images/a/1.png").read_bytes()

    def test_download_skips_existing_unless_overwrite(self, store: Any, sample_dir: Path, tmp_path: Path) -> None:
        store.upload(sample_dir, "s", show_progress=False)
        assert store.download(tmp_path / "dl", prefix="s", show_progress=False) == 7
        (tmp_path / "dl/s/file1.txt").write_text("local edit")
        assert store.download(tmp_path / "dl", prefix="s", show_progress=False) == 0
        assert (tmp_path / "dl/s/file1.txt").read_text() == "local edit"
        assert store.download(tmp_path / "dl", prefix="s", overwrite=True, show_progress=False) == 7
        assert (tmp_path / "dl/s/file1.txt").read_text() == "content 1\n"

    def test_prefix_does_not_match_sibling_names(self, store: Any, sample_dir: Path, tmp_path: Path) -> None:
        store.upload(sample_dir, "data", show_progress=False)
        store.upload(sample_dir, "data-old", show_progress=False)
        assert store.download(tmp_path / "dl", prefix="data", show_progress=False) == 7

    def test_big_file_roundtrip(self, store: Any, tmp_path: Path) -> None:
        src = tmp_path / "big"
        src.mkdir()
        payload = bytes(range(256)) * (40 * 1024 * 4)  # 40 MiB: crosses the block-transfer threshold
        (src / "blob.bin").write_bytes(payload)
        store.upload(src, "big", show_progress=False)
        store.download(tmp_path / "dl", prefix="big", show_progress=False)
        assert (tmp_path / "dl/big/blob.bin").read_bytes() == payload


class ListingContract(_SampleTree):
    def test_ls_folders_then_files(self, store: Any, sample_dir: Path) -> None:
        store.upload(sample_dir, "s", show_progress=False)
        top = store.ls("s")
        assert [(e["name"], e["type"]) for e in top] == [
            ("images", "directory"),
            ("file0.txt", "file"),
            ("file1.txt", "file"),
            ("file2.txt", "file"),
        ]
        assert top[0]["path"] == "s/images" and top[1]["size"] == len("content 0\n")
        assert {e["name"] for e in store.ls("s/images")} == {"a", "b", "readme.md"}

    def test_stat_and_remove(self, store: Any, sample_dir: Path) -> None:
        store.upload(sample_dir, "s", show_progress=False)
        entry = store.stat("s/file0.txt")
        assert entry is not None and entry.size == len("content 0\n") and entry.fingerprint
        assert store.stat("s/none.txt") is None
        store.remove("s/file0.txt")
        assert store.stat("s/file0.txt") is None

    def test_fingerprint_changes_with_content(self, store: Any, sample_dir: Path) -> None:
        store.upload(sample_dir, "s", show_progress=False)
        before = store.stat("s/file0.txt")
        (sample_dir / "file0.txt").write_text("new content, other size")
        store.upload(sample_dir, "s", overwrite=True, show_progress=False)
        after = store.stat("s/file0.txt")
        assert before is not None and after is not None and before.fingerprint != after.fingerprint

    def test_references(self, store: Any) -> None:
        ref = store.path("datasets/x").as_download(path_on_compute="data")
        assert str(ref).startswith("$AZUREML_DATAREFERENCE_") and ref.mode == "download"
        root = store.as_mount()
        assert str(root) == f"$AZUREML_DATAREFERENCE_{store.name}"
        placeholder, spec = ref.__amlrun_input__()
        assert placeholder == str(ref) and spec["datastore"] == store.name and spec["path_on_datastore"] == "datasets/x"


class DatastoreContract(UploadContract, DownloadContract, ListingContract):
    """Everything a datastore backend must pass."""
