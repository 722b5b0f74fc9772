"""Shared fixtures: every test gets its own AMLRUN_HOME and a fresh workspace with a real sqlite MLflow store."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from jupyter_amlrun.testing.helpers import wait_for, write_tree  # noqa: F401 - tests import wait_for from here

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


@pytest.fixture
def amlrun_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "amlrun-home"
    monkeypatch.setenv("AMLRUN_HOME", str(home))
    monkeypatch.delenv("AMLRUN_RUN_ID", raising=False)
    monkeypatch.delenv("AMLRUN_WORKSPACE", raising=False)
    monkeypatch.delenv("AMLRUN_TRACKING_URI", raising=False)
    return home


@pytest.fixture(scope="session")
def mlflow_template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, fully migrated MLflow sqlite store, made once: migrating a new store costs seconds per test."""
    from jupyter_amlrun.tracking.store import TrackingStore

    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    TrackingStore(f"sqlite:///{path}").initialize()
    return path


@pytest.fixture
def ws(amlrun_home: Path, tmp_path: Path, mlflow_template_db: Path):  # type: ignore[no-untyped-def]
    import shutil

    from jupyter_amlrun import Workspace

    (tmp_path / "ws").mkdir()
    shutil.copyfile(mlflow_template_db, tmp_path / "ws" / "mlflow.db")
    return Workspace.create("test", path=tmp_path / "ws")


@pytest.fixture
def make_source(tmp_path: Path) -> Callable[..., Path]:
    """``make_source({"train.py": "..."}, name="src")`` writes a source folder (text is dedented)."""

    def make(files: dict[str, str], name: str = "src") -> Path:
        return write_tree(tmp_path / name, files)

    return make


def process_alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie waiting for its parent counts as gone)."""
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
