"""A real IPython shell with the extension loaded, bound to a workspace."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def _ipython() -> Any:
    from IPython.testing.globalipapp import start_ipython

    ip = start_ipython()
    ip.run_line_magic("load_ext", "jupyter_amlrun")
    return ip


def _cleanup(ip: Any) -> None:
    from jupyter_amlrun.notebook import widget

    for w in list(widget._live):
        w.stop()
        widget._live.discard(w)
    for name in ("ws", "run", "r2", "ws2", "notws"):
        ip.user_ns.pop(name, None)


@pytest.fixture
def shell(_ipython: Any, ws: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The shell with a fresh ``ws`` bound and the working folder in ``tmp_path`` (where %%submit writes)."""
    monkeypatch.chdir(tmp_path)
    _ipython.user_ns["ws"] = ws
    yield _ipython
    _cleanup(_ipython)


@pytest.fixture(scope="module")
def _module_ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    # One workspace for a module of tests that start no run (creating an MLflow store costs seconds).
    base = tmp_path_factory.mktemp("module-ws")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AMLRUN_HOME", str(base / "home"))
        for key in ("AMLRUN_RUN_ID", "AMLRUN_WORKSPACE", "AMLRUN_TRACKING_URI"):
            mp.delenv(key, raising=False)
        from jupyter_amlrun import Workspace

        yield Workspace.create("shared", path=base / "ws")


@pytest.fixture
def quick_shell(_ipython: Any, _module_ws: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Like ``shell`` but over a workspace shared by the module: for tests that submit nothing."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AMLRUN_HOME", os.fspath(_module_ws.path.parent / "home"))
    _ipython.user_ns["ws"] = _module_ws
    yield _ipython
    _cleanup(_ipython)
