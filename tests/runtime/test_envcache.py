"""The environment cache's pieces that need no run: keys, the conda -> pip mapping, cancel of a build step, prune."""

from __future__ import annotations

import json
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlrun.runtime.envcache import (
    EnvironmentBuildError,
    _nearest,
    _step,
    build_key,
    cache_root,
    conda_to_pip,
    list_cache,
    plan_requirements,
    prepare_run_environment,
    provided_by_amlrun,
    prune_cache,
    wait_lock,
)
from jupyter_amlrun.runtime.errors import UserErrorException

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


# ------------------------------------------------------------------------------------------------ real v1 specs
V1_ENVS = Path(__file__).parent / "data" / "v1_envs"


def v1_definition(file: str) -> dict[str, Any]:
    from jupyter_amlrun import Environment

    return Environment.from_conda_specification("v1", str(V1_ENVS / file))._build_definition()


def test_a_v1_tutorial_spec_needs_no_install() -> None:
    d = v1_definition("tutorial-1st-experiment-sdk-train.yml")
    plan = plan_requirements(d["pip"], d["conda"])
    assert plan.install == [] and plan.constraints == []
    assert "Skipping 'azureml-sdk': provided by jupyter_amlrun" in plan.notes
    assert "Skipping 'azureml-opendatasets': provided by jupyter_amlrun" in plan.notes
    assert any(n.startswith("Using scikit-learn ") for n in plan.notes)


def test_a_v1_mlflow_spec_keeps_only_the_old_pin() -> None:
    d = v1_definition("mlflow-train-projects-local-conda.yaml")
    plan = plan_requirements(d["pip"], d["conda"])
    assert plan.install == ["scikit-learn==0.19.1"]  # conda's '=0.19.1' in pip's words; the base has another
    assert plan.from_conda == {"scikit-learn==0.19.1": "scikit-learn=0.19.1"}
    assert any("azureml-mlflow" in n and "brings mlflow" in n for n in plan.notes)
    assert any(n.startswith("Using numpy ") for n in plan.notes) and any(
        n.startswith("Using mlflow ") for n in plan.notes
    )


def test_the_pytorch_spec_uses_the_base_torch_and_guards_it() -> None:
    d = v1_definition("pytorch-aml-env.yml")
    assert d["python"] == "3.6.2"
    plan = plan_requirements(d["pip"], d["conda"])
    torch = metadata.version("torch")
    assert "conda package 'pytorch' is the pip package 'torch'" in plan.notes
    assert f"Using torch {torch} from the base interpreter for 'pytorch'" in plan.notes
    expected = [] if _installed("torchvision") else ["torchvision"]
    assert plan.install == expected
    if expected:  # torchvision's own torch pin must not replace the base's
        assert plan.constraints == [f"torch=={torch.split('+')[0]}"]
    # A spec that pins another torch may replace it: no constraint then.
    other = plan_requirements(["torch==1.13.1", "torchvision"], [])
    assert other.constraints == [] and "torch==1.13.1" in other.install


def test_condadependencies_calls_of_v1_notebooks() -> None:
    calls = json.loads((V1_ENVS / "condadependencies_calls.json").read_text())
    for call in calls:
        plan = plan_requirements(call["pip_packages"], call["conda_packages"])
        assert not any(p.startswith("azureml") for p in plan.install), call["source"]
        assert "scikit-learn==0.22.1" in plan.install  # the base's sklearn is newer: the pin policy decides
    assert plan_requirements(["pillow==6.2.1"], []).install == (
        [] if metadata.version("pillow") == "6.2.1" else ["pillow==6.2.1"]
    )


def test_python_version_of_a_conda_spec_warns_only_when_it_differs(tmp_path: Path) -> None:
    d = v1_definition("commandstep_train-conda_dependencies.yml")
    assert d["python"] == "3.8"
    prepared = prepare_run_environment(tmp_path, tmp_path / "run", {**d, "pip": [], "conda": []}, lambda _m: None)
    assert len(prepared.warnings) == 1 and "asks for Python 3.8" in prepared.warnings[0]
    plan = plan_requirements(d["pip"], d["conda"])
    assert "Skipping 'azureml-defaults': provided by jupyter_amlrun" in plan.notes
    assert plan.install == ["tensorflow==2.3.0", "horovod==0.19.5"]  # tensorflow-gpu is tensorflow today
    for same in ("3", f"{sys.version_info.major}.{sys.version_info.minor}", ""):
        ok = prepare_run_environment(tmp_path, tmp_path / "run", {"name": "e", "python": same, "pip": []}, print)
        assert ok.warnings == [], same


def test_nearest_version() -> None:
    versions = ["0.9", "1.1.3", "1.2.0rc1", "1.2.0", "1.9.1"]
    assert _nearest("0.22.1", versions, allow_pre=False) == "1.1.3"
    assert _nearest("1.2.0", versions, allow_pre=False) == "1.2.0"
    assert _nearest("5.0", versions, allow_pre=False) == "1.9.1"  # nothing above: the highest below
    assert _nearest("1.1.4", versions, allow_pre=True) == "1.2.0rc1"
    assert _nearest("1.0", [], allow_pre=False) is None
    assert (
        provided_by_amlrun("azureml-sdk") and provided_by_amlrun("AzureML_Defaults") and provided_by_amlrun("azureml")
    )
    assert not provided_by_amlrun("azure-storage-blob") and not provided_by_amlrun("azuremlx")


def test_an_unknown_pin_policy_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from jupyter_amlrun import Environment

    monkeypatch.delenv("AMLRUN_ENV_PIN_POLICY", raising=False)

    env = Environment("e")
    env.pin_policy = "closest"
    with pytest.raises(UserErrorException, match="Unknown pin policy 'closest'"):
        env._build_definition()
    env.pin_policy = "strict"
    assert env._build_definition()["pin_policy"] == "strict"
    assert Environment("e")._build_definition()["pin_policy"] == "nearest"
    # Registered with the definition (and only when set: other definitions keep their hash).
    again = Environment._from_definition(env._definition(), "1")
    assert again.pin_policy == "strict" and "pin_policy" not in Environment("e")._definition()
    monkeypatch.setenv("AMLRUN_ENV_PIN_POLICY", "strict")  # where the run is submitted
    assert Environment("e")._build_definition()["pin_policy"] == "strict"


def _installed(name: str) -> bool:
    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        return False
    return True
