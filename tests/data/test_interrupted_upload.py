"""An upload killed half-way (SIGKILL, a real process) completes when run again with overwrite=False."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from jupyter_amlrun import Datastore
from tests.conftest import wait_for

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("backend", ["folder", "blob"])
def test_interrupted_upload_rerun_completes(ws, blob_store, tmp_path: Path, backend: str) -> None:  # type: ignore[no-untyped-def]
    store = blob_store if backend == "blob" else ws.get_default_datastore()
    src = tmp_path / "src"
    src.mkdir()
    big = os.urandom(48 * 1024 * 1024)
    (src / "big.bin").write_bytes(big)
    for i in range(150):
        (src / f"small{i:03d}.txt").write_text(f"small {i}\n" * 50)
    code = textwrap.dedent(f"""
        from jupyter_amlrun import Workspace, Datastore
        Datastore.get(Workspace(path={str(ws.path)!r}), {store.name!r}).upload({str(src)!r}, "up", show_progress=False)
    """)
    env = {**os.environ, "AMLRUN_TRANSFER_WORKERS": "2"}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=Path(__file__).parents[2])
    try:
        assert wait_for(lambda: len(store.list_files("up")) >= 3 or proc.poll() is not None, timeout=60)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    fresh = Datastore.get(ws, store.name)
    fresh.upload(src, "up", overwrite=False, show_progress=False)
    entries = {e.path: e.size for e in fresh.list_files("up")}
    assert len(entries) == 151 and entries["up/big.bin"] == len(big)
    fresh.download(tmp_path / "back", prefix="up/big.bin", show_progress=False)
    assert hashlib.sha256((tmp_path / "back/up/big.bin").read_bytes()).digest() == hashlib.sha256(big).digest()
