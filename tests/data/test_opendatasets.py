"""MNIST from a local HTTP server serving generated IDX files (the tests never reach the internet)."""

from __future__ import annotations

import functools
import gzip
import http.server
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_amlrun.data import DatasetException
from jupyter_amlrun.data.opendatasets import MNIST_FILES, check_idx_gz
from jupyter_amlrun.opendatasets import MNIST
from tests.data.azurite import free_port

pytestmark = pytest.mark.unit


def write_idx(folder: Path) -> None:
    """Tiny but valid IDX files: 3 train and 2 test 28x28 images with labels."""
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", 3), ("t10k", 2)):
        images = struct.pack(">IIII", 2051, n, 28, 28) + bytes(range(256)) * 3 * n + bytes(784 * n - 768 * n)
        labels = struct.pack(">II", 2049, n) + bytes(range(n))
        (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(images))
        (folder / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(labels))


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "mirror"
    write_idx(root / "mnist")
    (root / "broken").mkdir()
    for name in ("train-images-idx3-ubyte.gz",):
        (root / "broken" / name).write_text("<html>not found</html>")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_mnist_downloads_once_into_the_default_datastore(ws, mirror: str, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AMLRUN_MNIST_URL", mirror + "mnist/")
    ds = MNIST.get_file_dataset(workspace=ws)
    assert ds.to_path() == [
        "/t10k-images-idx3-ubyte.gz",
        "/t10k-labels-idx1-ubyte.gz",
        "/train-images-idx3-ubyte.gz",
        "/train-labels-idx1-ubyte.gz",
    ]
    files = ds.download(tmp_path / "mnist", show_progress=False)
    with gzip.open(Path(files[3]), "rb") as fh:
        assert struct.unpack(">II", fh.read(8)) == (2049, 3)
    monkeypatch.setenv("AMLRUN_MNIST_URL", mirror + "gone/")  # already local: no request is made
    assert len(MNIST.get_file_dataset(workspace=ws).to_path()) == 4


def test_mnist_rejects_a_source_that_serves_something_else(ws, mirror: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DatasetException, match="not a gzip file|not an MNIST"):
        MNIST.get_file_dataset(workspace=ws, base_url=mirror + "broken/")


def test_mnist_without_network_says_so(ws) -> None:  # type: ignore[no-untyped-def]
    dead = f"http://127.0.0.1:{free_port()}/mnist/"
    with pytest.raises(
        DatasetException, match=r"No network: none of the MNIST sources could be reached.*AMLRUN_MNIST_URL"
    ):
        MNIST.get_file_dataset(workspace=ws, base_url=dead, timeout=5, standin=False)


def test_mnist_offline_stand_in_is_said_and_kept_apart(ws, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    dead = f"http://127.0.0.1:{free_port()}/mnist/"
    ds = MNIST.get_file_dataset(workspace=ws, base_url=dead, timeout=5)
    out = capsys.readouterr().out
    assert "No network" in out and "SYNTHETIC stand-in" in out and "AMLRUN_MNIST_URL" in out
    files = ds.download(tmp_path / "standin", show_progress=False)
    assert sorted(Path(f).name for f in files) == sorted(MNIST_FILES)
    for f in files:
        check_idx_gz(Path(f))  # the real loader's format check accepts it
    with gzip.open(tmp_path / "standin" / "train-labels-idx1-ubyte.gz", "rb") as fh:
        assert struct.unpack(">II", fh.read(8)) == (2049, 100)
    store = ws.get_default_datastore()
    assert store.list_files("opendatasets/mnist") == []  # the real location stays empty: online, it downloads
