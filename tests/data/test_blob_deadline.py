"""Issue 25: a hung blob endpoint fails an operation within its total deadline, saying so while it waits.

A real Azurite, frozen with SIGSTOP (it keeps accepting connections in the kernel's backlog and never answers: what
a hung endpoint looks like). The deadline is shortened through its setting, ``AMLRUN_DATASTORE_TIMEOUT``.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from jupyter_amlrun.data import _blob
from jupyter_amlrun.data.errors import DatastoreConnectionError
from tests.data.azurite import Azurite

pytestmark = pytest.mark.integration


@contextlib.contextmanager
def frozen(server: Azurite) -> Iterator[None]:
    root = psutil.Process(server.proc.pid)
    procs = [root, *root.children(recursive=True)]
    for p in procs:
        p.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        for p in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.send_signal(signal.SIGCONT)


def test_a_hung_endpoint_fails_the_upload_within_the_deadline_with_a_line_while_it_waits(
    blob_store: Any,
    azurite: Azurite,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    local = tmp_path / "a.txt"
    local.write_text("hello")
    blob_store.put_file(local, "before.txt")  # the endpoint answers (and the client's connection is made)
    monkeypatch.setenv(_blob.DEADLINE_ENV, "4")
    monkeypatch.setattr(_blob, "NOTICE_SECONDS", 1.0)
    outcome: dict[str, BaseException | None] = {}

    def upload() -> None:
        try:
            blob_store.put_file(local, "during.txt")
            outcome["error"] = None
        except BaseException as exc:
            outcome["error"] = exc

    with frozen(azurite):
        worker = threading.Thread(target=upload, daemon=True)
        worker.start()
        worker.join(60)  # a bound for the test itself; before the deadline the SDK waited 120 s per read and retry
        assert not worker.is_alive(), "the upload to a hung endpoint was still waiting after 60 s"
    error = outcome["error"]
    assert isinstance(error, DatastoreConnectionError), repr(error)
    assert "gave no answer in 4 s while uploading 'during.txt'" in str(error)
    assert "AMLRUN_DATASTORE_TIMEOUT" in str(error)
    assert "still uploading 'during.txt'" in capfd.readouterr().err
    assert local.read_text() == "hello"  # the local file is kept
    blob_store.put_file(local, "after.txt")  # the endpoint is back: the datastore works again
    assert blob_store.stat("after.txt") is not None
