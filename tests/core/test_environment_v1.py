"""v1 Environment/CondaDependencies members (issue 21): directories, Docker sources, private wheels, helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_amlrun import CondaDependencies, Environment, Workspace
from jupyter_amlrun.runtime.errors import NotSupportedLocallyError, UserErrorException


@pytest.mark.unit
def test_save_to_directory_and_load_round_trip(tmp_path: Path) -> None:
    env = Environment("trainer")
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=["numpy"], conda_packages=["pip"])
    env.environment_variables = {"A": "1"}
    env.docker.base_dockerfile = "FROM python:3.11\n"
    env.save_to_directory(str(tmp_path / "env"))
    assert sorted(p.name for p in (tmp_path / "env").iterdir()) == [
        "Dockerfile",
        "azureml_environment.json",
        "conda_dependencies.yml",
    ]
    back = Environment.load_from_directory(str(tmp_path / "env"))
    assert back.name == "trainer" and back.environment_variables == {"A": "1"}
    assert back.python.conda_dependencies.pip_packages == ["numpy"]
    assert back.docker.base_dockerfile == "FROM python:3.11\n"
    assert back.content_hash() == env.content_hash()
    with pytest.raises(UserErrorException, match="overwrite=True"):
        env.save_to_directory(str(tmp_path / "env"))
    with pytest.raises(UserErrorException, match="No azureml_environment.json"):
        Environment.load_from_directory(str(tmp_path))


@pytest.mark.unit
def test_docker_sources_and_specs(tmp_path: Path) -> None:
    (tmp_path / "req.txt").write_text("requests>=2\n")
    env = Environment.from_docker_image("img", "python:3.11-slim", pip_requirements=str(tmp_path / "req.txt"))
    assert env.docker.base_image == "python:3.11-slim" and env.python.conda_dependencies.pip_packages == ["requests>=2"]
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Dockerfile").write_text("FROM ubuntu:22.04\n")
    assert Environment.from_dockerfile("df", str(tmp_path / "ctx" / "Dockerfile")).docker.base_dockerfile.startswith(
        "FROM ubuntu"
    )
    from jupyter_amlrun.core.environment import DockerBuildContext

    ctx = DockerBuildContext.from_local_directory(None, str(tmp_path / "ctx"))
    assert Environment.from_docker_build_context("bc", ctx).docker.base_dockerfile == "FROM ubuntu:22.04\n"
    with pytest.raises(NotSupportedLocallyError, match="Instead: "):
        env.build(None)


@pytest.mark.unit
def test_private_wheel_is_copied_into_the_workspace(ws: Workspace, tmp_path: Path) -> None:
    wheel = tmp_path / "mypkg-0.1-py3-none-any.whl"
    wheel.write_bytes(b"PK\x03\x04 wheel")
    path = Environment.add_private_pip_wheel(ws, str(wheel))
    assert Path(path).read_bytes() == wheel.read_bytes() and Path(path).parent == ws.path / "wheels"
    with pytest.raises(UserErrorException, match="exist_ok=True"):
        Environment.add_private_pip_wheel(ws, str(wheel))
    assert Environment.add_private_pip_wheel(ws, str(wheel), exist_ok=True) == path


@pytest.mark.unit
def test_conda_dependencies_helpers(tmp_path: Path) -> None:
    cd = CondaDependencies.create(pip_packages=["pandas"])
    cd.add_tensorflow_pip_package(version="2.15")
    cd.set_pip_index_url("https://mirror.example/simple")
    cd.set_pip_index_url("https://other.example/simple")
    cd.add_channel("conda-forge")
    cd.remove_channel("conda-forge")
    assert cd.pip_packages == ["pandas", "tensorflow==2.15"]
    assert cd.pip_options == ["--index-url https://other.example/simple"] and cd.conda_channels == []
    saved = Path(cd.save_to_file(str(tmp_path)))
    assert saved.name == "conda_dependencies.yml" and "tensorflow==2.15" in saved.read_text()
    assert CondaDependencies.merge_requirements(["numpy==1.0", "pandas", "NumPy>=2"]) == ["pandas", "NumPy>=2"]
    assert CondaDependencies.get_default_number_of_packages() == (0, 0)
    with pytest.raises(NotSupportedLocallyError, match="CNTK"):
        cd.add_cntk_package()
