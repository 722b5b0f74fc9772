"""Environment and CondaDependencies: immutable versions in the workspace, v1 factories, run lineage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jupyter_amlrun import CondaDependencies, Environment, Experiment, ScriptRunConfig, Workspace
from jupyter_amlrun.core.errors import UserErrorException


@pytest.mark.integration
def test_versions_are_immutable_and_deduplicated(ws: Workspace) -> None:
    env = Environment("tutorial-env")
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=["scikit-learn"])
    assert env.register(ws).version == "1"
    again = Environment("tutorial-env")
    again.python.conda_dependencies = CondaDependencies.create(pip_packages=["scikit-learn"])
    assert again.register(ws).version == "1"  # the same definition is the same version
    again.python.conda_dependencies.add_pip_package("pandas")
    with pytest.raises(UserErrorException, match="Set env.version = None"):
        again.register(ws)  # v1: a set version is registered as that version, and 1 is taken
    again.version = None
    assert again.register(ws).version == "2"
    assert Environment.get(ws, "tutorial-env").version == "2"
    assert Environment.get(ws, "tutorial-env", version="1").python.conda_dependencies.pip_packages == ["scikit-learn"]
    assert list(ws.environments) == ["tutorial-env"]
    pinned = Environment.get(ws, "tutorial-env", version="1")
    pinned.python.conda_dependencies.add_conda_package("numpy")
    with pytest.raises(UserErrorException, match="versions are immutable"):
        pinned.register(ws)


@pytest.mark.integration
def test_unknown_environment_lists_registered(ws: Workspace) -> None:
    Environment("a-env").register(ws)
    with pytest.raises(UserErrorException, match=r"No environment named 'nope'.*registered: a-env"):
        Environment.get(ws, "nope")
    with pytest.raises(UserErrorException, match="has no version 9"):
        Environment.get(ws, "a-env", version="9")


@pytest.mark.unit
def test_factories_and_names(tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("# comment\nscikit-learn==1.5\n\nnumpy\n")
    env = Environment.from_pip_requirements("pip-env", str(req))
    assert env.python.conda_dependencies.pip_packages == ["scikit-learn==1.5", "numpy"]
    spec = tmp_path / "env.yml"
    spec.write_text(
        "name: x\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.10\n  - numpy\n  - pip:\n    - torch\n"
    )
    conda = Environment.from_conda_specification("conda-env", str(spec))
    deps = conda.python.conda_dependencies
    assert (deps.get_python_version(), deps.conda_packages, deps.pip_packages) == ("3.10", ["numpy"], ["torch"])
    assert "    - torch" in deps.serialize_to_string()
    assert conda.clone("copy").name == "copy" and conda.clone("copy").content_hash() == conda.content_hash()
    for bad in ("", "has space", "-x"):
        with pytest.raises(UserErrorException, match="Invalid environment name"):
            Environment(bad)
    with pytest.raises(UserErrorException, match="does not exist"):
        Environment.from_pip_requirements("x", str(tmp_path / "missing.txt"))


@pytest.mark.integration
def test_run_records_its_environment(ws: Workspace, make_source: Any) -> None:
    env = Environment("tutorial-env").register(ws)
    src = make_source({"train.py": "print('ok')\n"})
    run = Experiment(ws, "env").submit(ScriptRunConfig(source_directory=src, script="train.py", environment=env))
    details = run.wait_for_completion()
    assert details["runDefinition"]["environment"] == {"name": "tutorial-env", "hash": env.content_hash()}
    assert run.get_environment().name == "tutorial-env"
    with pytest.raises(UserErrorException, match="environment must be an Environment"):
        ScriptRunConfig(source_directory=src, script="train.py", environment="tutorial-env")  # type: ignore[arg-type]
