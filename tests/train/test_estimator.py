"""Estimators port v1 notebooks: script_params flattening, validation messages, submit overrides."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_amlrun import Estimator, Experiment, PyTorch, SKLearn, Workspace
from jupyter_amlrun.runtime.errors import RunConfigurationException, UserErrorException
from jupyter_amlrun.train.estimator import script_params_to_arguments


@pytest.mark.unit
def test_script_params_flatten_like_v1() -> None:
    assert script_params_to_arguments({"--a": 1, "--flag": "", "--list": [1, 2], "--none": None}) == [
        "--a",
        1,
        "--flag",
        "--list",
        1,
        2,
        "--none",
    ]


@pytest.mark.unit
def test_validation_messages(tmp_path: Any) -> None:
    with pytest.raises(RunConfigurationException, match="Node count should be at least 1"):
        Estimator(str(tmp_path), entry_script="t.py", node_count=0)
    with pytest.raises(RunConfigurationException, match="'distributed_backend' or 'distributed_training' must be"):
        Estimator(str(tmp_path), entry_script="t.py", node_count=2)
    with pytest.raises(RunConfigurationException, match="not a supported distributed backend"):
        Estimator(str(tmp_path), entry_script="t.py", node_count=2, distributed_backend="nccl")
    from jupyter_amlrun import Environment

    with pytest.raises(RunConfigurationException, match="do not also pass pip_packages"):
        Estimator(str(tmp_path), entry_script="t.py", environment_definition=Environment("e"), pip_packages=["x"])
    with pytest.raises(UserErrorException, match="single node"):
        SKLearn(str(tmp_path), entry_script="t.py", node_count=2)
    pt = PyTorch(str(tmp_path), entry_script="t.py", node_count=2, distributed_backend="gloo")
    assert pt.run_config.framework == "PyTorch" and pt.run_config.node_count == 2
    assert pt.run_config.environment_variables["NCCL_TREE_THRESHOLD"] == "0"


@pytest.mark.integration
def test_estimator_submits_and_overrides(ws: Workspace, make_source: Any) -> None:
    src = make_source({"train.py": "import sys\nprint('ARGS', sys.argv[1:])\n"})
    est = SKLearn(str(src), entry_script="train.py", script_params={"--C": 0.5}, pip_packages=["scikit-learn"])
    exp = Experiment(ws, "est")
    run = exp.submit(est)
    assert run.wait_for_completion()["runDefinition"]["arguments"] == ["--C", "0.5"]
    run2 = exp.submit(est, script_params={"--C": 2})
    assert run2.wait_for_completion()["runDefinition"]["arguments"] == ["--C", "2"]
    with pytest.raises(UserErrorException, match="cannot be overridden"):
        exp.submit(est, compute_target="x")


@pytest.mark.unit
def test_v1_rules_per_class(tmp_path: Any) -> None:
    from jupyter_amlrun import Chainer, Environment, Gloo, Mpi, TensorFlow

    src = str(tmp_path)
    with pytest.raises(RunConfigurationException, match="process_count_per_node must be an integer >= 1"):
        Estimator(src, entry_script="t.py", process_count_per_node=0)
    with pytest.raises(RunConfigurationException, match="'distributed_backend' or 'distributed_training' must be"):
        PyTorch(src, entry_script="t.py", process_count_per_node=2)
    with pytest.raises(RunConfigurationException, match="not both"):
        PyTorch(src, entry_script="t.py", node_count=2, distributed_backend="gloo", distributed_training=Gloo())
    with pytest.raises(RunConfigurationException, match="'gloo' is not a supported distributed backend for Chainer"):
        Chainer(src, entry_script="t.py", node_count=2, distributed_training=Gloo())
    with pytest.raises(RunConfigurationException, match=r"not a supported distributed backend for TensorFlow.*'ps'"):
        TensorFlow(src, entry_script="t.py", node_count=2, distributed_backend="nccl")
    TensorFlow(src, entry_script="t.py", node_count=2, distributed_backend="ps")
    mpi = Estimator(src, entry_script="t.py", node_count=2, distributed_training=Mpi(process_count_per_node=3))
    assert mpi.run_config.distributed_job_config.process_count_per_node == 3
    env = Environment("given")
    for extra in ({"conda_packages": ["numpy"]}, {"use_gpu": True}, {"custom_docker_image": "img"}, {"shm_size": "4g"}):
        with pytest.raises(RunConfigurationException, match=f"do not also pass {next(iter(extra))}"):
            Estimator(src, entry_script="t.py", environment_definition=env, **extra)
    (tmp_path / "req.txt").write_text("numpy\n")
    with pytest.raises(RunConfigurationException, match="pip_packages or pip_requirements_file, not both"):
        Estimator(src, entry_script="t.py", pip_packages=["x"], pip_requirements_file=str(tmp_path / "req.txt"))
    with pytest.raises(UserErrorException, match="Invalid pip requirement"):
        Estimator(src, entry_script="t.py", pip_packages=["not valid!"])
    # v1's use_docker=True default only chose Docker on remote compute: a local run does not ask for it.
    assert Estimator(src, entry_script="t.py", use_docker=True).run_config.docker.use_docker is False
    assert Estimator(src, entry_script="t.py", environment_definition=env).run_config.environment is env
    # shm_size reaches the container (the environment's docker section, which a custom image's run reads).
    sized = Estimator(src, entry_script="t.py", custom_docker_image="img", shm_size="8g").run_config.environment
    assert sized.docker.shm_size == "8g" and sized.docker.enabled


@pytest.mark.integration
def test_custom_docker_image_is_refused_without_an_engine(ws: Workspace, make_source: Any) -> None:
    from jupyter_amlrun.runtime.submitchecks import docker_engine

    if docker_engine():
        pytest.skip("a container engine answers here")
    src = make_source({"train.py": "print(1)\n"})
    est = Estimator(str(src), entry_script="train.py", custom_docker_image="python:3.11-slim")
    exp = Experiment(ws, "est-docker")
    with pytest.raises(UserErrorException, match="image 'python:3.11-slim'.* no Docker or Podman engine answers"):
        exp.submit(est)
    assert list(exp.get_runs()) == []
