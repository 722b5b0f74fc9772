"""The environment cache's pieces that need no run: keys, the conda -> pip mapping, cancel of a build step, prune."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from jupyter_amlrun.core.envcache import (
    EnvironmentBuildError,
    _step,
    build_key,
    cache_root,
    conda_to_pip,
    list_cache,
    prepare_run_environment,
    prune_cache,
    wait_lock,
)
from jupyter_amlrun.core.errors import UserErrorException

pytestmark = pytest.mark.unit


def test_build_key_ignores_order_and_names_but_not_packages() -> None:
    a = build_key({"name": "a", "pip": ["x", "y"], "pip_options": ["--no-index"]})
    assert a == build_key({"name": "b", "pip": ["y", "x"], "pip_options": ["--no-index"]})
    assert a != build_key({"name": "a", "pip": ["x", "y==2"], "pip_options": ["--no-index"]})
    assert a != build_key({"name": "a", "pip": ["x", "y"]})
    assert a != build_key({"name": "a", "pip": ["x", "y"], "pip_options": ["--no-index"], "conda": ["z"]})


def test_conda_specs_map_to_pip() -> None:
    assert conda_to_pip("numpy=1.26") == "numpy==1.26"
    assert conda_to_pip("numpy=1.26=py311_0") == "numpy==1.26"
    assert conda_to_pip("conda-forge::pytorch>=2") == "torch>=2"
    assert conda_to_pip("scikit-learn") == "scikit-learn"
    assert conda_to_pip("python=3.11") is None and conda_to_pip("pip") is None


def test_a_cancel_request_stops_a_build_step(tmp_path: Path) -> None:
    started = time.monotonic()
    with open(tmp_path / "log.txt", "w") as out, pytest.raises(EnvironmentBuildError) as info:
        _step([sys.executable, "-c", "import time; time.sleep(30)"], out, lambda: "Canceled by user")
    assert info.value.status == "Canceled" and time.monotonic() - started < 25  # the step sleeps 30 s


def test_a_cancel_request_ends_the_wait_for_another_runs_build(tmp_path: Path) -> None:
    from jupyter_amlrun._util.fileio import file_lock

    lock = tmp_path / "k.build"
    asked: list[int] = []

    def cancel_on_third_poll() -> str | None:
        asked.append(1)
        return "Canceled by user" if len(asked) >= 3 else None

    # "another run" holds the build lock
    with file_lock(lock), pytest.raises(EnvironmentBuildError) as info, wait_lock(lock, cancel_on_third_poll, 0.01):
        pass
    assert info.value.status == "Canceled" and len(asked) == 3
    with wait_lock(lock, lambda: None):  # free again: taken at once
        pass


def test_fast_paths_and_a_python_version_warning(tmp_path: Path) -> None:
    lines: list[str] = []
    none = prepare_run_environment(tmp_path, tmp_path / "run", None, lines.append)
    assert none.interpreter == sys.executable and none.how == "current"
    have = prepare_run_environment(
        tmp_path, tmp_path / "run", {"name": "e", "pip": ["pytest"], "python": "3.6"}, lines.append
    )
    assert have.how == "satisfied" and "Python 3.6" in have.warnings[0]
    assert any("already has every package (pytest " in line for line in lines)
    assert not cache_root(tmp_path).exists()


def test_prune_removes_leftovers_of_a_dead_builder(tmp_path: Path) -> None:
    stale = cache_root(tmp_path) / ".builds" / "0123abcd-deadbeef"
    (stale / "bin").mkdir(parents=True)
    assert list_cache(tmp_path) == []  # a half build is never listed (nor used)
    assert prune_cache(tmp_path) == []
    assert not stale.exists()
    with pytest.raises(UserErrorException, match="older_than_days must be >= 0"):
        prune_cache(tmp_path, older_than_days=-1)
