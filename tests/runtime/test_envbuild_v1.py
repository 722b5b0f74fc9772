"""Real v1 environment specs (tests/runtime/data/v1_envs, from the public v1 notebooks repository) as run environments:
azureml-* skipped, the base interpreter's packages used, old pins under the pin policy, the base's torch kept.

Real runs and real pip. The tests that ask PyPI (pins without a build for this Python, torchvision) are skipped when
pypi.org cannot be reached; the rest use a wheelhouse made in tmp_path."""

from __future__ import annotations

import socket
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlrun import CondaDependencies, Environment, Experiment, ScriptRunConfig, Workspace
from jupyter_amlrun.runtime.envcache import BUILD_LOG, cache_root
from jupyter_amlrun.runtime.runfolder import DRIVER_LOG, RunFolder
from jupyter_amlrun.testing.helpers import make_wheel

pytestmark = pytest.mark.integration

V1_ENVS = Path(__file__).parent / "data" / "v1_envs"


def pypi_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
    except OSError:
        return False
    return True


needs_pypi = pytest.mark.skipif(not pypi_reachable(), reason="pypi.org cannot be reached from here")


def log_text(ws: Workspace, run: Any, name: str) -> str:
    path = RunFolder(ws.path, run.id).root / name
    return path.read_text() if path.exists() else ""


def submit(ws: Workspace, src: Path, env: Environment, script: str = "train.py") -> Any:
    run = Experiment(ws, "v1-envs").submit(ScriptRunConfig(source_directory=src, script=script, environment=env))
    run.wait_for_completion(raise_on_error=False)
    return run


def preparing_seconds(ws: Workspace, run: Any) -> float:
    times = dict(RunFolder(ws.path, run.id).read_state().history)
    return float(times["Starting"] - times["Preparing"])


def test_the_v1_tutorial_spec_runs_on_the_base(ws: Workspace, make_source: Any) -> None:
    src = make_source({"train.py": "import sklearn, sys\nprint('SK', sklearn.__version__, sys.executable)\n"})
    env = Environment.from_conda_specification("tutorial", str(V1_ENVS / "tutorial-1st-experiment-sdk-train.yml"))
    run = submit(ws, src, env)
    assert run.get_status() == "Completed", log_text(ws, run, DRIVER_LOG)
    build = log_text(ws, run, BUILD_LOG)
    assert "Skipping 'azureml-sdk': provided by jupyter_amlrun" in build
    assert "Skipping 'azureml-opendatasets': provided by jupyter_amlrun" in build
    assert f"Using scikit-learn {metadata.version('scikit-learn')} from the base interpreter" in build
    assert "already has every package" in log_text(ws, run, DRIVER_LOG)
    assert not cache_root(ws.path).exists()  # nothing built


@needs_pypi
def test_an_old_pin_takes_the_base_version_or_fails_when_strict(ws: Workspace, make_source: Any) -> None:
    src = make_source({"train.py": "import sklearn\nprint('SK', sklearn.__version__)\n"})
    spec = str(V1_ENVS / "mlflow-train-projects-local-conda.yaml")
    have = metadata.version("scikit-learn")
    first = submit(ws, src, Environment.from_conda_specification("mlflow-v1", spec))
    assert first.get_status() == "Completed", log_text(ws, first, DRIVER_LOG)
    assert f"SK {have}" in log_text(ws, first, "logs/user_logs/std_log.txt")
    warnings = [w["message"] for w in first.get_details().get("warnings", [])]
    assert any("'scikit-learn==0.19.1' cannot install on Python" in w and have in w for w in warnings), warnings
    build = log_text(ws, first, BUILD_LOG)
    assert (
        "--only-binary :all: 'scikit-learn==0.19.1': no wheel" in build and "Warning: 'scikit-learn==0.19.1'" in build
    )
    # Warm: the decision is cached per build key; pip is not asked again, the warning is repeated.
    second = submit(ws, src, Environment.from_conda_specification("mlflow-v1", spec))
    assert second.get_status() == "Completed"
    assert "--dry-run" not in log_text(ws, second, BUILD_LOG)
    assert any("scikit-learn==0.19.1" in w["message"] for w in second.get_details().get("warnings", []))
    print("Preparing (s): cold", preparing_seconds(ws, first), "warm", preparing_seconds(ws, second))
    strict = Environment.from_conda_specification("mlflow-v1-strict", spec)
    strict.pin_policy = "strict"
    failed = submit(ws, src, strict)
    details = failed.get_details()
    assert details["status"] == "Failed"
    message = details["error"]["error"]["message"]
    assert "'scikit-learn==0.19.1' cannot install on Python" in message and "pin policy 'nearest'" in message
    assert "Running" not in [s for s, _t in RunFolder(ws.path, failed.id).read_state().history]


