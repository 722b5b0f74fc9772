"""Shared fixtures: every test gets its own AMLRUN_HOME and a fresh workspace with a real sqlite MLflow store."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from jupyter_amlrun.testing.helpers import wait_for, write_tree  # noqa: F401 - tests import wait_for from here

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

# The files that take minutes (measured, `--durations`), longest first. `make test` hands whole files to two workers
# in collection order (`--dist loadfile --no-loadscope-reorder`): these start first and the short unit files fill
# the end, instead of one long file running alone on one worker while the other is done.
LONG_FILES = (
    "tests/compute/test_ray.py",
    "tests/train/test_hyperdrive.py",
    "tests/compute/test_distributed.py",
    "tests/core/test_run.py",
    "tests/test_notebooks_core.py",
    "tests/runtime/test_envbuild.py",
    "tests/compute/test_liveness.py",
    "tests/compute/test_container.py",
    "tests/compute/test_slurm.py",
    "tests/tracking/test_runendpoint.py",
    "tests/runtime/test_envbuild_v1.py",
    "tests/notebook/test_origin.py",
    "tests/compute/test_sysmetrics.py",
    "tests/compute/test_watchdog.py",
    "tests/runtime/test_lifecycle.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Order files: the long ones, then the others, then the files whose every test is marked ``unit``; a file's
    tests stay together and in their order (module-scoped fixtures are made once)."""
    rank: dict[str, tuple[int, int]] = {}
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        if path not in rank:
            rank[path] = (LONG_FILES.index(path) if path in LONG_FILES else len(LONG_FILES) + 1, len(rank))
        if item.get_closest_marker("unit") is None:
            rank[path] = (min(rank[path][0], len(LONG_FILES)), rank[path][1])
    items.sort(key=lambda item: rank[item.nodeid.split("::", 1)[0]])


@pytest.fixture
def amlrun_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "amlrun-home"
    monkeypatch.setenv("AMLRUN_HOME", str(home))
    monkeypatch.delenv("AMLRUN_RUN_ID", raising=False)
    monkeypatch.delenv("AMLRUN_WORKSPACE", raising=False)
    monkeypatch.delenv("AMLRUN_TRACKING_URI", raising=False)
    return home


@pytest.fixture(scope="session", autouse=True)
def mlflow_template_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An empty, fully migrated MLflow sqlite store, made once per worker: migrating a new store costs a second or
    more (tens of seconds on a loaded CI disk). Every new sqlite store copies it (``$AMLRUN_STORE_TEMPLATE``),
    in this process and in every process the tests start: kernels, servers, run drivers."""
    from jupyter_amlrun.tracking.store import STORE_TEMPLATE_ENV, TrackingStore

    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(STORE_TEMPLATE_ENV, raising=False)
        TrackingStore(f"sqlite:///{path}").initialize()
        mp.setenv(STORE_TEMPLATE_ENV, str(path))
        yield path


@pytest.fixture
def ws(amlrun_home: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    from jupyter_amlrun import Workspace

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
