"""Environments that are real: cached virtualenvs built during Preparing with real pip installs (offline, from a
wheel made in tmp_path), reuse, one build for concurrent runs, failures at Preparing, the fast paths, Docker refusal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jupyter_amlrun import (
    CondaDependencies,
    DockerConfiguration,
    Environment,
    Experiment,
    ScriptRunConfig,
    Workspace,
)
from jupyter_amlrun.runtime.envcache import BUILD_LOG, cache_root
from jupyter_amlrun.runtime.errors import UserErrorException
from jupyter_amlrun.runtime.runfolder import DRIVER_LOG, RunFolder
from jupyter_amlrun.testing.helpers import make_wheel, wait_for

pytestmark = pytest.mark.integration

SCRIPT = "import sys, amlrun_tinypkg\nprint('VALUE', amlrun_tinypkg.VERSION, 'PY', sys.executable)\n"


@pytest.fixture
def wheelhouse(tmp_path: Path) -> Path:
    folder = tmp_path / "wheelhouse"
    make_wheel(folder, "amlrun-tinypkg", "0.1")
    make_wheel(folder, "amlrun-tinypkg", "0.2")
    return folder


def offline_env(
    name: str, wheelhouse: Path, pip: list[str] | None = None, conda: list[str] | None = None
) -> Environment:
    env = Environment(name)
    deps = CondaDependencies.create(pip_packages=pip, conda_packages=conda)
    deps.set_pip_option("--no-index")
    deps.set_pip_option(f"--find-links {wheelhouse}")
    env.python.conda_dependencies = deps
    return env


def log_text(ws: Workspace, run: Any, name: str) -> str:
    path = RunFolder(ws.path, run.id).root / name
    return path.read_text() if path.exists() else ""


def preparing_seconds(ws: Workspace, run: Any) -> float:
    history = RunFolder(ws.path, run.id).read_state().history
    times = {status: t for status, t in history}
    return float(times["Starting"] - times["Preparing"])


def test_first_run_builds_second_reuses(ws: Workspace, make_source: Any, wheelhouse: Path) -> None:
    src = make_source({"train.py": SCRIPT})
    env = offline_env("tiny-env", wheelhouse, pip=["amlrun-tinypkg==0.1"]).register(ws)
    exp = Experiment(ws, "envs")
    first = exp.submit(ScriptRunConfig(source_directory=src, script="train.py", environment=env))
    assert first.wait_for_completion(raise_on_error=False)["status"] == "Completed", log_text(ws, first, DRIVER_LOG)
    out = log_text(ws, first, "logs/user_logs/std_log.txt")
    assert "VALUE 0.1" in out and str(cache_root(ws.path)) in out  # the script ran on the venv's interpreter
    build = log_text(ws, first, BUILD_LOG)
    assert "Successfully installed amlrun-tinypkg-0.1" in build
    assert BUILD_LOG in first.get_log_files()
    # The base interpreter's packages stay visible: no re-install of what is already there.
    import_check = make_source({"train.py": "import amlrun_tinypkg, numpy, mlflow\nprint('BASE OK')\n"}, name="s2")
    second = exp.submit(
        ScriptRunConfig(source_directory=import_check, script="train.py", environment=Environment.get(ws, "tiny-env"))
    )
    assert second.wait_for_completion(raise_on_error=False)["status"] == "Completed", log_text(ws, second, DRIVER_LOG)
    assert "BASE OK" in log_text(ws, second, "logs/user_logs/std_log.txt")
    reuse = log_text(ws, second, BUILD_LOG)
    assert "Reusing cached environment" in reuse and "pip install" not in reuse.replace("no pip install needed", "")
    assert "Reusing cached environment" in log_text(ws, second, DRIVER_LOG)
    print("Preparing: first", preparing_seconds(ws, first), "second", preparing_seconds(ws, second))
    assert preparing_seconds(ws, second) < preparing_seconds(ws, first)
    cached = Environment.list_cache(ws)
    assert [(c["name"], c["pip"]) for c in cached] == [("tiny-env", ["amlrun-tinypkg==0.1"])]
    # A driver holds its environment until it exits (a moment after the run ends); prune keeps one in use.
    assert wait_for(lambda: not Environment.list_cache(ws)[0]["in_use"], timeout=30)
    assert Environment.prune_cache(ws) == [cached[0]["key"]]
    assert Environment.list_cache(ws) == []


def test_concurrent_runs_of_a_new_environment_build_once(ws: Workspace, make_source: Any, wheelhouse: Path) -> None:
    src = make_source({"train.py": SCRIPT})
    env = offline_env("tiny-conc", wheelhouse, pip=["amlrun-tinypkg==0.2"])
    exp = Experiment(ws, "envs-concurrent")
    runs = [exp.submit(ScriptRunConfig(source_directory=src, script="train.py", environment=env)) for _ in range(3)]
    for run in runs:
        assert run.wait_for_completion(raise_on_error=False)["status"] == "Completed", log_text(ws, run, DRIVER_LOG)
        assert "VALUE 0.2" in log_text(ws, run, "logs/user_logs/std_log.txt")
    logs = [log_text(ws, run, BUILD_LOG) for run in runs]
    assert sum("Successfully installed" in text for text in logs) == 1
    assert sum("Reusing cached environment" in text for text in logs) == 2
    assert len(list((cache_root(ws.path) / ".builds").iterdir())) == 1


def test_unknown_package_fails_at_preparing(ws: Workspace, make_source: Any, wheelhouse: Path) -> None:
    src = make_source({"train.py": "print('never runs')\n"})
    env = offline_env("broken-env", wheelhouse, pip=["amlrun-no-such-package==1.0"])
    run = Experiment(ws, "envs-bad").submit(ScriptRunConfig(source_directory=src, script="train.py", environment=env))
    details = run.wait_for_completion(raise_on_error=False)
    assert details["status"] == "Failed"
    message = details["error"]["error"]["message"]
    assert "Building the environment 'broken-env' failed" in message
    assert "No matching distribution found for amlrun-no-such-package" in message
    assert "No matching distribution found" in log_text(ws, run, BUILD_LOG)
    statuses = [s for s, _t in RunFolder(ws.path, run.id).read_state().history]
    assert "Preparing" in statuses and "Running" not in statuses
    assert Environment.list_cache(ws) == []  # no half environment left
    builds = cache_root(ws.path) / ".builds"
    assert not builds.exists() or list(builds.iterdir()) == []


def test_conda_packages_fall_back_to_pip(ws: Workspace, make_source: Any, wheelhouse: Path) -> None:
    src = make_source({"train.py": SCRIPT})
    env = offline_env("conda-env", wheelhouse, conda=["amlrun-tinypkg=0.1"])
    run = Experiment(ws, "envs-conda").submit(ScriptRunConfig(source_directory=src, script="train.py", environment=env))
    assert run.wait_for_completion(raise_on_error=False)["status"] == "Completed", log_text(ws, run, BUILD_LOG)
    assert "installing them with pip instead" in log_text(ws, run, BUILD_LOG)
    missing = offline_env("conda-missing", wheelhouse, conda=["amlrun-conda-only=2.0"])
    bad = Experiment(ws, "envs-conda").submit(
        ScriptRunConfig(source_directory=src, script="train.py", environment=missing)
    )
    message = bad.wait_for_completion(raise_on_error=False)["error"]["error"]["message"]
    assert "No pip package exists for the conda package(s) ['amlrun-conda-only=2.0']" in message


def test_fast_paths_build_nothing(ws: Workspace, make_source: Any) -> None:
    src = make_source({"train.py": "import sys\nprint('PY', sys.executable)\n"})
    exp = Experiment(ws, "envs-fast")
    plain = exp.submit(ScriptRunConfig(source_directory=src, script="train.py", environment=Environment("plain")))
    have = Environment("have-numpy")
    have.python.conda_dependencies = CondaDependencies.create(pip_packages=["numpy>=1", "mlflow-skinny"])
    satisfied = exp.submit(ScriptRunConfig(source_directory=src, script="train.py", environment=have))
    managed = Environment("mine")
    managed.python.user_managed_dependencies = True
    managed.python.conda_dependencies = CondaDependencies.create(pip_packages=["not-installed-anywhere"])
    user = exp.submit(ScriptRunConfig(source_directory=src, script="train.py", environment=managed))
    expected = {
        plain.id: "lists no packages",
        satisfied.id: "already has every package (numpy ",
        user.id: "user_managed_dependencies=True",
    }
    for run in (plain, satisfied, user):
        assert run.wait_for_completion(raise_on_error=False)["status"] == "Completed"
        assert expected[run.id] in log_text(ws, run, DRIVER_LOG)
    assert not cache_root(ws.path).exists()


def test_docker_is_refused_without_an_engine(ws: Workspace, make_source: Any) -> None:
    from jupyter_amlrun.runtime.submitchecks import docker_engine

    if docker_engine():
        pytest.skip("a container engine answers here")
    src = make_source({"train.py": "print(1)\n"})
    exp = Experiment(ws, "docker")
    env = Environment("dock")
    env.docker.base_image = "python:3.11-slim"
    env.docker.enabled = True
    configs = [
        ScriptRunConfig(source_directory=src, script="train.py", docker_runtime_config=DockerConfiguration(True)),
        ScriptRunConfig(source_directory=src, script="train.py", environment=env),
    ]
    rc_docker = ScriptRunConfig(source_directory=src, script="train.py")
    rc_docker.run_config.docker.enabled = True
    configs.append(rc_docker)
    for config in configs:
        with pytest.raises(UserErrorException, match="asks for Docker .* no Docker or Podman engine answers"):
            exp.submit(config)
    assert list(exp.get_runs()) == []
    assert not (ws.path / "runs").exists() or not any((ws.path / "runs").iterdir())


def test_use_gpu_without_a_gpu_warns(ws: Workspace, make_source: Any) -> None:
    from jupyter_amlrun import PyTorch
    from jupyter_amlrun.runtime.envcache import gpu_visible

    if gpu_visible():
        pytest.skip("a GPU is visible here")
    src = make_source({"train.py": "print('cpu')\n"})
    est = PyTorch(str(src), entry_script="train.py", use_gpu=True)
    run = Experiment(ws, "gpu").submit(est)
    details = run.wait_for_completion(raise_on_error=False)
    assert details["status"] == "Completed"
    assert any("no GPU is visible" in w["message"] for w in details["warnings"])
    assert "Warning: use_gpu=True but no GPU is visible" in log_text(ws, run, DRIVER_LOG)