def test_nearest_installs_the_closest_version_that_exists(ws: Workspace, make_source: Any, tmp_path: Path) -> None:
    wheels = tmp_path / "wheelhouse"
    make_wheel(wheels, "amlrun-tinypkg", "0.1")
    make_wheel(wheels, "amlrun-tinypkg", "0.2")
    src = make_source({"train.py": "import amlrun_tinypkg\nprint('VALUE', amlrun_tinypkg.VERSION)\n"})
    deps = CondaDependencies.create(pip_packages=["amlrun-tinypkg==0.0.5", "azureml-defaults"])
    deps.set_pip_option("--no-index")
    deps.set_pip_option(f"--find-links {wheels}")
    env = Environment("nearest")
    env.python.conda_dependencies = deps
    run = submit(ws, src, env)
    assert run.get_status() == "Completed", log_text(ws, run, BUILD_LOG)
    assert "VALUE 0.1" in log_text(ws, run, "logs/user_logs/std_log.txt")
    warnings = [w["message"] for w in run.get_details()["warnings"]]
    assert any("installing amlrun-tinypkg==0.1, the nearest version" in w for w in warnings), warnings
    strict = env.clone("nearest-strict")
    strict.pin_policy = "strict"
    failed = submit(ws, src, strict)
    assert failed.get_status() == "Failed"
    assert "'amlrun-tinypkg==0.0.5' cannot install" in failed.get_details()["error"]["error"]["message"]


@needs_pypi
def test_an_unknown_package_fails_at_preparing_naming_it(ws: Workspace, make_source: Any) -> None:
    src = make_source({"train.py": "print('never runs')\n"})
    env = Environment("unknown")
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=["azureml-sdk", "amlrun-no-such-pkg-21"])
    run = submit(ws, src, env)
    details = run.get_details()
    assert details["status"] == "Failed"
    message = details["error"]["error"]["message"]
    assert "No package found for amlrun-no-such-pkg-21" in message and "Check the pip name" in message
    assert "Running" not in [s for s, _t in RunFolder(ws.path, run.id).read_state().history]


def reachable(host: str) -> bool:
    try:
        socket.create_connection((host, 443), timeout=5).close()
    except OSError:
        return False
    return True


@needs_pypi
def test_the_pytorch_tutorial_spec_keeps_the_base_torch(ws: Workspace, make_source: Any) -> None:
    torch = metadata.version("torch")
    src = make_source(
        {"train.py": "import torch, torchvision\nprint('TORCH', torch.__version__, 'TV', torchvision.__version__)\n"}
    )
    spec = str(V1_ENVS / "pytorch-aml-env.yml")
    started = time.time()
    first = submit(ws, src, Environment.from_conda_specification("pytorch-aml-env", spec))
    cold = time.time() - started
    build = log_text(ws, first, BUILD_LOG)
    assert "Skipping 'azureml-sdk'" in build and f"Using torch {torch} from the base interpreter" in build
    assert "nvidia" not in build.lower() and "Installing collected packages: torchvision" in build  # no CUDA torch
    assert f"Keeping the base's torch=={torch.split('+')[0]}" in build
    warnings = [w["message"] for w in first.get_details().get("warnings", [])]
    assert any("asks for Python 3.6.2" in w for w in warnings), warnings
    if "+cpu" in torch and not reachable("download.pytorch.org"):
        # PyPI's torchvision is built for PyPI's CUDA torch: the build is checked and fails at Preparing, saying how.
        details = first.get_details()
        assert details["status"] == "Failed", build[-2000:]
        message = details["error"]["error"]["message"]
        assert "cannot load with the base's torch" in message and "download.pytorch.org/whl/cpu" in message
        assert "Running" not in [s for s, _t in RunFolder(ws.path, first.id).read_state().history]
        assert Environment.list_cache(ws) == []
        print(f"pytorch-aml-env (no CPU index here): Failed at Preparing after {cold:.1f} s")
        return
    assert first.get_status() == "Completed", build[-3000:]
    assert f"TORCH {torch}" in log_text(ws, first, "logs/user_logs/std_log.txt")
    started = time.time()
    second = submit(ws, src, Environment.from_conda_specification("pytorch-aml-env", spec))
    warm = time.time() - started
    assert second.get_status() == "Completed"
    assert f"TORCH {torch}" in log_text(ws, second, "logs/user_logs/std_log.txt")
    print(
        f"pytorch-aml-env: cold run {cold:.1f} s (Preparing {preparing_seconds(ws, first):.1f} s), warm run "
        f"{warm:.1f} s (Preparing {preparing_seconds(ws, second):.1f} s)"
    )
