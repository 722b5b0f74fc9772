"""Environment and CondaDependencies: immutable versions in the workspace, v1 factories, run lineage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jupyter_amlrun import CondaDependencies, Environment, Experiment, ScriptRunConfig, Workspace
from jupyter_amlrun.runtime.errors import UserErrorException


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


@pytest.mark.unit
def test_bad_requirement_strings_fail_at_construction(tmp_path: Path) -> None:
    for bad in ("scikit learn", "numpy===", "", "torch>=>2"):
        with pytest.raises(UserErrorException, match="pip"):
            CondaDependencies.create(pip_packages=[bad])
    for bad in ("num py", "numpy==", "x;y"):
        with pytest.raises(UserErrorException, match="Invalid conda package"):
            CondaDependencies.create(conda_packages=[bad])
    with pytest.raises(UserErrorException, match="must start with '-'"):
        CondaDependencies().set_pip_option("index-url https://x")
    ok = CondaDependencies.create(
        pip_packages=["scikit-learn==1.5", "torch>=2,<3", "a[b]", "git+https://example.org/x.git"],
        conda_packages=["numpy=1.26", "conda-forge::pandas>=2"],
        pip_indexurl="https://example.org/simple",
    )
    assert ok.pip_options == ["--index-url https://example.org/simple"]
    req = tmp_path / "requirements.txt"
    (tmp_path / "base.txt").write_text("numpy\n")
    req.write_text("-r base.txt\n--extra-index-url https://example.org/simple\nscikit-learn  # the model\n")
    env = Environment.from_pip_requirements("req-env", str(req))
    deps = env.python.conda_dependencies
    assert (deps.pip_packages, deps.pip_options) == (
        ["numpy", "scikit-learn"],
        ["--extra-index-url https://example.org/simple"],
    )
    bad_req = tmp_path / "bad.txt"
    bad_req.write_text("numpy\nnot a requirement!\n")
    with pytest.raises(UserErrorException, match="Invalid pip requirement 'not a requirement!'"):
        Environment.from_pip_requirements("bad-env", str(bad_req))
    spec = tmp_path / "env.yml"
    spec.write_text(
        "name: x\ndependencies:\n  - python=3.11\n  - numpy=1.26\n  - pip:\n"
        "    - --extra-index-url https://example.org/simple\n    - torch==2.13.0\n"
    )
    conda = Environment.from_conda_specification("conda-opts", str(spec)).python.conda_dependencies
    assert (conda.conda_packages, conda.pip_packages) == (["numpy=1.26"], ["torch==2.13.0"])
    assert conda.pip_options == ["--extra-index-url https://example.org/simple"]
    # options survive the registry's round trip
    again = Environment._from_definition(env._definition(), "1")
    assert again.python.conda_dependencies.pip_options == deps.pip_options
    assert again.content_hash() == env.content_hash()


@pytest.mark.integration
def test_names_that_become_paths_stay_inside_the_workspace(ws: Workspace) -> None:
    for bad in ("../../outside_env", "a/b", "..", ".hidden", "x" * 256):
        with pytest.raises(UserErrorException, match="Invalid environment name"):
            Environment("ok").clone(bad)
        with pytest.raises(UserErrorException, match="Invalid environment name"):
            Environment.get(ws, bad)
    env = Environment("ok")
    with pytest.raises(UserErrorException, match="Invalid environment name"):
        env.name = "../../outside_env"
    assert env.name == "ok"
    env.register(ws)
    with pytest.raises(UserErrorException, match="whole number"):
        Environment.get(ws, "ok", version="../1")
    assert not (ws.path.parent / "outside_env").exists()
    assert sorted(p.name for p in (ws.path / "environments").iterdir()) == ["ok"]


@pytest.mark.integration
def test_curated_names_resolve_with_a_notice(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    env = ws.environments["AzureML-PyTorch-1.6-CPU"]
    notice = capsys.readouterr().out
    assert "Curated environment 'AzureML-PyTorch-1.6-CPU' resolves to the local 'amlrun-pytorch'" in notice
    assert env.name == "AzureML-PyTorch-1.6-CPU" and env.version == "1"
    assert any(p.startswith("torch") for p in env.python.conda_dependencies.pip_packages)
    sk = Environment.get(ws, "AzureML-sklearn-1.5")
    notice = capsys.readouterr().out
    assert "'amlrun-sklearn'" in notice and "scikit-learn" in notice and notice.count("\n") == 1
    assert "scikit-learn" in sk.python.conda_dependencies.pip_packages
    for name, ours in [
        ("AzureML-Minimal", "amlrun-current"),
        ("AzureML-Tutorial", "amlrun-sklearn"),
        ("AzureML-TensorFlow-2.3-GPU", "amlrun-current"),
        ("AzureML-lightgbm-3.2-ubuntu18.04-py37-cpu", "amlrun-sklearn"),
        ("AzureML-PyTorch-1.13-GPU", "amlrun-pytorch"),
        ("amlrun-current", "amlrun-current"),
    ]:
        assert Environment.get(ws, name)._curated_of == ours
        assert name in ws.environments
    assert Environment.get(ws, "AzureML-Minimal").python.conda_dependencies.pip_packages == []
    with pytest.raises(UserErrorException, match=r"No environment named 'AzureML-Nope'.*curated: amlrun-current"):
        Environment.get(ws, "AzureML-Nope")
    with pytest.raises(KeyError, match="No environment named 'nope'"):
        ws.environments["nope"]
    with pytest.raises(UserErrorException, match="reserved for curated environments"):
        sk.register(ws)
    assert sk.clone("my-sklearn").register(ws).version == "1"


@pytest.mark.integration
def test_registered_environment_in_a_script_run_config_and_estimator(ws: Workspace, make_source: Any) -> None:
    from jupyter_amlrun import Estimator
    from jupyter_amlrun.runtime.runfolder import RunFolder

    env = Environment("tutorial-env")
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=["numpy"])
    env.register(ws)
    assert env.version == "1"
    src = make_source({"train.py": "print('ok')\n"})
    est = Estimator(str(src), entry_script="train.py", environment_definition=Environment.get(ws, "tutorial-env"))
    run = Experiment(ws, "env-est").submit(est)
    assert run.wait_for_completion()["status"] == "Completed"
    spec = RunFolder(ws.path, run.id).read_spec()
    assert spec is not None and spec.environment_definition is not None
    assert (spec.environment_definition["name"], spec.environment_definition["pip"]) == ("tutorial-env", ["numpy"])
