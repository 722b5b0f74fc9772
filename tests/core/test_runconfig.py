"""RunConfiguration save/load/delete: v1's YAML files (<project>/.azureml/<name>.runconfig), round-tripped."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from jupyter_amlrun import CondaDependencies, Environment, MpiConfiguration, RunConfiguration
from jupyter_amlrun.runtime.errors import RunConfigurationException


def _config() -> RunConfiguration:
    rc = RunConfiguration(script="train.py", arguments=["--lr", 0.1], framework="Python")
    rc.target = "cpu-cluster"
    rc.node_count = 2
    rc.max_run_duration_seconds = 600
    rc.environment_variables = {"MODE": "fast"}
    env = Environment("my-env")
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=["scikit-learn"], python_version="3.11")
    env.environment_variables = {"ENV_VAR": "1"}
    rc.environment = env
    rc.distributed_job_config = MpiConfiguration(process_count_per_node=2, node_count=2)
    return rc


@pytest.mark.unit
def test_save_and_load_round_trip_in_the_project_folder(tmp_path: Path) -> None:
    _config().save(path=str(tmp_path), name="train")
    saved = tmp_path / ".azureml" / "train.runconfig"
    doc = yaml.safe_load(saved.read_text())
    assert doc["script"] == "train.py" and doc["target"] == "cpu-cluster" and doc["nodeCount"] == 2  # v1's keys
    loaded = RunConfiguration.load(str(tmp_path), "train")
    assert (loaded.script, loaded.arguments, loaded.target) == ("train.py", ["--lr", 0.1], "cpu-cluster")
    assert loaded.max_run_duration_seconds == 600 and loaded.environment_variables == {"MODE": "fast"}
    assert loaded.environment.name == "my-env" and loaded.environment.environment_variables == {"ENV_VAR": "1"}
    assert loaded.environment.python.conda_dependencies.pip_packages == ["scikit-learn"]
    assert loaded.environment.python.conda_dependencies.get_python_version() == "3.11"
    assert isinstance(loaded.distributed_job_config, MpiConfiguration)
    assert loaded.distributed_job_config.process_count_per_node == 2
    # saving what was loaded gives the same file (stable)
    loaded.save(path=str(tmp_path), name="again")
    assert (tmp_path / ".azureml" / "again.runconfig").read_text() == saved.read_text()
    RunConfiguration.delete(str(tmp_path), "again")
    assert not (tmp_path / ".azureml" / "again.runconfig").exists()


@pytest.mark.unit
def test_file_paths_separate_environment_yaml_and_v1_aml_config(tmp_path: Path) -> None:
    rc = _config()
    rc.save(path=str(tmp_path / "x.runconfig"))
    assert RunConfiguration.load(str(tmp_path / "x.runconfig")).script == "train.py"
    rc.save(path=str(tmp_path), name="split", separate_environment_yaml=True)
    deps = tmp_path / ".azureml" / "split_dependencies.yml"
    assert "scikit-learn" in deps.read_text()
    assert RunConfiguration.load(str(tmp_path), "split").environment.python.conda_dependencies.pip_packages == [
        "scikit-learn"
    ]
    (tmp_path / "aml_config").mkdir()
    (tmp_path / "aml_config" / "old.runconfig").write_text("script: old.py\ntarget: local\n")
    assert RunConfiguration.load(str(tmp_path), "old").script == "old.py"  # v1's older folder is searched too


@pytest.mark.unit
def test_bad_input_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(RunConfigurationException, match="No run configuration"):
        RunConfiguration.load(str(tmp_path), "missing")
    with pytest.raises(RunConfigurationException, match="Give a name"):
        RunConfiguration().save(path=str(tmp_path))
    (tmp_path / "bad.runconfig").write_text("script: [unclosed\n")
    with pytest.raises(RunConfigurationException, match="not valid YAML"):
        RunConfiguration.load(str(tmp_path / "bad.runconfig"))
    with pytest.raises(RunConfigurationException, match="no field 'scirpt'"):
        RunConfiguration(scirpt="typo.py")


@pytest.mark.unit
def test_target_takes_a_compute_target_object(ws) -> None:  # type: ignore[no-untyped-def]
    from jupyter_amlrun import AmlCompute, ComputeTarget
    from jupyter_amlrun.core.compute_target import LocalTarget

    pool = ComputeTarget.create(ws, "cpu-pool", AmlCompute.provisioning_configuration(max_nodes=1))
    rc = RunConfiguration()
    rc.target = pool  # v1 notebooks assign the object
    assert rc.target == "cpu-pool"
    rc.target = LocalTarget()
    assert rc.target == "local"
    with pytest.raises(RunConfigurationException, match="ComputeTarget or its name"):
        rc.target = 3


@pytest.mark.unit
def test_secrets_are_not_written(tmp_path: Path) -> None:
    from jupyter_amlrun.core.runconfig import ContainerRegistry

    reg = ContainerRegistry(address="myacr.azurecr.io", username="u", password="p4ss")
    assert "p4ss" not in repr(reg) and "p4ss" not in repr(reg.as_dict())
