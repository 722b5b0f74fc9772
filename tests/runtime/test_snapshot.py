"""Snapshots: content-addressed, ignore files, v1 limits with a useful message, 0 bytes for an unchanged folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_amlrun.runtime.errors import SnapshotException
from jupyter_amlrun.runtime.snapshot import SNAPSHOT_MAX_FILES, SnapshotStore

pytestmark = pytest.mark.unit


def _tree(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data if isinstance(data, bytes) else data.encode())
    return root


def test_unchanged_folder_adds_zero_bytes(tmp_path: Path) -> None:
    src = _tree(tmp_path / "src", {"train.py": "print(1)", "lib/util.py": "x = 1", "data.bin": b"\0" * 5000})
    store = SnapshotStore(tmp_path / "ws")
    first = store.take(src)
    assert first.bytes_added == 5000 + len("print(1)") + len("x = 1")
    second = store.take(src)
    assert second.id == first.id
    assert second.bytes_added == 0 and second.files_added == 0
    (src / "train.py").write_text("print(2)")
    third = store.take(src)
    assert third.id != first.id
    assert third.bytes_added == len("print(2)") and third.files_added == 1


def test_identical_content_stored_once(tmp_path: Path) -> None:
    src = _tree(tmp_path / "src", {"a.txt": "same", "b/c.txt": "same"})
    store = SnapshotStore(tmp_path / "ws")
    snap = store.take(src)
    assert snap.files_added == 1
    assert snap.files["a.txt"]["sha256"] == snap.files["b/c.txt"]["sha256"]


def test_restore_round_trip(tmp_path: Path) -> None:
    src = _tree(tmp_path / "src", {"train.py": "print(1)", "pkg/mod.py": "y = 2"})
    (src / "run.sh").write_text("#!/bin/sh\n")
    (src / "run.sh").chmod(0o755)
    store = SnapshotStore(tmp_path / "ws")
    snap = store.take(src)
    out = tmp_path / "out"
    assert store.restore(snap.id, out) == 3
    assert (out / "pkg/mod.py").read_text() == "y = 2"
    assert (out / "run.sh").stat().st_mode & 0o111


def test_amlignore_wins_over_gitignore_and_prunes_folders(tmp_path: Path) -> None:
    src = _tree(
        tmp_path / "src",
        {"train.py": "", "data/big.bin": "x", "logs/a.txt": "x", "notes.md": "x", ".git/HEAD": "ref", "c.ckpt": "x"},
    )
    (src / ".gitignore").write_text("notes.md\n")
    (src / ".amlignore").write_text("data/\n*.ckpt\n")
    files = SnapshotStore(tmp_path / "ws").take(src).files
    assert "notes.md" in files  # .gitignore is not read when .amlignore exists
    assert "data/big.bin" not in files and "c.ckpt" not in files
    assert ".git/HEAD" not in files
    (src / ".amlignore").unlink()
    files = SnapshotStore(tmp_path / "ws").take(src).files
    assert "notes.md" not in files and "data/big.bin" in files


def test_too_many_files_message_names_the_folder(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "images").mkdir(parents=True)
    for i in range(SNAPSHOT_MAX_FILES + 1):
        (src / "images" / f"{i}.png").write_bytes(b"p")
    (src / "train.py").write_text("")
    with pytest.raises(SnapshotException) as info:
        SnapshotStore(tmp_path / "ws").take(src)
    msg = str(info.value)
    assert "exceeds the file limit of 2000" in msg
    assert "images/  (2001 files)" in msg
    assert ".amlignore" in msg
    assert not (tmp_path / "ws" / "snapshots" / "objects").exists()  # nothing stored


def test_too_big_message_names_the_biggest_file(tmp_path: Path) -> None:
    src = _tree(tmp_path / "src", {"train.py": ""})
    with open(src / "weights.ckpt", "wb") as fh:  # sparse: costs no disk
        fh.truncate(301 * 1024 * 1024)
    with pytest.raises(SnapshotException) as info:
        SnapshotStore(tmp_path / "ws").take(src)
    msg = str(info.value)
    assert "exceeds the limit of 300.0 MB" in msg
    assert "weights.ckpt  (301.0 MB)" in msg


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(SnapshotException, match="does not exist"):
        SnapshotStore(tmp_path / "ws").take(tmp_path / "nope")
